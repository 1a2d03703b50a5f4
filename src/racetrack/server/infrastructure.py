"""The thin adapter between the control plane and the docker deploy target (racetrack.deploy).

Replaced by racetrack.deploy.target.InfrastructureTarget once the docker target implements it."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from racetrack.builder import BuiltImage
from racetrack.deploy.report import Reporter
from racetrack.manifest import Manifest

# Racetrack's job statuses (racetrack.deploy.target's names).
STARTING, RUNNING, ERROR, LOST = "starting", "running", "error", "lost"
_STATUS = {"starting": STARTING, "running": RUNNING, "error": ERROR, "stopped": LOST}


@dataclass(frozen=True)
class Running:
    """One job version on the engine."""

    name: str
    version: str
    status: str
    replicas: tuple[str, ...]  # base URLs, e.g. http://127.0.0.1:49153
    image: str
    reason: str | None = None


class DockerInfrastructure:
    """Deploy, list, log and delete jobs on the local Docker engine, statuses cached for `ttl` seconds."""

    name = "docker"

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[tuple[str, str], Running]] | None = None

    def deploy(
        self,
        manifest: Manifest,
        build: Callable[[Manifest], BuiltImage],
        force: bool,
        timeout: float,
        reporter: Reporter,
        job_secrets: dict[str, str],
    ) -> Running:
        """Build and start `manifest`'s job; `job_secrets` are the variables the control plane adds.

        The local deployer has no secret channel for them nor a gateway-aware smoke check yet: it gets
        AUTH_TOKEN through runtime_env, and no gateway credential (its smoke check calls the job directly)."""
        from racetrack.deploy import DeployOptions, deploy
        from racetrack.protocol import ENV_AUTH_TOKEN

        extra = {key: value for key, value in job_secrets.items() if key == ENV_AUTH_TOKEN}
        manifest = dataclasses.replace(manifest, runtime_env={**manifest.runtime_env, **extra})
        deployed = deploy(manifest, build, DeployOptions(timeout=timeout, force=force), reporter)
        self.forget()
        url = deployed.deployment.url
        return Running(manifest.name, manifest.version, RUNNING, (url,) if url else (), deployed.image.tag)

    def jobs(self) -> dict[tuple[str, str], Running]:
        """Every job version on the engine by (name, version), at most `ttl` seconds old."""
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and self._cached[0] > now:
                return self._cached[1]
        found = self._read()
        with self._lock:
            self._cached = (time.monotonic() + self.ttl, found)
        return found

    def _read(self) -> dict[tuple[str, str], Running]:
        from racetrack.builder import connect
        from racetrack.deploy.jobs import job_rows

        result: dict[tuple[str, str], Running] = {}
        for row in job_rows(connect()):
            d = row.deployment
            if d.is_candidate:
                continue
            replicas = (d.url,) if d.url else ()
            result[(d.name, d.version)] = Running(
                d.name, d.version, _STATUS.get(row.status, ERROR), replicas, d.image, row.reason
            )
        return result

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def logs(self, name: str, version: str, tail: int | None) -> str:
        from racetrack.builder import connect
        from racetrack.deploy.logs import stream_lines
        from racetrack.deploy.registry import resolve_container

        container = resolve_container(connect(), name, version)
        return "\n".join(stream_lines(container, tail, follow=False))

    def delete(self, name: str, version: str) -> None:
        from racetrack.builder import connect
        from racetrack.deploy.jobs import delete
        from racetrack.deploy.registry import serving_containers
        from racetrack.deploy.versions import VersionNotFound

        container = serving_containers(connect(), name).get(version)
        if container is None:
            raise VersionNotFound(f"{name} {version} is not on the engine")
        delete(container)
        self.forget()


def infrastructure(name: str, ttl: float = 2.0) -> DockerInfrastructure:
    if name != "docker":
        raise ValueError(f"infrastructure {name!r} is not available here; use --infrastructure docker")
    return DockerInfrastructure(ttl)
