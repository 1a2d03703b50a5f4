"""The control plane's view of an infrastructure target (racetrack.deploy.target): statuses cached briefly."""

from __future__ import annotations

import threading
import time

from racetrack.deploy.report import Reporter
from racetrack.deploy.target import LOST, InfrastructureTarget, JobDeployment
from racetrack.deploy.target import DeploySpec as DeploySpec  # re-exported for the deployer

__all__ = ["LOST", "DeploySpec", "Infrastructure", "JobDeployment", "infrastructure"]


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


def infrastructure(name: str, ttl: float = 2.0) -> Infrastructure:
    from racetrack.deploy.targets import get_target

    return Infrastructure(get_target(name), ttl)
