"""Docker is the registry of deployed jobs: containers carry labels saying which job and version they run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import docker
from docker.models.containers import Container

from racetrack.deploy.versions import resolve_version, semver_key
from racetrack.protocol import JOB_PORT

DEPLOYMENT_LABEL = "racetrack.deployment"  # marks containers started by `racetrack deploy` (not by builds)
NAME_LABEL = "racetrack.job.name"
VERSION_LABEL = "racetrack.job.version"
DIGEST_LABEL = "racetrack.manifest.digest"
OWNER_LABEL = "racetrack.job.owner"
COMMIT_LABEL = "racetrack.git.commit"
SECRET_NAMES_LABEL = "racetrack.secret-env.names"  # names only, so logs can be redacted; never values
CANDIDATE_SUFFIX = "__next"  # a replacement being started by `deploy --force`; '__' is in no name or version
PORT_KEY = f"{JOB_PORT}/tcp"  # the job port as the engine names it


@dataclass(frozen=True)
class Deployment:
    """One deployed job version, as its container describes it."""

    name: str
    version: str
    container_name: str
    container_id: str
    state: str  # Docker's: created, running, restarting, paused, exited, dead
    health: str | None  # Docker's health check: starting, healthy, unhealthy
    exit_code: int
    host_ip: str
    host_port: int | None
    created: datetime
    image: str
    owner: str
    manifest_digest: str
    git_commit: str

    @property
    def url(self) -> str | None:
        """Base URL of the job from this machine, or None when no port is published."""
        if self.host_port is None:
            return None
        return f"http://{url_host(self.host_ip)}:{self.host_port}"

    @property
    def is_candidate(self) -> bool:
        return self.container_name.endswith(CANDIDATE_SUFFIX)


def container_name(name: str, version: str) -> str:
    """The container of a job version: `<name>-<version>` ('+' of SemVer build metadata becomes '_')."""
    return f"{name}-{version.replace('+', '_')}"


def url_host(bind: str) -> str:
    """Host to reach a port published on `bind`: the engine's host for a remote engine, else loopback."""
    engine = urlparse(os.environ.get("DOCKER_HOST", ""))
    if engine.scheme in ("tcp", "http", "https", "ssh") and engine.hostname:
        return engine.hostname
    return "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind


def deployment_from(container: Container) -> Deployment:
    attrs = container.attrs
    labels = attrs["Config"].get("Labels") or {}
    state = attrs["State"]
    bindings = (attrs["HostConfig"].get("PortBindings") or {}).get(PORT_KEY) or [{}]
    port = bindings[0].get("HostPort") or _live_port(attrs)
    return Deployment(
        name=labels.get(NAME_LABEL, ""),
        version=labels.get(VERSION_LABEL, ""),
        container_name=attrs["Name"].lstrip("/"),
        container_id=attrs["Id"][:12],
        state=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        exit_code=int(state.get("ExitCode") or 0),
        host_ip=bindings[0].get("HostIp") or "",
        host_port=int(port) if port else None,
        created=datetime.fromisoformat(attrs["Created"][:26].rstrip("Z") + "+00:00"),
        image=attrs["Config"].get("Image", ""),
        owner=labels.get(OWNER_LABEL, ""),
        manifest_digest=labels.get(DIGEST_LABEL, ""),
        git_commit=labels.get(COMMIT_LABEL, ""),
    )


def _live_port(attrs: dict) -> str | None:
    """The port the engine picked when none was asked for (only known while the container runs)."""
    published = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(PORT_KEY) or [{}]
    return published[0].get("HostPort")


def job_containers(client: docker.DockerClient, name: str | None = None) -> list[Container]:
    """Containers of deployed jobs (stopped ones too), optionally of one job only.

    One removed between the engine's listing and its inspection (a replacement finishing) is left out."""
    filters = [f"{DEPLOYMENT_LABEL}=docker"] + ([f"{NAME_LABEL}={name}"] if name else [])  # not Swarm tasks
    return client.containers.list(all=True, filters={"label": filters}, ignore_removed=True)


def deployments(client: docker.DockerClient, name: str | None = None) -> list[Deployment]:
    """Deployed job versions sorted by name then version, replacements in progress included."""
    found = [deployment_from(container) for container in job_containers(client, name)]
    return sorted(found, key=lambda d: (d.name, semver_key(d.version), d.is_candidate))


def serving_containers(client: docker.DockerClient, name: str) -> dict[str, Container]:
    """The containers of job `name` by version (replacements being started left out)."""
    found = ((deployment_from(container), container) for container in job_containers(client, name))
    return {deployment.version: container for deployment, container in found if not deployment.is_candidate}


def resolve_container(client: docker.DockerClient, name: str, version: str | None) -> Container:
    """The container of `name` at `version` ('latest' or None: highest SemVer); VersionNotFound if none."""
    serving = serving_containers(client, name)
    return serving[resolve_version(name, serving, version)]
