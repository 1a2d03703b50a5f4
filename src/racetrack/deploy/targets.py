"""Pick an infrastructure target by name: what `racetrack server --infrastructure` and the manifest's
`infrastructure_target` choose between."""

from __future__ import annotations

from typing import Any

from racetrack.deploy.errors import DeployError
from racetrack.deploy.target import InfrastructureTarget

TARGETS = ("docker", "swarm", "kubernetes")


def get_target(name: str, **options: Any) -> InfrastructureTarget:
    """The target called `name`; `options` go to its constructor (e.g. client=, namespace=)."""
    if name == "docker":
        from racetrack.deploy.docker_target import DockerTarget

        return DockerTarget(**options)
    if name == "swarm":
        from racetrack.deploy.swarm.target import SwarmTarget

        return SwarmTarget(**options)
    if name == "kubernetes":
        from racetrack.deploy.kubernetes.target import KubernetesTarget

        return KubernetesTarget(**options)
    raise DeployError(f"unknown infrastructure target {name!r}; choose one of {', '.join(TARGETS)}")
