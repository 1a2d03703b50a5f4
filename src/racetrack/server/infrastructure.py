"""The control plane's view of an infrastructure target (racetrack.deploy.target): statuses cached briefly."""

from __future__ import annotations

import threading
import time

from racetrack.deploy.report import Reporter
from racetrack.deploy.target import LOST, InfrastructureTarget, JobDeployment
from racetrack.deploy.target import DeploySpec as DeploySpec  # re-exported for the deployer

__all__ = [
    "LOST",
    "DeploySpec",
    "Infrastructure",
    "InfrastructureUnavailable",
    "JobDeployment",
    "infrastructure",
    "preflight",
]
SWARM_INIT = "docker swarm init --advertise-addr <this host's address (127.0.0.1 on a single machine)>"


class InfrastructureUnavailable(Exception):
    """`racetrack server --infrastructure NAME` cannot deploy anything: what is missing and how to fix it."""


class Infrastructure:
    """One target; `jobs()` reads every job version's status from the engine at most every `ttl` seconds."""

    def __init__(self, target: InfrastructureTarget, ttl: float = 2.0) -> None:
        self.target = target
        self.name = target.name
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[tuple[str, str], JobDeployment]] | None = None

    def deploy(self, spec: DeploySpec, reporter: Reporter) -> JobDeployment:
        try:
            return self.target.deploy(spec, reporter)
        finally:
            self.forget()

    def jobs(self) -> dict[tuple[str, str], JobDeployment]:
        """Every job version on the target by (name, version), at most `ttl` seconds old."""
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and self._cached[0] > now:
                return self._cached[1]
        found = {(job.name, job.version): job for job in self.target.list()}
        with self._lock:
            self._cached = (time.monotonic() + self.ttl, found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def logs(self, name: str, version: str, tail: int | None) -> str:
        return "\n".join(self.target.logs(name, version, tail))

    def delete(self, name: str, version: str) -> None:
        try:
            self.target.delete(name, version)
        finally:
            self.forget()


def infrastructure(name: str, ttl: float = 2.0, options: dict[str, str] | None = None) -> Infrastructure:
    from racetrack.deploy.targets import get_target

    return Infrastructure(get_target(name, **(options or {})), ttl)


def preflight(name: str, options: dict[str, str] | None = None) -> None:
    """Check at start that target `name` exists and can deploy; InfrastructureUnavailable says why not."""
    from racetrack.deploy.targets import TARGETS

    if name not in TARGETS:
        raise InfrastructureUnavailable(
            f"--infrastructure {name!r} is not a target; choose one of {', '.join(TARGETS)}"
        )
    if options and name != "kubernetes":
        flags = " and ".join(f"--{option}" for option in options)
        raise InfrastructureUnavailable(
            f"{flags} apply to --infrastructure kubernetes only, not {name}; leave them out"
        )
    if name == "swarm":
        _check_swarm_manager()
    elif name == "kubernetes":
        _check_kubeconfig(options or {})


def _check_swarm_manager() -> None:
    from racetrack.builder import connect

    try:
        swarm = connect().info().get("Swarm") or {}
    except Exception as error:  # noqa: BLE001 - any failure to reach the engine is reported the same way
        raise InfrastructureUnavailable(
            f"--infrastructure swarm: cannot reach the Docker engine ({error}); start it or set DOCKER_HOST "
            "to a Swarm manager's engine"
        ) from None
    if swarm.get("LocalNodeState") != "active":
        raise InfrastructureUnavailable(
            "--infrastructure swarm: this Docker engine is in no swarm; make it a manager with "
            f"`{SWARM_INIT}`, or set DOCKER_HOST to a manager of your swarm"
        )
    if not swarm.get("ControlAvailable"):
        raise InfrastructureUnavailable(
            "--infrastructure swarm: this Docker engine is a Swarm worker, not a manager; set DOCKER_HOST to "
            "a manager, or promote this node there with `docker node promote <node>`"
        )


def _check_kubeconfig(options: dict[str, str]) -> None:
    from racetrack.deploy.targets import get_target

    try:
        get_target("kubernetes", **options)
    except Exception as error:  # noqa: BLE001 - kubeconfig and in-cluster failures alike
        raise InfrastructureUnavailable(
            f"--infrastructure kubernetes: no cluster to deploy to ({error}); set KUBECONFIG (or "
            "~/.kube/config) to a kubeconfig whose current context names the cluster and namespace, or run "
            "the server in a pod"
        ) from None
