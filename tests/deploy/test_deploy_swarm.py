"""The swarm target on a real single-node swarm: three replicas that all answer, a start-first rollover and
a killed task under steady load with zero failed calls, runtime secrets absent from every inspect, delete."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from deploy_helpers import JOBS, SAMPLES
from load_helpers import Load

from racetrack.deploy.docker_target import DockerTarget
from racetrack.deploy.errors import StartFailed
from racetrack.deploy.report import Silent
from racetrack.deploy.swarm.target import SwarmTarget
from racetrack.deploy.target import RUNNING, DeploySpec

pytestmark = pytest.mark.docker

TOKEN = "tok-swarm-51c0-never-inspected"
GATEWAY = {"X-Racetrack-Gateway-Token": "gw-swarm-77aa"}
RESOURCES = "resources={cpu_min: 50m, cpu_max: 500m, memory_min: 32Mi, memory_max: 256Mi}"


@pytest.fixture(scope="module")
def swarm(engine: Any, run_prefix: str) -> Iterator[SwarmTarget]:
    """The swarm target on this engine (made a single-node swarm manager if it is none yet); every service
    and secret of this run is removed at the end."""
    if (engine.info().get("Swarm") or {}).get("LocalNodeState") != "active":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True)
    yield SwarmTarget(engine)
    mine = lambda labels: (labels or {}).get("racetrack.job.name", "").startswith(run_prefix + "-")  # noqa: E731
    for service in engine.api.services(filters={"label": ["racetrack.deployment=swarm"]}):
        if mine(service["Spec"].get("Labels")):
            engine.api.remove_service(service["ID"])
    tasks = {"label": ["racetrack.deployment=swarm", "com.docker.swarm.task"]}
    _until(
        lambda: not [
            c for c in engine.containers.list(all=True, filters=tasks, ignore_removed=True) if mine(c.labels)
        ],
        120, "the removed services' task containers to go (their images are removed next)",
    )
    for secret in engine.api.secrets(filters={"label": ["racetrack.deployment=swarm"]}):
        if mine(secret["Spec"].get("Labels")):
            _until(lambda secret=secret: _removed(engine, secret["ID"]), 60, "secret removal")


def _removed(engine: Any, secret_id: str) -> bool:
    try:
        engine.api.remove_secret(secret_id)
    except Exception as error:  # noqa: BLE001 - in use until the service's tasks are gone
        return "not found" in str(error).lower()
    return True


def _until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)
    return result


def _task_containers(engine: Any, name: str) -> list[Any]:
    labels = [f"racetrack.job.name={name}", "racetrack.deployment=swarm"]
    return engine.containers.list(filters={"label": labels}, ignore_removed=True)  # tasks come and go


def test_three_replicas_rollover_and_a_killed_task_under_load(
    swarm: SwarmTarget, built_job: Any, engine: Any
) -> None:
    manifest, image = built_job(SAMPLES / "python-class", "sw-class", "replicas=3", RESOURCES)
    name, version = manifest.name, manifest.version
    job = swarm.deploy(DeploySpec(manifest, image, timeout=120), Silent())
    assert job.status == RUNNING and job.target == "swarm"
    first = swarm.replicas(name, version)
    assert len(first) == 3 and len(set(first)) == 3
    for url in first:  # every replica answers on its own host port
        assert httpx.post(url + "/api/v1/perform", json={"x": 20, "y": 5}, timeout=10).json() == 100.0

    [service] = engine.api.services(filters={"label": [f"racetrack.job.name={name}"]})
    spec = service["Spec"]
    template = spec["TaskTemplate"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 3
    assert template["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 256 * 2**20}
    assert template["Resources"]["Reservations"] == {"NanoCPUs": 50_000_000, "MemoryBytes": 32 * 2**20}
    assert template["RestartPolicy"]["Condition"] == "on-failure"
    assert "/live" in " ".join(template["ContainerSpec"]["Healthcheck"]["Test"])
    assert template["ContainerSpec"]["StopGracePeriod"] == 35 * 10**9  # shutdown_grace 30 s + margin
    assert spec["UpdateConfig"]["Order"] == "start-first" and spec["UpdateConfig"]["Parallelism"] == 1
    assert spec["Labels"]["racetrack.job.version"] == version
    assert [job.version for job in swarm.list(name)] == [version]

    with Load(lambda: swarm.replicas(name, version)) as load:
        load.wait_for_calls(50)
        rolled = swarm.deploy(replace(DeploySpec(manifest, image, timeout=120), force=True), Silent())
        load.wait_for_calls(50)
        assert rolled.status == RUNNING
        second = swarm.replicas(name, version)
        assert len(second) == 3 and not set(second) & set(first)  # three new tasks took over
        _until(lambda: all(load.served[url] for url in second), 30, "calls on every new replica")

        victim = _task_containers(engine, name)[0]
        victim.kill()  # SIGKILL: no drain, as when a node or process dies
        _until(
            lambda: len(replicas := swarm.replicas(name, version)) == 3 and set(replicas) != set(second),
            90, "Swarm replacing the killed task",
        )
        load.wait_for_calls(50)
    print(f"calls: {load.calls}, retried once on another replica: {dict(load.retried)}")
    assert load.failures == [], load.failures[:5]
    assert all(load.served[url] for url in first), load.served  # the old replicas served until replaced

    swarm.delete(name, version)
    assert swarm.list(name) == [] and swarm.replicas(name, version) == ()
    _until(lambda: not _task_containers(engine, name), 60, "the tasks' containers to go")


def test_runtime_secrets_reach_the_job_not_any_inspect(
    swarm: SwarmTarget, built_job: Any, engine: Any
) -> None:
    manifest, image = built_job(JOBS / "lifecycle", "lifecycle")  # the image the docker target test uses
    secret_env = {"MODEL_TOKEN": TOKEN, "RACETRACK_GATEWAY_TOKEN": GATEWAY["X-Racetrack-Gateway-Token"]}
    spec = DeploySpec(manifest, image, secret_env=secret_env, timeout=120)
    swarm.deploy(spec, Silent())
    [url] = swarm.replicas(manifest.name, manifest.version)
    who = httpx.post(url + "/api/v1/whoami", json={}, headers=GATEWAY, timeout=10).json()
    assert who["token_set"] is True
    assert httpx.post(url + "/api/v1/whoami", json={}, timeout=10).status_code == 401  # the gateway's only

    [service] = engine.api.services(filters={"label": [f"racetrack.job.name={manifest.name}"]})
    [container] = _task_containers(engine, manifest.name)
    secrets = engine.api.secrets(filters={"label": [f"racetrack.job.name={manifest.name}"]})
    for inspected in (service, container.attrs, *secrets):
        shown = json.dumps(inspected)
        assert TOKEN not in shown and "tok-swarm" not in shown and "gw-swarm" not in shown
    assert DockerTarget(engine).list(manifest.name) == []  # task containers are no docker deployments
    lines = list(swarm.logs(manifest.name, manifest.version))
    assert any("loading the model with token [secret]" in line for line in lines), lines
    assert not any(TOKEN in line for line in lines)

    mine = {"label": [f"racetrack.job.name={manifest.name}"]}
    swarm.deploy(replace(spec, force=True), Silent())  # a new secret; the first one stays for a rollback
    rolled = engine.api.inspect_service(service["ID"])
    assert rolled["UpdateStatus"]["State"] == "completed"  # deploy returned once Swarm ended the rollover
    [first_secret] = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    both = engine.api.secrets(filters=mine)
    assert len(both) == 2
    [kept] = [secret for secret in both if secret["Spec"]["Name"] == first_secret["SecretName"]]
    rollback = ["docker", "service", "rollback", "--detach", service["ID"]]
    subprocess.run(rollback, check=True, capture_output=True)
    _until(
        lambda: (engine.api.inspect_service(service["ID"]).get("UpdateStatus") or {}).get("State")
        == "rollback_completed",
        90,
        "Swarm rolling back to the first spec (its secret still there)",
    )

    revoked = replace(spec, force=True, secret_env={**secret_env, "MODEL_TOKEN": "revoked"})
    with pytest.raises(StartFailed, match="the model registry refused MODEL_TOKEN"):
        swarm.deploy(revoked, Silent())  # a rollover whose new task cannot load: back to the old spec
    assert [secret["ID"] for secret in engine.api.secrets(filters=mine)] == [kept["ID"]]
    _until(lambda: len(swarm.replicas(manifest.name, manifest.version)) == 1, 60, "the old task serving")
    [url] = swarm.replicas(manifest.name, manifest.version)
    assert httpx.post(url + "/api/v1/whoami", json={}, headers=GATEWAY, timeout=10).json()["token_set"]

    swarm.delete(manifest.name, manifest.version)
    assert engine.api.secrets(filters=mine) == []
    with pytest.raises(StartFailed, match="the model registry refused MODEL_TOKEN"):
        swarm.deploy(replace(revoked, force=False), Silent())  # a first deploy that cannot load: nothing left
    assert swarm.list(manifest.name) == [] and engine.api.secrets(filters=mine) == []
