"""What a Swarm service's tasks say: which run, where their replicas answer, and why one failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from racetrack.deploy.registry import url_host
from racetrack.protocol import JOB_PORT

FAILED_STATES = ("failed", "rejected", "orphaned")
STARTING_STATES = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting")


@dataclass(frozen=True)
class Task:
    """One task of a service, as far as a deployer cares."""

    id: str
    state: str  # Swarm's: new ... starting, running, complete, shutdown, failed, rejected ...
    desired: str  # running, shutdown, ...
    force_update: int  # the service spec generation it was started for (we bump it on every update)
    url: str | None  # base URL of this replica, when it publishes its port
    container_id: str | None
    error: str | None

    @property
    def serving(self) -> bool:
        """Running and meant to keep running: a replica the gateway may forward to."""
        return self.state == "running" and self.desired == "running" and self.url is not None


def task_from(attrs: dict[str, Any], node_addresses: dict[str, str]) -> Task:
    status = attrs.get("Status") or {}
    published = [
        port.get("PublishedPort")
        for port in (status.get("PortStatus") or {}).get("Ports") or []
        if port.get("TargetPort") == JOB_PORT and port.get("PublishedPort")
    ]
    address = node_address(node_addresses.get(attrs.get("NodeID", ""), ""))
    return Task(
        id=attrs["ID"][:12],
        state=status.get("State", "unknown"),
        desired=attrs.get("DesiredState", "unknown"),
        force_update=int((attrs.get("Spec") or {}).get("ForceUpdate") or 0),
        url=f"http://{address}:{published[0]}" if published else None,
        container_id=(status.get("ContainerStatus") or {}).get("ContainerID"),
        error=status.get("Err"),
    )


def node_address(addr: str) -> str:
    """Where a node's host-mode ports are reached from here: its advertised address (this engine's host for
    a loopback or unspecified one)."""
    if addr in ("", "0.0.0.0", "127.0.0.1", "::", "::1"):
        return url_host("")
    return f"[{addr}]" if ":" in addr else addr
