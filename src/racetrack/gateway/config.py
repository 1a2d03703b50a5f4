"""The gateway's settings, one dataclass; the CLI and the control plane fill it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "RACETRACK_GATEWAY_SECRET"
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "racetrack"


@dataclass(frozen=True)
class GatewayConfig:
    server_url: str  # the control plane's base URL, e.g. http://127.0.0.1:7102
    gateway_secret: bytes  # signs the per-job credential (racetrack.protocol.gateway_token)
    timeout: float = 60.0  # seconds a job may take to start answering a synchronous call
    auth_cache_ttl: float = (
        2.0  # seconds a can-call-job decision is reused (revocation takes effect after it)
    )
    auth_stale_ttl: float = 60.0  # seconds an allow decision is still used while the control plane is down
    auth_cache_size: int = 10_000
    control_plane_timeout: float = 10.0
    database_url: str | None = None  # async tasks; None: a SQLite file in data_dir
    data_dir: Path = DEFAULT_DATA_DIR
    async_timeout: float = 2 * 3600.0  # seconds an async call may run
    async_poll_wait: float = 30.0  # seconds a long poll waits before answering 202
    async_result_ttl: float = 24 * 3600.0  # seconds a finished task (and its result) is kept
    async_max_result_bytes: int = 16 * 1024 * 1024
    async_max_body_bytes: int = 16 * 1024 * 1024
    task_lease: float = 15.0  # seconds without a heartbeat after which another gateway retries a task

    @property
    def control_plane(self) -> str:
        return self.server_url.rstrip("/")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'gateway.db'}"


def read_secret(secret_file: Path | None) -> bytes:
    """The gateway secret from `secret_file`, else $RACETRACK_GATEWAY_SECRET; refuses an empty one."""
    if secret_file is not None:
        try:
            secret = secret_file.read_bytes().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the gateway secret file {secret_file}: {exc.strerror}") from None
        if not secret:
            raise ValueError(
                f"the gateway secret file {secret_file} is empty; write the control plane's secret"
            )
        return secret
    secret = os.environ.get(SECRET_ENV, "").encode()
    if not secret:
        raise ValueError(
            "no gateway secret: pass --secret-file FILE (the control plane's gateway secret) "
            f"or set {SECRET_ENV}"
        )
    return secret
