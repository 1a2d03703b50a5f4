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


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: from-context}}]
current-context: ctx
"""


def test_namespace_and_registry_reach_the_kubernetes_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from racetrack.server.config import ServerConfig
    from racetrack.server.infrastructure import infrastructure

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    import kubernetes.config.kube_config

    # the client reads KUBECONFIG once, when first imported
    monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    default = infrastructure("kubernetes").target
    assert default.namespace == "from-context" and default.registry is None  # type: ignore[attr-defined]
    config = ServerConfig(tmp_path, infrastructure="kubernetes", namespace="team-a", registry="reg.example/t")
    preflight("kubernetes", config.target_options)  # builds the client; nothing is contacted yet
    target = infrastructure("kubernetes", 2.0, config.target_options).target
    assert (target.namespace, target.registry) == ("team-a", "reg.example/t")  # type: ignore[attr-defined]


def test_kubernetes_options_are_refused_for_other_targets(tmp_path: Any) -> None:
    command = [
        "server",
        "--infrastructure",
        "docker",
        "--registry",
        "reg.example/t",
        "--data-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "--registry apply to --infrastructure kubernetes only, not docker" in result.output
