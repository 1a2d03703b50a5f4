"""`racetrack manifests --target kubernetes`: for every sample, with and without replicas, resources and
secrets, the printed objects validate against the Kubernetes API schemas (strict), carry what the target
promises (probes, preStop, non-root, maxUnavailable 0), and secret values appear in the Secret only."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_helpers import SAMPLES, racetrack

SECRET = "s3cret-k8s-7Hq'value"
VARIANTS = {
    "plain": [],
    "scaled": [
        "-e", "replicas=3",
        "-e", "resources={cpu_min: 250m, cpu_max: '1', memory_min: 64Mi, memory_max: 512Mi}",
        "-e", "secret_runtime_env_file=.env.k8s-test",
        "-e", "labels={tier: 2, owners: [a, b]}",
    ],
}


def _job(tmp_path: Path, sample: str) -> Path:
    job = tmp_path / sample
    shutil.copytree(SAMPLES / sample, job)
    for dist in job.glob(".env.*.dist"):
        shutil.copy(dist, job / dist.name.removesuffix(".dist"))
    (job / ".env.k8s-test").write_text(f"API_TOKEN=\"{SECRET}\"\n")
    return job


def render(job: Path, *args: str) -> list[dict[str, Any]]:
    result = racetrack("manifests", str(job), "--target", "kubernetes", *args)
    assert result.exit_code == 0, result.output
    return list(yaml.safe_load_all(result.stdout))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("sample", sorted(path.name for path in SAMPLES.iterdir() if path.is_dir()))
def test_manifests_validate_for_every_sample(tmp_path: Path, sample: str, variant: str) -> None:
    objects = render(_job(tmp_path, sample), *VARIANTS[variant], "--image", "registry.example/job:1")
    for item in objects:
        kubernetes_validate.validate(item, kubernetes_validate.latest_version(), strict=True)
    kinds = {item["kind"]: item for item in objects}
    deployment, service = kinds["Deployment"], kinds["Service"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/live"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert container["image"] == "registry.example/job:1"
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert spec["template"]["metadata"]["labels"].items() >= spec["selector"]["matchLabels"].items()
    annotations = deployment["metadata"]["annotations"]
    assert annotations["racetrack.job.name"] == sample
    if variant == "scaled":
        assert spec["replicas"] == 3
        assert container["resources"] == {
            "requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}
        }
        assert "Secret" in kinds and annotations["racetrack.secret-env.names"] == "API_TOKEN"
        assert annotations["racetrack.label.tier"] == "2"
        assert annotations["racetrack.label.owners"] == "[\"a\",\"b\"]"
        volume = pod["volumes"][0]["secret"]["secretName"]
        assert volume == kinds["Secret"]["metadata"]["name"]
        env = {item["name"]: item["value"] for item in container["env"]}
        mount = container["volumeMounts"][0]["mountPath"]
        assert env["RACETRACK_SECRET_ENV_FILE"] == f"{mount}/secret.env"
    else:
        assert spec["replicas"] == 1 and container["resources"] == {}


def test_secret_values_appear_in_the_secret_only(tmp_path: Path) -> None:
    job = _job(tmp_path, "python-class")
    args = VARIANTS["scaled"]
    encoded = base64.b64encode(SECRET.encode()).decode()
    shown = render(job, *args, "--show-secrets")
    [secret] = [item for item in shown if item["kind"] == "Secret"]
    text = base64.b64decode(secret["data"]["secret.env"]).decode()
    assert text == "API_TOKEN='s3cret-k8s-7Hq\\'value'\n"  # Compose .env syntax, read back exactly
    for item in shown:
        if item["kind"] != "Secret":
            dumped = json.dumps(item)
            assert SECRET not in dumped and encoded not in dumped and "s3cret" not in dumped
    hidden = yaml.safe_dump_all(render(job, *args))
    assert "s3cret" not in hidden and secret["data"]["secret.env"] not in hidden


def test_manifests_explain_bad_input(tmp_path: Path) -> None:
    job = _job(tmp_path, "python-class")
    wrong = racetrack("manifests", str(job), "--target", "swarm")
    assert wrong.exit_code == 1 and "only 'kubernetes'" in wrong.stderr
    bad = racetrack("manifests", str(job), "-e", "resources={cpu_min: '2', cpu_max: '1'}")
    assert bad.exit_code == 1 and "cpu_min" in bad.stderr
