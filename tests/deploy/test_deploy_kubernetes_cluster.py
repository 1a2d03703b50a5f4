"""The kubernetes target against a real cluster: runs only when RACETRACK_TEST_KUBECONFIG names a kubeconfig
(no cluster can run on the CI machines; this is the one skip CI tolerates). Set RACETRACK_TEST_K8S_REGISTRY
to a registry the cluster pulls from (images are pushed there), RACETRACK_TEST_K8S_NAMESPACE to deploy
elsewhere than the kubeconfig's namespace."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from deploy_helpers import JOBS

from racetrack.deploy.naming import dns_name
from racetrack.deploy.report import Silent
from racetrack.deploy.target import RUNNING, DeploySpec

KUBECONFIG = os.environ.get("RACETRACK_TEST_KUBECONFIG")
TOKEN = f"tok-cluster-{uuid.uuid4().hex[:8]}"

pytestmark = [
    pytest.mark.docker,
    pytest.mark.ci_allowed_skip,
    pytest.mark.skipif(not KUBECONFIG, reason="RACETRACK_TEST_KUBECONFIG is not set (no Kubernetes cluster)"),
]


def test_deploy_call_logs_and_delete_on_a_real_cluster(built_job: Any) -> None:
    from racetrack.deploy.kubernetes.target import KubernetesTarget

    target = KubernetesTarget(
        namespace=os.environ.get("RACETRACK_TEST_K8S_NAMESPACE"),
        kubeconfig=KUBECONFIG,
        registry=os.environ.get("RACETRACK_TEST_K8S_REGISTRY"),
    )
    manifest, image = built_job(JOBS / "lifecycle", "k8s-lifecycle", "replicas=2")
    spec = DeploySpec(manifest, image, secret_env={"MODEL_TOKEN": TOKEN}, timeout=300)
    try:
        job = target.deploy(spec, Silent())
        assert job.status == RUNNING and len(job.replicas) == 2
        name = dns_name(manifest.name, manifest.version)
        [pod, *_] = target._pods(name)
        answer = target.core.api_client.call_api(
            f"/api/v1/namespaces/{target.namespace}/pods/{pod.metadata.name}:7000/proxy/api/v1/whoami",
            "POST", body={}, response_type="object", auth_settings=["BearerToken"],
            _return_http_data_only=True,
        )
        assert answer["token_set"] is True
        deployment = target.apps.read_namespaced_deployment(name, target.namespace)
        service = target.core.read_namespaced_service(name, target.namespace)
        for shown in (deployment.to_dict(), service.to_dict(), pod.to_dict()):
            assert TOKEN not in json.dumps(shown, default=str)
        lines = list(target.logs(manifest.name, manifest.version))
        assert any("loading the model with token [secret]" in line for line in lines)
    finally:
        if target.list(manifest.name):
            target.delete(manifest.name, manifest.version)
    assert target.list(manifest.name) == []
