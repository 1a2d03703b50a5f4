"""Runtime secrets as a file in Compose .env syntax: what every target mounts at RACETRACK_SECRET_ENV_FILE
and the wrapper loads before the job is imported, so no value shows in an engine's inspect output."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Mapping

from dotenv.parser import parse_stream

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JOB_UID = 1000  # the `racetrack` user of every job image (builder templates)


def env_file_text(values: Mapping[str, str]) -> str:
    """KEY='value' lines that read back exactly (python-dotenv: only \\\\ and \\' are escapes in '...')."""
    lines = []
    for key, value in values.items():
        if not KEY.match(key):
            raise ValueError(f"{key!r} is not an environment variable name (letters, digits, _)")
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{key}='{quoted}'\n")
    return "".join(lines)


def secret_tar(directory: str, filename: str, text: str, uid: int = JOB_UID) -> bytes:
    """A tar of `directory/filename` (0700 dir, 0400 file, owned by the job's user) for put_archive."""
    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(directory.strip("/"))
        folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o700, uid, uid
        tar.addfile(folder)
        entry = tarfile.TarInfo(f"{directory.strip('/')}/{filename}")
        entry.size, entry.mode, entry.uid, entry.gid = len(data), 0o400, uid, uid
        tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def file_from_tar(archive: bytes) -> str | None:
    """The text of the one regular file in a tar stream (as get_archive returns it), None without one."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                return extracted.read().decode() if extracted else None
    return None


def parse_env_text(text: str) -> dict[str, str]:
    """The variables of env file text written by env_file_text (lines that do not parse are left out)."""
    bindings = parse_stream(io.StringIO(text))
    return {b.key: b.value or "" for b in bindings if b.key is not None and not b.error}
