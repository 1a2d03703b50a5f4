"""Secrets at rest: Fernet with a key from $RACETRACK_SECRET_KEY or DATA_DIR/secret-key (0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet

KEY_ENV = "RACETRACK_SECRET_KEY"


def private_file(path: Path, make: bytes) -> bytes:
    """The content of `path`, created (mode 0600) with `make` when missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as file:
        file.write(make)
    return make


class SecretBox:
    """Encrypts and decrypts JSON values."""

    def __init__(self, data_dir: Path) -> None:
        key = os.environ.get(KEY_ENV, "").encode() or private_file(
            data_dir / "secret-key", Fernet.generate_key()
        )
        self._fernet = Fernet(key.strip())

    def seal(self, value: object) -> bytes:
        return self._fernet.encrypt(json.dumps(value).encode())

    def open(self, token: bytes | None) -> dict:
        if not token:
            return {}
        return json.loads(self._fernet.decrypt(token))
