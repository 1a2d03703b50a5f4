"""The docker target through InfrastructureTarget, as the control plane drives it: deploy with runtime
secrets that reach the job only through its secret file, list, replicas, logs (redacted), delete."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from deploy_helpers import JOBS

from racetrack.deploy.report import Silent
from racetrack.deploy.target import RUNNING, DeploySpec
from racetrack.deploy.targets import get_target

pytestmark = pytest.mark.docker

TOKEN = "tok-docker-9d2f-'quoted' $HOME \\ secret"
GATEWAY = {"X-Racetrack-Gateway-Token": "gw-docker-4b1e"}


def test_docker_target_keeps_secrets_out_of_inspect(built_job: Any, engine: Any) -> None:
    manifest, image = built_job(JOBS / "lifecycle", "lifecycle")
    target = get_target("docker", client=engine)
    spec = DeploySpec(
        manifest, image, extra_env={"PUB_URL": "http://127.0.0.1:9/pub"},
        secret_env={"MODEL_TOKEN": TOKEN, "RACETRACK_GATEWAY_TOKEN": GATEWAY["X-Racetrack-Gateway-Token"]},
    )
    job = target.deploy(spec, Silent())
    try:
        assert (job.name, job.version, job.target, job.status) == (manifest.name, "1.0.0", "docker", RUNNING)
        [url] = target.replicas(manifest.name, "1.0.0")
        assert url == job.replicas[0]
        # the smoke check passed with the gateway credential; a call without it is refused
        who = httpx.post(url + "/api/v1/whoami", json={}, headers=GATEWAY, timeout=10).json()
        assert who["token_set"] is True and who["name"] == manifest.name
        assert httpx.post(url + "/api/v1/whoami", json={}, timeout=10).status_code == 401
        [listed] = target.list(manifest.name)
        assert listed.replicas == (url,) and listed.status == RUNNING

        container = engine.containers.get(f"{manifest.name}-1.0.0")
        inspected = json.dumps(container.attrs)
        assert TOKEN not in inspected and "tok-docker" not in inspected and "gw-docker" not in inspected
        env = dict(entry.partition("=")[::2] for entry in container.attrs["Config"]["Env"])
        assert env["RACETRACK_SECRET_ENV_FILE"] == "/run/racetrack/secret.env"
        assert env["PUB_URL"] == "http://127.0.0.1:9/pub" and "MODEL_TOKEN" not in env
        mode = container.exec_run(["stat", "-c", "%a %U", "/run/racetrack/secret.env"]).output.decode()
        assert mode.split() == ["400", "racetrack"]

        lines = list(target.logs(manifest.name, "1.0.0"))
        assert any("loading the model with token [secret]" in line for line in lines), lines
        assert not any("tok-docker" in line for line in lines)

        again = target.deploy(replace(spec, force=True), Silent())
        assert again.status == RUNNING and again.replicas != ()
    finally:
        target.delete(manifest.name, "1.0.0")
    assert target.list(manifest.name) == []
    assert target.replicas(manifest.name, "1.0.0") == ()
