"""What `list` and `delete` do with deployed jobs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker
import httpx
from docker.errors import DockerException, NotFound
from docker.models.containers import Container

from racetrack.deploy.errors import DeployError
from racetrack.deploy.probe import job_status
from racetrack.deploy.registry import (
    Deployment,
    deployment_from,
    deployments,
    job_containers,
    resolve_container,
)
from racetrack.deploy.versions import VersionNotFound


@dataclass(frozen=True)
class JobRow:
    """A deployed job version and how it is doing."""

    deployment: Deployment
    status: str
    reason: str | None

    def as_json(self, now: datetime) -> dict[str, Any]:
        d = self.deployment
        return {
            "name": d.name,
            "version": d.version,
            "status": self.status,
            "reason": self.reason,
            "url": d.url,
            "created": d.created.isoformat().replace("+00:00", "Z"),
            "age_seconds": int((now - d.created).total_seconds()),
            "container": d.container_name,
            "container_id": d.container_id,
            "state": d.state,
            "host_port": d.host_port,
            "image": d.image,
            "owner": d.owner,
            "git_commit": d.git_commit,
            "manifest_digest": d.manifest_digest,
        }


def job_rows(client: docker.DockerClient, name: str | None = None) -> list[JobRow]:
    """Every deployed job version (or those of `name`) with its status, probing running jobs in parallel."""
    found = deployments(client, name)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(_row, found))


def _row(deployment: Deployment) -> JobRow:
    with httpx.Client(timeout=2) as http:
        return JobRow(deployment, *job_status(deployment, http))


def age(created: datetime, now: datetime | None = None) -> str:
    """'42s', '7m', '5h', '3d': how long ago `created` was."""
    seconds = max(0, int(((now or datetime.now(UTC)) - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def containers_to_delete(client: docker.DockerClient, name: str, version: str | None) -> list[Container]:
    """The container of `name` `version` ('latest': highest), or all of the job's containers for None."""
    if version is None:
        found = job_containers(client, name)
        if found:
            return found
    try:
        return [resolve_container(client, name, version)]
    except VersionNotFound as error:
        raise DeployError(str(error)) from None


def delete(container: Container) -> Deployment:
    """Stop the container (SIGTERM, then SIGKILL after its grace period) and remove it."""
    deployment = deployment_from(container)
    try:
        container.stop()
        container.remove(force=True)
    except NotFound:
        pass  # someone removed it meanwhile
    except DockerException as error:
        raise DeployError(f"could not delete {deployment.container_name}: {error}") from None
    return deployment
