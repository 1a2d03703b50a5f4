"""Start a job's container: name, labels, environment, limits, restart policy and the published port."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.errors import APIError
from docker.models.containers import Container

from racetrack.deploy.errors import DeployError
from racetrack.deploy.registry import PORT_KEY, url_host

RESTART_POLICY = {"Name": "unless-stopped"}
PORT_IN_USE = ("port is already allocated", "address already in use")


@dataclass(frozen=True)
class ContainerSpec:
    """Everything `docker run` needs for one job version; `host_port` None lets racetrack pick one."""

    image: str
    name: str
    environment: dict[str, str]
    labels: dict[str, str]
    bind: str = "127.0.0.1"
    host_port: int | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    stop_timeout: int = 35
    files: bytes | None = None  # a tar extracted at / before the container starts (the secret env file)


def start_container(client: docker.DockerClient, spec: ContainerSpec, taken: Iterable[int] = ()) -> Container:
    """Create and start the container; a picked port that turns out busy is replaced by another one."""
    avoid = set(taken)
    for _attempt in range(5):
        port = spec.host_port or free_port(spec.bind, avoid)
        created = _create(client, spec, port)
        try:
            if spec.files is not None:
                client.api.put_archive(created, "/", spec.files)
            client.api.start(created)
        except APIError as error:
            client.api.remove_container(created, force=True)
            busy = any(text in _explain(error) for text in PORT_IN_USE)
            if busy and spec.host_port is None and port is not None:
                avoid.add(port)
                continue
            if busy:
                raise DeployError(
                    f"host port {port} on {spec.bind} is in use; pass another --host-port or leave it out "
                    "to get a free one"
                ) from None
            raise DeployError(f"the engine could not start {spec.name}: {_explain(error)}") from None
        return client.containers.get(created)
    raise DeployError(f"found no free host port on {spec.bind} after 5 tries; pass --host-port")


def _create(client: docker.DockerClient, spec: ContainerSpec, port: int | None) -> str:
    host_config = client.api.create_host_config(
        port_bindings={PORT_KEY: (spec.bind, port)},
        restart_policy=RESTART_POLICY,
        **spec.resources,
    )
    try:
        created = client.api.create_container(
            spec.image,
            name=spec.name,
            environment=spec.environment,
            labels=spec.labels,
            ports=[PORT_KEY],
            host_config=host_config,
            stop_timeout=spec.stop_timeout,
        )
    except APIError as error:
        hint = ""
        if error.status_code == 409:
            hint = "; a container of that name exists: `racetrack list` shows it, `docker rm` removes it"
        elif any(word in _explain(error).lower() for word in ("cpu", "memory")):
            hint = "; check `resources` in fatman.yaml"
        raise DeployError(f"the engine refused container {spec.name}: {_explain(error)}{hint}") from None
    return created["Id"]


def free_port(bind: str, avoid: set[int]) -> int | None:
    """A host port nothing listens on (and no stopped job holds), or None to let a remote engine pick."""
    if url_host(bind) not in ("127.0.0.1", bind):
        return None  # the engine is on another machine: only it knows which of its ports are free
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    for _attempt in range(20):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((bind, 0))
            port = probe.getsockname()[1]
        if port not in avoid:
            return port
    return None


def _explain(error: APIError) -> str:
    return str(error.explanation or error).strip()
