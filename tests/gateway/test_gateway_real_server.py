"""The gateway in front of a real `racetrack server` with a really deployed sample (Docker): through the
server's own /pub and through a standalone `racetrack gateway --server URL`."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from gateway_helpers import run_gateway_with_secret, ws_talk

from lifecycle import FAKE_REMOTE, api, build_context, deploy_request, job_dir
from racetrack.protocol import AUTH_HEADER
from server_process import ServerProcess, job_server, poll_until

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]
SLOW_JOB = """
import time

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


class Job:
    def perform(self, seconds: float) -> str:
        time.sleep(seconds)
        return f"slept {seconds}"

    def webview_app(self, base_url: str):
        async def hello(socket):
            await socket.accept()
            await socket.send_text(f"hello {socket.headers.get('x-caller-name')}")
            await socket.close(code=1000)

        return Starlette(routes=[WebSocketRoute("/hello", hello)])
"""


CHAIN_JOB = """
import os

from racetrack_job_wrapper import call_job


class Job:
    def perform(self, x: float, y: float) -> float:
        return call_job(self, os.environ["TARGET_JOB"], "/api/v1/perform", {"x": x, "y": y})

    def auxiliary_endpoints(self):
        return {"/count": self.count}

    def count(self, n: int):
        for i in range(n):
            yield {"i": i}
"""


def deploy(
    server: ServerProcess, token: str, name: str, job: Path = REPO / "sample" / "python-class"
) -> None:
    manifest = yaml.safe_load((job / "fatman.yaml").read_text()) | {
        "name": name,
        "git": {"remote": FAKE_REMOTE},
    }
    payload = {"manifest": manifest, "secret_vars": {}, "build_context": build_context(job), "force": False}
    state = deploy_request(server, token, payload)
    assert state["status"] == "done", state


@dataclass
class RealServer:
    """A `racetrack server` on a temporary data dir; restart() starts a new process on the same data."""

    base: Path
    stack: contextlib.ExitStack
    process: ServerProcess | None = None

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def admin(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def start(self) -> ServerProcess:
        command = (sys.executable, "-m", "racetrack", "server")
        args = ["--data-dir", str(self.data_dir)]
        self.process = self.stack.enter_context(
            job_server(args, wait_path="/health", command=command, log_dir=self.base)
        )
        return self.process

    def restart(self, grace: float = 15) -> ServerProcess:
        """Stop the server (SIGTERM, SIGKILL after `grace` seconds; 0: it dies at once) and start it again."""
        assert self.process is not None
        self.process.stop(grace)
        return self.start()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    with contextlib.ExitStack() as stack:
        holder = RealServer(tmp_path_factory.mktemp("real-server"), stack)
        holder.start()
        try:
            yield holder
        finally:
            assert holder.process is not None
            for job in api(holder.process, "GET", "/job", holder.admin).json():
                api(holder.process, "DELETE", f"/job/{job['name']}/{job['version']}", holder.admin)


def test_calls_through_the_servers_pub_and_a_standalone_gateway(real: RealServer, tmp_path: Path) -> None:
    server, admin = real.process, real.admin
    assert server is not None
    name = f"gw-{uuid.uuid4().hex[:6]}"
    deploy(server, admin, name)
    perform = f"/pub/job/{name}/latest/api/v1/perform"

    unauthenticated = httpx.post(server.url + perform, json={"x": 20, "y": 5}, timeout=30)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"].startswith("Proxy request error: Unauthenticated")
    allowed = httpx.post(
        server.url + perform, json={"x": 20, "y": 5}, headers={AUTH_HEADER: admin}, timeout=30
    )
    assert allowed.status_code == 200 and allowed.json() == 100.0

    esc = api(server, "POST", "/escs", admin, json={"name": f"billing-{name}"})
    assert esc.status_code == 200, esc.text
    refused = httpx.post(
        server.url + perform, json={"x": 1, "y": 1}, headers={AUTH_HEADER: esc.json()["token"]}
    )
    assert refused.status_code == 401
    assert (
        f'auth subject "ESC: billing-{name}"' in refused.json()["error"]
        and '"call_job"' in refused.json()["error"]
    )

    secret = real.data_dir / "gateway-secret"
    with run_gateway_with_secret(server.url, tmp_path / "gw", secret) as gateway:
        through = gateway.client.post(perform, json={"x": 20, "y": 5}, headers={AUTH_HEADER: admin})
        assert through.status_code == 200 and through.json() == 100.0
        assert gateway.client.get(f"/pub/job/{name}/latest/health").json()["version"] == "0.0.1"
        task = gateway.client.post(
            f"/pub/async/new/job/{name}/latest/api/v1/perform",
            json={"x": 2, "y": 3},
            headers={AUTH_HEADER: admin},
        )
        assert task.status_code == 201
        task_id = task.json()["task_id"]
        deadline = time.monotonic() + 60
        while (
            poll := gateway.client.get(
                f"/pub/async/task/{task_id}/poll", headers={AUTH_HEADER: admin}, timeout=40
            )
        ).status_code == 202 and time.monotonic() < deadline:
            pass
        assert poll.status_code == 200 and poll.json() == 6.0


def test_an_async_result_survives_a_server_restart(real: RealServer) -> None:
    server, admin = real.process, real.admin
    assert server is not None
    jobs = api(server, "GET", "/job", admin).json()
    assert jobs, "the test above leaves its job deployed"
    name = jobs[0]["name"]
    submitted = httpx.post(
        f"{server.url}/pub/async/new/job/{name}/latest/api/v1/perform",
        json={"x": 3, "y": 4},
        headers={AUTH_HEADER: admin},
        timeout=30,
    )
    assert submitted.status_code == 201, submitted.text
    task_id = submitted.json()["task_id"]
    status = f"/pub/async/task/{task_id}/status"
    poll_until(
        lambda: httpx.get(server.url + status, headers={AUTH_HEADER: admin}).json()["status"] == "completed",
        timeout=30,
        what="the task completing",
    )
    restarted = real.restart()
    polled = httpx.get(
        f"{restarted.url}/pub/async/task/{task_id}/poll", headers={AUTH_HEADER: admin}, timeout=40
    )
    assert polled.status_code == 200 and polled.json() == 12.0


def test_websockets_and_an_in_flight_async_task_through_a_restarted_servers_pub(
    real: RealServer, tmp_path: Path
) -> None:
    server, admin = real.process, real.admin
    assert server is not None
    name = f"slow-{uuid.uuid4().hex[:6]}"
    deploy(server, admin, name, job_dir(tmp_path / "slow", SLOW_JOB, name))
    socket_path = f"/pub/job/{name}/latest/api/v1/webview/hello"
    assert ws_talk(server.url, socket_path, admin, []) == ["hello User admin", "closed 1000"]
    assert ws_talk(server.url, socket_path, "not-a-token", []) == []  # refused before the handshake

    submitted = httpx.post(
        f"{server.url}/pub/async/new/job/{name}/latest/api/v1/perform",
        json={"seconds": 5},
        headers={AUTH_HEADER: admin},
        timeout=30,
    )
    assert submitted.status_code == 201, submitted.text
    task_id = submitted.json()["task_id"]
    restarted = real.restart(grace=0)  # the server dies, and the first attempt with its gateway
    deadline = time.monotonic() + 90
    while (
        polled := httpx.get(
            f"{restarted.url}/pub/async/task/{task_id}/poll", headers={AUTH_HEADER: admin}, timeout=40
        )
    ).status_code == 202 and time.monotonic() < deadline:
        pass
    assert polled.status_code == 200 and polled.json() == "slept 5.0", polled.text
    status = httpx.get(
        f"{restarted.url}/pub/async/task/{task_id}/status", headers={AUTH_HEADER: admin}
    ).json()
    assert status["attempts"] == 2 and status["note"].startswith("retried once"), status
    with contextlib.closing(sqlite3.connect(real.data_dir / "racetrack.db")) as database:
        stored = database.execute(
            "SELECT status FROM gateway_async_tasks WHERE id = ?", (task_id,)
        ).fetchall()
    assert stored == [("completed",)]  # tasks live in the server's database
    assert not (real.data_dir / "gateway.db").exists()


def test_a_job_calls_another_through_the_real_gateway_with_its_familys_grant(
    real: RealServer, tmp_path: Path
) -> None:
    server, admin = real.process, real.admin
    assert server is not None
    suffix = uuid.uuid4().hex[:6]
    target, chain = f"mul-{suffix}", f"chain-{suffix}"
    deploy(server, admin, target)
    deploy(
        server,
        admin,
        chain,
        job_dir(tmp_path / "chain", CHAIN_JOB, chain, runtime_env={"TARGET_JOB": target}),
    )
    perform = f"{server.url}/pub/job/{chain}/latest/api/v1/perform"
    as_admin = {AUTH_HEADER: admin}

    denied = httpx.post(perform, json={"x": 6, "y": 7}, headers=as_admin, timeout=60)
    assert denied.status_code == 500, denied.text
    error = denied.json()["error"]
    assert (
        "HTTP 401" in error and f"racetrack admin grant job_family:{chain} call_job --job {target}" in error
    )
    granted = api(
        server,
        "POST",
        "/auth/grant",
        admin,
        json={"subject": f"job_family:{chain}", "scope": "call_job", "job": target},
    )
    assert granted.status_code == 200, granted.text
    answer = poll_until(
        lambda: (
            (r := httpx.post(perform, json={"x": 6, "y": 7}, headers=as_admin, timeout=60)).status_code == 200
            and r
        ),
        timeout=10,
        what="the job family's grant taking effect",
    )
    assert answer.json() == 42.0

    # a plain user has call_job on every job by default, as in Racetrack
    user = api(server, "POST", "/users", admin, json={"username": f"carol-{suffix}"}).json()["token"]
    called = httpx.post(perform, json={"x": 1, "y": 2}, headers={AUTH_HEADER: user}, timeout=60)
    assert called.status_code == 200 and called.json() == 2.0

    # a stream through /pub: NDJSON lines as the job yields them
    with httpx.stream(
        "POST",
        f"{server.url}/pub/job/{chain}/latest/api/v1/count",
        json={"n": 3},
        headers=as_admin,
        timeout=60,
    ) as streamed:
        assert streamed.status_code == 200 and streamed.headers["content-type"].startswith(
            "application/x-ndjson"
        )
        assert [json.loads(line) for line in streamed.iter_lines() if line] == [{"i": 0}, {"i": 1}, {"i": 2}]
