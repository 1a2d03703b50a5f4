"""The Docker deploy target: run a job's image as a labelled container, and live with deployed jobs."""

from racetrack.deploy.deployer import Deployed, DeployOptions, deploy
from racetrack.deploy.errors import DeployError, StartFailed
from racetrack.deploy.registry import Deployment, deployments, resolve_container

__all__ = [
    "DeployError",
    "DeployOptions",
    "Deployed",
    "Deployment",
    "StartFailed",
    "deploy",
    "deployments",
    "resolve_container",
]
