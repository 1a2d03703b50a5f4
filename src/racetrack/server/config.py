"""The server's settings: where its data lives, which database and target it uses, its limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 7102


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/racetrack (~/.local/share/racetrack by default)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "racetrack"


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    database_url: str | None = None  # None: SQLite in data_dir
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    infrastructure: str = "docker"
    namespace: str | None = None  # kubernetes: where jobs go (default: the kubeconfig context's namespace)
    registry: str | None = None  # kubernetes: images are pushed there for the cluster's nodes to pull
    public_url: str | None = None  # how clients reach this server; default http://host:port
    job_pub_url: str | None = None  # how jobs reach the gateway (their PUB_URL); default: see server.listen
    max_parallel_deployments: int = 2
    max_context_bytes: int = 512 * 1024 * 1024  # decompressed build context
    max_body_bytes: int = 256 * 1024 * 1024
    ready_timeout: float = 300
    status_cache_seconds: float = 2.0
    auth_cache_seconds: float = 2.0
    async_result_ttl: float = 24 * 3600.0  # seconds a finished async task (and its result) is kept
    async_max_result_bytes: int = 16 * 1024 * 1024  # a larger async result fails its task, saying so
    # Jobs get RACETRACK_GATEWAY_TOKEN (as a runtime secret) and then answer only the gateway (and probes).
    gateway_only_jobs: bool = True

    @property
    def target_options(self) -> dict[str, str]:
        """The infrastructure target's own options (racetrack.deploy.targets.get_target)."""
        options = {"namespace": self.namespace, "registry": self.registry}
        return {key: value for key, value in options.items() if value}

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def lifecycle_url(self) -> str:
        return self.base_url + "/lifecycle"

    @property
    def pub_url(self) -> str:
        return self.base_url + "/pub"

    @property
    def jobs_pub_url(self) -> str:
        """The PUB_URL jobs get: where they call the gateway for job-to-job calls."""
        return (self.job_pub_url or self.pub_url).rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL for SQLAlchemy: psycopg 3 for postgresql://, SQLite in data_dir by default."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'racetrack.db'}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
