"""`racetrack server --infrastructure NAME` refuses to start, saying how to fix it, when NAME cannot
deploy."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import racetrack.builder
from racetrack.cli import app
from racetrack.server.infrastructure import InfrastructureUnavailable, preflight


class FakeEngine:
    def __init__(self, swarm: dict[str, Any]) -> None:
        self.swarm = swarm

    def info(self) -> dict[str, Any]:
        return {"Swarm": self.swarm}


def test_an_unknown_target_is_refused_with_the_choices(tmp_path: Any) -> None:
    result = CliRunner().invoke(app, ["server", "--infrastructure", "nomad", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "'nomad' is not a target; choose one of docker, swarm, kubernetes" in result.output
    assert not (tmp_path / "admin-token").exists()  # refused before anything was set up


@pytest.mark.parametrize(
    ("swarm", "expected"),
    [
        (
            {"LocalNodeState": "inactive"},
            "in no swarm; make it a manager with `docker swarm init --advertise-addr",
        ),
        ({"LocalNodeState": "active", "ControlAvailable": False}, "a Swarm worker, not a manager"),
    ],
)
def test_swarm_needs_a_manager(monkeypatch: pytest.MonkeyPatch, swarm: dict, expected: str) -> None:
    monkeypatch.setattr(racetrack.builder, "connect", lambda: FakeEngine(swarm))
    with pytest.raises(InfrastructureUnavailable, match="--infrastructure swarm") as raised:
        preflight("swarm")
    assert expected in str(raised.value)
    monkeypatch.setattr(
        racetrack.builder,
        "connect",
        lambda: FakeEngine({**swarm, "LocalNodeState": "active", "ControlAvailable": True}),
    )
    preflight("swarm")  # a manager passes


def test_kubernetes_needs_a_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InfrastructureUnavailable, match="set KUBECONFIG"):
        preflight("kubernetes")
