"""Loading behaviour of a real server process: answers at once, reports load failures, keeps serving."""

from __future__ import annotations

from pathlib import Path

from wrapper_helpers import write_job

from server_process import job_server, wait_for

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
        assert client.get("/live").json() == {"live": True, "ready": False}
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
    with job_server(args, wait_path="/health") as server:
        live = wait_for(server, "/live", status=500)
        body = live.json()
        assert body["type"] == "load_error" and "JSONDecodeError" in body["error"]
        assert body["details"] == [
            {"exception_type": "JSONDecodeError", "location": f"{tmp_path / 'entrypoint.py'}:5"}
        ]
        assert server.client.get("/ready").status_code == 503
        assert "Traceback (most recent call last)" in server.output()
