"""The Swarm service of a job version: tasks, limits, health check, secret, rolling update, ports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from docker import types

from racetrack.deploy.deployer import STOP_GRACE_MARGIN, job_environment, job_labels
from racetrack.deploy.naming import dns_name
from racetrack.deploy.quantities import cpu_cores, docker_resources, memory_bytes
from racetrack.deploy.registry import DEPLOYMENT_LABEL
from racetrack.manifest import Manifest, Resources
from racetrack.protocol import JOB_PORT

SECRET_FILENAME = "racetrack-secret-env"  # mounted at /run/secrets/<this> in every task
SECRET_PATH = f"/run/secrets/{SECRET_FILENAME}"
JOB_UID = "1000"  # the `racetrack` user of job images
SECOND = 10**9  # the engine counts durations in nanoseconds
# Healthy = the server answers /live and says the job is loaded: Swarm reports a task running only once
# healthy, so a start-first update stops an old task only after its replacement is ready.
HEALTH_COMMAND = (
    "import json, urllib.request; "
    f"r = urllib.request.urlopen('http://127.0.0.1:{JOB_PORT}/live', timeout=2); "
    "exit(0 if json.load(r).get('ready') else 1)"
)


@dataclass(frozen=True)
class ServiceSpec:
    """Everything create_service / update_service take for one job version."""

    name: str
    task_template: types.TaskTemplate
    labels: dict[str, str]
    replicas: int
    update_config: types.UpdateConfig
    rollback_config: types.RollbackConfig
    endpoint_spec: dict[str, Any]


def service_name(manifest: Manifest) -> str:
    return dns_name(manifest.name, manifest.version)


def service_spec(
    manifest: Manifest,
    image: str,
    commit: str,
    secret_names: list[str],
    extra_env: dict[str, str],
    secret: types.SecretReference | None,
    timeout: float,
    force_update: int = 0,
) -> ServiceSpec:
    """The service running `image` as `manifest` says; `secret` is the Docker secret holding the env file."""
    labels = {**job_labels(manifest, commit, dict.fromkeys(secret_names, "")), DEPLOYMENT_LABEL: "swarm"}
    env = job_environment(manifest, commit, extra_env, secret is not None, SECRET_PATH)
    container = types.ContainerSpec(
        image,
        env=[f"{key}={value}" for key, value in env.items()],
        labels=labels,
        healthcheck=types.Healthcheck(
            test=["CMD", "python", "-c", HEALTH_COMMAND],
            interval=2 * SECOND,
            timeout=2 * SECOND,
            retries=3,
            start_period=int(timeout * SECOND),
        ),
        stop_signal="SIGTERM",
        stop_grace_period=(math.ceil(manifest.python.shutdown_grace) + STOP_GRACE_MARGIN) * SECOND,
        secrets=[secret] if secret is not None else None,
    )
    template = types.TaskTemplate(
        container,
        resources=swarm_resources(manifest.resources),
        restart_policy=types.RestartPolicy(condition="on-failure", delay=SECOND, max_attempts=0),
        force_update=force_update,
    )
    return ServiceSpec(
        name=service_name(manifest),
        task_template=template,
        labels=labels,
        replicas=manifest.replicas,
        update_config=types.UpdateConfig(
            parallelism=1, delay=0, failure_action="rollback", monitor=2 * SECOND, order="start-first"
        ),
        rollback_config=types.RollbackConfig(
            parallelism=1, delay=0, failure_action="pause", monitor=2 * SECOND, order="start-first"
        ),
        # host mode, no fixed port: each task gets its own free port on its node (no routing mesh needed)
        endpoint_spec={
            "Mode": "dnsrr",
            "Ports": [{"Protocol": "tcp", "TargetPort": JOB_PORT, "PublishMode": "host"}],
        },
    )


def swarm_resources(resources: Resources) -> types.Resources:
    """Maxima as task limits, minima as reservations (the scheduler places tasks by them)."""
    docker_resources(resources)  # the same checks (and messages) as the docker target
    return types.Resources(
        cpu_limit=_nano(resources.cpu_max),
        mem_limit=memory_bytes(resources.memory_max) if resources.memory_max else None,
        cpu_reservation=_nano(resources.cpu_min),
        mem_reservation=memory_bytes(resources.memory_min) if resources.memory_min else None,
    )


def _nano(quantity: str | None) -> int | None:
    return int(cpu_cores(quantity) * SECOND) if quantity else None


def secret_reference(secret_id: str, secret_name: str) -> types.SecretReference:
    return types.SecretReference(
        secret_id, secret_name, filename=SECRET_FILENAME, uid=JOB_UID, gid=JOB_UID, mode=0o400
    )
