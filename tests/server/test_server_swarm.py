"""`racetrack server --infrastructure swarm` end to end: a three-replica job deployed through the Lifecycle
API and called through /pub under steady load, with no client-side retry: every replica serves, a forced
redeploy and a killed task cost no failed call, delete leaves no service or secret."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lifecycle import api, build_context, deploy_request, job_dir
from racetrack.protocol import AUTH_HEADER
from server_process import ServerProcess, job_server, poll_until

pytestmark = pytest.mark.docker
SERVER = (sys.executable, "-m", "racetrack", "server")
MAX_CALLS = 1200  # the load stops here whatever the test does (about a minute at its pace)
ENTRYPOINT = '''import socket


class FatmanEntrypoint:
    def perform(self) -> str:
        """The hostname of the replica answering (its task container's short id)."""
        return socket.gethostname()

    def docs_input_example(self) -> dict:
        return {}
'''


@dataclass
class GatewayLoad:
    """Two threads calling `url` through the gateway (no retry of their own); replies counted by hostname."""

    url: str
    token: str
    served: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    first_seen: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> GatewayLoad:
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    @property
    def calls(self) -> int:
        return sum(self.served.values()) + len(self.failures)

    def _run(self) -> None:
        with httpx.Client(timeout=30, headers={AUTH_HEADER: self.token}) as http:
            while not self._stop.is_set() and self.calls < MAX_CALLS:
                try:
                    response = http.post(self.url, json={})
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:300]}")
                    continue
                host = response.json()
                self.served[host] += 1
                self.first_seen.setdefault(host, time.monotonic())
                self._stop.wait(0.05)


def deploy(server: ServerProcess, token: str, payload: dict[str, Any]) -> None:
    state = deploy_request(server, token, payload)
    assert state["status"] == "done", f"{state}\n{server.output()[-3000:]}"


@pytest.fixture(scope="module")
def engine() -> Any:
    from racetrack.builder import connect

    client = connect()
    if (client.info().get("Swarm") or {}).get("LocalNodeState") != "active":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True)
    return client


@pytest.fixture
def job_name(engine: Any) -> Iterator[str]:
    """A unique job name; its services, secrets, task containers and images are removed at the end."""
    name = f"srvsw-{secrets.token_hex(3)}"
    yield name
    labels = {"label": [f"racetrack.job.name={name}"]}
    for service in engine.api.services(filters=labels):
        engine.api.remove_service(service["ID"])
    poll_until(
        lambda: not engine.api.containers(all=True, filters=labels), 120, "the job's task containers to go"
    )
    for secret in engine.api.secrets(filters=labels):
        engine.api.remove_secret(secret["ID"])
    for image in engine.images.list(filters={"reference": f"racetrack/{name}"}):
        for tag in image.tags:
            engine.images.remove(tag)


@pytest.fixture
def swarm_server(tmp_path: Path, engine: Any) -> Iterator[ServerProcess]:
    args = ["--data-dir", str(tmp_path / "data"), "--infrastructure", "swarm"]
    with job_server(args, wait_path="/health", command=SERVER, log_dir=tmp_path) as server:
        yield server


def task_containers(engine: Any, name: str) -> set[str]:
    """The short ids (= hostnames) of the job's running task containers."""
    labels = {"label": [f"racetrack.job.name={name}", "com.docker.swarm.task"]}
    return {container["Id"][:12] for container in engine.api.containers(filters=labels)}


def served_by(load: GatewayLoad, hosts: Callable[[], set[str]], what: str) -> set[str]:
    """Wait until every host of `hosts()` (three of them) served calls through the gateway; those hosts."""

    def check() -> set[str] | None:
        now = hosts()
        return now if len(now) == 3 and all(load.served[host] for host in now) else None

    return poll_until(check, timeout=90, what=what)


def test_swarm_server_rolls_over_and_survives_a_killed_task_under_load(
    swarm_server: ServerProcess, engine: Any, job_name: str, tmp_path: Path
) -> None:
    token = (tmp_path / "data" / "admin-token").read_text().strip()
    job = job_dir(tmp_path / "job", ENTRYPOINT, job_name, replicas=3, infrastructure_target="swarm")
    manifest = yaml.safe_load((job / "fatman.yaml").read_text())
    payload = {"manifest": manifest, "secret_vars": {}, "build_context": build_context(job), "force": False}

    other_target = {**payload, "manifest": {**manifest, "infrastructure_target": "kubernetes"}}
    elsewhere = api(swarm_server, "POST", "/deploy", token, json=other_target)
    assert elsewhere.status_code == 400 and "--infrastructure swarm" in elsewhere.text, elsewhere.text

    deploy(swarm_server, token, payload)
    [listed] = api(swarm_server, "GET", "/job", token).json()
    assert listed["infrastructure_target"] == "swarm" and len(listed["replica_internal_names"]) == 3
    assert listed["job_type_version"] == "python3:latest"  # read from `jobtype`, not only `lang`
    hosts = lambda: task_containers(engine, job_name)  # noqa: E731
    with GatewayLoad(f"{swarm_server.url}/pub/job/{job_name}/latest/api/v1/perform", token) as load:
        first = served_by(load, hosts, "calls through /pub on all three replicas")

        deploy(swarm_server, token, {**payload, "force": True})
        second = served_by(load, hosts, "calls on the three replicas of the rollover")
        assert not first & second, (first, second)

        victim = engine.containers.get(sorted(second)[0])
        victim.kill()  # SIGKILL: no drain, as when a process or node dies
        killed_at = time.monotonic()
        third = served_by(load, lambda: hosts() - {victim.id[:12]}, "calls on Swarm's replacement task")
        [replacement] = third - second
        learned = load.first_seen[replacement] - killed_at
        calls = load.calls
    print(f"{calls} calls; the replacement served its first call {learned:.1f} s after the kill")
    assert load.failures == [], load.failures[:5]
    assert calls < MAX_CALLS, "the load ran out of calls before the test finished"

    assert learned < 60, learned
    labels = {"label": [f"racetrack.job.name={job_name}"]}
    # the runtime secrets as one Docker secret per spec: the rollover's and the one Swarm can roll back to
    assert len(engine.api.secrets(filters=labels)) == 2

    deleted = api(swarm_server, "DELETE", f"/job/{job_name}/{listed['version']}", token)
    assert deleted.status_code in (200, 202, 204), deleted.text
    assert engine.api.services(filters=labels) == []
    poll_until(lambda: engine.api.secrets(filters=labels) == [], 60, "the job's secret removal")
    assert api(swarm_server, "GET", "/job", token).json() == []
