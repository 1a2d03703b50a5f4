"""The kubernetes target's logic against an in-memory API (no cluster runs here; the real-cluster test is
test_deploy_kubernetes_cluster.py): create then replace, refuse without force, wait for the rollout, pods
as replicas, logs redacted with the Secret's values, delete removes every object."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest
from deploy_helpers import JOBS
from kubernetes.client.exceptions import ApiException

from racetrack.builder import BuiltImage
from racetrack.deploy.errors import DeployError
from racetrack.deploy.kubernetes.target import KubernetesTarget
from racetrack.deploy.report import Silent
from racetrack.deploy.target import RUNNING, DeploySpec
from racetrack.manifest import load_manifest

TOKEN = "tok-k8s-fake-31f"


class FakeCluster:
    """The few CoreV1Api/AppsV1Api calls the target makes, on dicts; every pod is ready at once."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []

    def _create(self, kind: str) -> Any:
        def create(namespace: str, body: dict[str, Any]) -> None:
            key = (kind, body["metadata"]["name"])
            self.calls.append(f"create {kind}")
            if key in self.objects:
                raise ApiException(status=409, reason="AlreadyExists")
            self.objects[key] = {**body, "generation": 1}
        return create

    def _update(self, kind: str) -> Any:
        def update(name: str, namespace: str, body: dict[str, Any]) -> None:
            self.calls.append(f"update {kind}")
            self.objects[(kind, name)] = {**body, "generation": self.objects[(kind, name)]["generation"] + 1}
        return update

    def _read(self, kind: str) -> Any:
        def read(name: str, namespace: str) -> Any:
            if (kind, name) not in self.objects:
                raise ApiException(status=404, reason="NotFound")
            return self._view(self.objects[(kind, name)])
        return read

    def _delete(self, kind: str) -> Any:
        def delete(name: str, namespace: str) -> None:
            if self.objects.pop((kind, name), None) is None:
                raise ApiException(status=404, reason="NotFound")
        return delete

    def _view(self, body: dict[str, Any]) -> Any:
        meta = body["metadata"]
        if body["kind"] == "Secret":
            return NS(data=body["data"], metadata=NS(name=meta["name"]))
        spec = body["spec"]
        replicas = spec["replicas"]
        status = NS(
            observed_generation=body["generation"], updated_replicas=replicas, ready_replicas=replicas,
            replicas=replicas, unavailable_replicas=None,
        )
        containers = [NS(image=c["image"]) for c in spec["template"]["spec"]["containers"]]
        return NS(
            metadata=NS(name=meta["name"], annotations=meta["annotations"], generation=body["generation"],
                        creation_timestamp=None),
            spec=NS(replicas=replicas, template=NS(spec=NS(containers=containers))),
            status=status,
        )

    def core(self) -> Any:
        return NS(
            create_namespaced_secret=self._create("Secret"), replace_namespaced_secret=self._update("Secret"),
            read_namespaced_secret=self._read("Secret"), delete_namespaced_secret=self._delete("Secret"),
            create_namespaced_service=self._create("Service"),
            patch_namespaced_service=self._update("Service"),
            delete_namespaced_service=self._delete("Service"),
            list_namespaced_pod=self.pods, read_namespaced_pod_log=self.pod_log,
        )

    def apps(self) -> Any:
        return NS(
            create_namespaced_deployment=self._create("Deployment"),
            replace_namespaced_deployment=self._update("Deployment"),
            read_namespaced_deployment=self._read("Deployment"),
            read_namespaced_deployment_status=self._read("Deployment"),
            delete_namespaced_deployment=self._delete("Deployment"),
            list_namespaced_deployment=lambda namespace, label_selector: NS(items=[
                self._view(body) for (kind, _), body in self.objects.items() if kind == "Deployment"
            ]),
        )

    def pods(self, namespace: str, label_selector: str) -> Any:
        name = label_selector.split("=", 1)[1]
        body = self.objects.get(("Deployment", name))
        count = body["spec"]["replicas"] if body else 0
        ready = [NS(type="Ready", status="True")]
        return NS(items=[
            NS(metadata=NS(name=f"{name}-{i}", deletion_timestamp=None),
               status=NS(pod_ip=f"10.0.0.{i + 1}", conditions=ready, container_statuses=[]))
            for i in range(count)
        ])

    def pod_log(self, pod: str, namespace: str, container: str, tail_lines: int | None) -> str:
        return f"loading the model with token {TOKEN}\nready\n"


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    fake = FakeCluster()
    monkeypatch.setattr("kubernetes.client.CoreV1Api", lambda api: fake.core())
    monkeypatch.setattr("kubernetes.client.AppsV1Api", lambda api: fake.apps())
    return fake


def test_deploy_force_list_logs_replicas_delete(cluster: FakeCluster, tmp_path: Path) -> None:
    manifest = load_manifest(JOBS / "lifecycle", ["replicas=2"])
    image = BuiltImage("registry.example/lifecycle:1.0.0-abc", "sha256:1", False, tmp_path, "git", "c0ffee")
    target = KubernetesTarget(namespace="jobs", api_client=object())
    spec = DeploySpec(manifest, image, secret_env={"MODEL_TOKEN": TOKEN}, timeout=5)

    job = target.deploy(spec, Silent())
    assert (job.status, job.target, job.git_commit) == (RUNNING, "kubernetes", "c0ffee")
    assert job.replicas == ("http://10.0.0.1:7000", "http://10.0.0.2:7000")
    assert cluster.calls == ["create Secret", "create Deployment", "create Service"]
    kinds = {kind: body for (kind, _), body in cluster.objects.items()}
    assert TOKEN not in str(kinds["Deployment"]) and TOKEN not in str(kinds["Service"])
    assert TOKEN in base64.b64decode(kinds["Secret"]["data"]["secret.env"]).decode()

    with pytest.raises(DeployError, match="already deployed.*--force"):
        target.deploy(spec, Silent())
    target.deploy(replace(spec, force=True), Silent())
    assert [call for call in cluster.calls[3:] if call.startswith("update")] == [
        "update Secret", "update Deployment", "update Service"
    ]

    [listed] = target.list("lifecycle")
    assert (listed.name, listed.version, listed.image) == ("lifecycle", "1.0.0", image.tag)
    lines = list(target.logs("lifecycle", "1.0.0"))
    assert "loading the model with token [secret]" in lines and not any(TOKEN in line for line in lines)

    target.delete("lifecycle", "1.0.0")
    assert cluster.objects == {} and target.list() == []
    with pytest.raises(DeployError, match="not deployed in namespace jobs"):
        target.delete("lifecycle", "1.0.0")
