"""Loading behaviour of a real server process: answers at once, reports load failures, keeps serving."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from wrapper_helpers import SAMPLES, write_job

from server_process import WRAPPER_RUN, job_server, wait_for

SLOW_INIT_JOB = """
import pathlib, time

class SlowModel:
    def __init__(self):
        while not pathlib.Path("release").exists():  # relative: the working directory is the job root
            time.sleep(0.05)

    def perform(self, x: int) -> int:
        return x + 1
"""


def test_server_answers_while_init_runs_then_becomes_ready(tmp_path: Path) -> None:
    write_job(tmp_path, SLOW_INIT_JOB)
    args = ["--entrypoint-path", "entrypoint.py", "--root", str(tmp_path), "--name", "slow"]
    with job_server(args, wait_path="/live") as server:
        client = server.client
        assert client.get("/live").json() == {"live": True, "ready": False, "deployment_timestamp": None}
        assert client.get("/ready").status_code == 503
        busy = client.post("/api/v1/perform", json={"x": 1})
        assert busy.status_code == 503 and busy.json()["type"] == "not_ready"
        (tmp_path / "release").touch()
        wait_for(server, "/ready")
        assert client.post("/api/v1/perform", json={"x": 1}).json() == 2
        assert client.post("/pub/fatman/slow/9.9/api/v1/perform", json={"x": 2}).json() == 3


def test_failed_load_reports_type_and_location_and_logs_traceback(tmp_path: Path) -> None:
    write_job(
        tmp_path,
        "import json\n\nclass Broken:\n    def __init__(self):\n        json.loads('{')\n\n"
        "    def perform(self):\n        return 1\n",
    )
    args = ["--entrypoint-path", "entrypoint.py", "--root", str(tmp_path)]
    with job_server(args, wait_path="/metrics") as server:
        live = wait_for(server, "/live", status=500)
        body = live.json()
        assert body["type"] == "load_error" and "JSONDecodeError" in body["error"]
        assert body["details"] == [
            {"exception_type": "JSONDecodeError", "location": f"{tmp_path / 'entrypoint.py'}:5"}
        ]
        assert server.client.get("/ready").status_code == 503
        assert "Traceback (most recent call last)" in server.output()


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command expected to fail at once (without listening: the timeout only stops a bad one)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


RUN_LOCAL = [str(Path(sys.executable).with_name("racetrack")), "run-local", str(SAMPLES / "python-class")]
WRAPPER = [*WRAPPER_RUN, "--manifest", str(SAMPLES / "python-class" / "fatman.yaml")]


@pytest.mark.parametrize("command", [RUN_LOCAL, WRAPPER], ids=["run-local", "wrapper-run"])
def test_port_out_of_range_is_refused(command: list[str]) -> None:
    result = _run([*command, "--port", "99999"])
    assert result.returncode == 2 and "--port" in result.stderr and "65535" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [RUN_LOCAL, WRAPPER], ids=["run-local", "wrapper-run"])
def test_port_in_use_is_a_clear_error(command: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run([*command, "--host", "127.0.0.1", "--port", str(port)])
    assert result.returncode == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use; pass --port" in result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr
