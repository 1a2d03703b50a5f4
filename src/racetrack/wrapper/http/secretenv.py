"""Runtime secrets and the gateway credential, read from the environment before the job is imported."""

from __future__ import annotations

import hmac
import os
from collections.abc import MutableMapping
from pathlib import Path

from racetrack.manifest.problems import ManifestError
from racetrack.manifest.secrets import read_env_file
from racetrack.protocol import ENV_GATEWAY_TOKEN, ENV_SECRET_ENV_FILE


class SecretEnvError(Exception):
    """The secret env file named by RACETRACK_SECRET_ENV_FILE cannot be loaded (never quotes its lines)."""


def load_secret_env(env: MutableMapping[str, str] = os.environ) -> int:
    """Load the file named by RACETRACK_SECRET_ENV_FILE (Compose .env syntax) into `env`; the number of
    variables set (0 when the variable is unset)."""
    name = env.get(ENV_SECRET_ENV_FILE, "")
    if not name:
        return 0
    path = Path(name)
    if not path.is_file():
        raise SecretEnvError(
            f"the secret env file {name} named by {ENV_SECRET_ENV_FILE} does not exist or is not a file; "
            f"mount it there, or unset {ENV_SECRET_ENV_FILE}"
        )
    try:
        values = read_env_file(path)
    except ManifestError as exc:
        raise SecretEnvError(
            f"the secret env file named by {ENV_SECRET_ENV_FILE} cannot be loaded: {exc}"
        ) from None
    env.update(values)
    return len(values)


class GatewayGuard:
    """Checks the gateway credential header when RACETRACK_GATEWAY_TOKEN is set; open when it is not."""

    def __init__(self, token: str) -> None:
        self.token = token.encode()

    @classmethod
    def from_env(cls, env: MutableMapping[str, str] = os.environ) -> GatewayGuard | None:
        token = env.get(ENV_GATEWAY_TOKEN, "")
        return cls(token) if token else None

    def allows(self, headers: list[tuple[bytes, bytes]], header_key: bytes) -> bool:
        """Whether `headers` (ASGI, lower-case names) carry the token under `header_key`."""
        for key, value in headers:
            if key == header_key:
                return hmac.compare_digest(value, self.token)
        return False
