"""The gateway in front of a real `racetrack server` with a really deployed sample (Docker): through the
server's own /pub and through a standalone `racetrack gateway --server URL`."""

from __future__ import annotations

import base64
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from gateway_helpers import run_gateway_with_secret

from racetrack.protocol import AUTH_HEADER
from server_process import ServerProcess, job_server, poll_until

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[2]


def api(
    server: ServerProcess, method: str, path: str, token: str | None = None, **kw: object
) -> httpx.Response:
    headers = {AUTH_HEADER: token} if token else {}
    return httpx.request(method, f"{server.url}/lifecycle/api/v1{path}", headers=headers, timeout=30, **kw)


def build_context(directory: Path) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=path.name)
    return base64.b64encode(buffer.getvalue()).decode()


def deploy(server: ServerProcess, token: str, name: str) -> None:
    sample = REPO / "sample" / "python-class"
    manifest = yaml.safe_load((sample / "fatman.yaml").read_text())
    manifest |= {"name": name, "git": {"remote": "https://example.invalid/team/jobs.git"}}
    payload = {
        "manifest": manifest,
        "secret_vars": {},
        "build_context": build_context(sample),
        "force": False,
    }
    response = api(server, "POST", "/deploy", token, json=payload)
    assert response.status_code == 200, response.text
    deployment = response.json()["id"]

    def finished() -> dict | None:
        state = api(server, "GET", f"/deploy/{deployment}", token).json()
        return state if state["status"] != "in_progress" else None

    state = poll_until(finished, timeout=600, what="the deployment finishing")
    assert state["status"] == "done", state


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    import sys

    base = tmp_path_factory.mktemp("real-server")
    command = (sys.executable, "-m", "racetrack", "server")
    with job_server(
        ["--data-dir", str(base / "data")], wait_path="/health", command=command, log_dir=base
    ) as s:
        s.data_dir = base / "data"  # type: ignore[attr-defined]
        probe = httpx.get(
            f"{s.url}/lifecycle/api/v1/auth/can-call-job/none/latest/api/v1/perform", timeout=10
        )
        if probe.status_code == 405 or "no route" in probe.text.lower():
            pytest.skip("this racetrack server has no can-call-job route yet")
        yield s
        for job in api(s, "GET", "/job", (base / "data" / "admin-token").read_text().strip()).json():
            api(
                s,
                "DELETE",
                f"/job/{job['name']}/{job['version']}",
                (base / "data" / "admin-token").read_text().strip(),
            )


def test_calls_through_the_servers_pub_and_a_standalone_gateway(
    server: ServerProcess, tmp_path: Path
) -> None:
    admin = (server.data_dir / "admin-token").read_text().strip()  # type: ignore[attr-defined]
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

    secret = server.data_dir / "gateway-secret"  # type: ignore[attr-defined]
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
