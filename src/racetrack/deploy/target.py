"""The one interface every infrastructure target (docker, swarm, kubernetes) implements; the control plane
and the local CLI deploy through it, the gateway reads replica addresses from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from racetrack.builder import BuiltImage
from racetrack.deploy.report import Reporter
from racetrack.manifest import Manifest

# Racetrack's job statuses, as the control plane reports them.
STARTING, RUNNING, ERROR, LOST = "starting", "running", "error", "lost"


@dataclass(frozen=True)
class JobDeployment:
    """What a target tells about one deployed job version."""

    name: str
    version: str
    target: str  # docker | swarm | kubernetes
    status: str  # STARTING | RUNNING | ERROR | LOST
    replicas: tuple[str, ...]  # base URLs the gateway may forward to, e.g. http://127.0.0.1:49153
    image: str
    created: datetime
    owner: str = ""
    git_commit: str = ""
    error: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploySpec:
    """One job version to run: the manifest (with `replicas` and `resources`), its built image, its secret
    runtime env (delivered so that no engine inspect shows it) and the extra env the deployer sets."""

    manifest: Manifest
    image: BuiltImage
    secret_env: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. AUTH_TOKEN, PUB_URL, gateway credential
    force: bool = False  # replace a running name+version (start-first: the old one serves until ready)
    verify: bool = True  # a failing docs example fails the deploy
    timeout: float = 300  # seconds for the new version to become ready


class InfrastructureTarget(Protocol):
    name: str

    def deploy(self, spec: DeploySpec, reporter: Reporter) -> JobDeployment:
        """Run `spec` with manifest.replicas replicas; on failure nothing new is left, the old one serves."""

    def list(self, name: str | None = None) -> list[JobDeployment]:
        """Every deployed version (of `name`), with its status read from the engine now."""

    def logs(self, name: str, version: str, tail: int | None = None) -> Iterator[str]:
        """The job's output lines (all replicas), secrets redacted."""

    def delete(self, name: str, version: str) -> None:
        """Stop and remove one version (all its replicas)."""

    def replicas(self, name: str, version: str) -> tuple[str, ...]:
        """Base URLs of the replicas of one version that the gateway may forward to."""
