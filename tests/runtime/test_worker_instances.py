"""With `workers: N` the entrypoint's `__init__` runs once per worker, not in the server process too."""

from __future__ import annotations

from pathlib import Path

import httpx
from runtime_helpers import HERE

from server_process import ServerProcess, wait_for

JOB = HERE / "jobs" / "instances_job.py"
FULL_INSTANCE = "the server process instantiates the entrypoint because"


def start(server, tmp_path: Path, entrypoint_class: str, wait_path: str = "/ready") -> ServerProcess:
    env = {"INIT_LOG": str(tmp_path / "inits.log"), "LOG_LEVEL": "INFO"}
    args = ("--workers", "2", "--entrypoint-class", entrypoint_class)
    return server(*args, job=JOB, env=env, wait_path=wait_path)


def init_pids(tmp_path: Path) -> list[int]:
    return [int(line) for line in (tmp_path / "inits.log").read_text().split()]


def test_only_the_workers_run_init_when_the_surface_needs_no_state(server, tmp_path: Path):
    job = start(server, tmp_path, "LightSurface")
    pids = init_pids(tmp_path)
    assert len(pids) == 2 and job.process.pid not in pids
    assert job.client.post("/api/v1/perform", json={"x": 4}).json() == 40
    explained = job.client.post("/api/v1/explain", json={"x": 2}).json()
    assert explained["scaled"] == 20 and explained["pid"] in pids
    assert "note_init()" in job.client.get("/api/v1/source").text
    parameters = job.client.get("/api/v1/parameters").json()
    assert parameters == [{"name": "x", "type": "int"}]
    openapi = job.client.get("/openapi.json").json()
    perform = openapi["paths"]["/api/v1/perform"]["post"]
    assert "Scale x by the model's factor." in str(perform) and '"x": 3' in str(openapi).replace("'", '"')
    assert FULL_INSTANCE not in job.output()


def test_a_surface_reading_init_state_falls_back_to_a_full_instance_and_says_why(server, tmp_path: Path):
    job = start(server, tmp_path, "StatefulEndpoints")
    assert job.process.pid in init_pids(tmp_path) and len(init_pids(tmp_path)) == 3
    assert job.client.post("/api/v1/explain", json={"x": 2}).json() == "x + 1 = 3"
    lines = [line for line in job.output().splitlines() if FULL_INSTANCE in line]
    assert len(lines) == 1 and "INFO" in lines[0]
    assert "auxiliary_endpoints() failed: AttributeError" in lines[0] and "explainer" in lines[0]
    assert "in memory N+1 times" in lines[0]


def test_a_webview_is_served_by_a_full_instance_in_the_server_process(server, tmp_path: Path):
    job = start(server, tmp_path, "WithWebview")
    assert job.process.pid in init_pids(tmp_path) and len(init_pids(tmp_path)) == 3
    page = job.client.get("/api/v1/webview/")
    assert page.status_code == 200 and page.text == f"hello from {job.process.pid}"
    assert job.client.post("/api/v1/perform", json={}).json() != job.process.pid
    assert f"{FULL_INSTANCE} it defines webview_app()" in job.output()


def test_a_broken_init_shows_on_live_with_its_type_and_location(server, tmp_path: Path):
    job = start(server, tmp_path, "BrokenInit", wait_path="/metrics")
    live = wait_for(job, "/live", status=500).json()
    assert live["type"] == "load_error" and "the model file is missing" in live["error"]
    assert "BrokenInit() failed in __init__" in live["error"]
    [details] = live["details"]
    assert details["exception_type"] == "RuntimeError"
    raise_line = JOB.read_text().splitlines().index('        raise RuntimeError("the model file is missing")')
    assert details["location"] == f"{JOB}:{raise_line + 1}"
    assert httpx.get(job.url + "/ready").status_code == 503
    assert "Traceback" in job.output() and FULL_INSTANCE not in job.output()


def test_endpoints_that_change_in_init_keep_the_job_from_becoming_ready(server, tmp_path: Path):
    env = {"INIT_LOG": str(tmp_path / "inits.log")}
    args = ("--workers", "1", "--entrypoint-class", "InitEnablesEndpoints")
    job = server(*args, job=JOB, env=env, wait_path="/metrics")
    live = wait_for(job, "/live", status=500).json()
    assert live["type"] == "load_error"
    assert (
        "auxiliary_endpoints() returns ['/always'] on an instance whose __init__ has not run but"
        " ['/always', '/optional'] after __init__ in the worker process: with workers, make"
        " auxiliary_endpoints() and static_endpoints() independent of state set in __init__"
    ) in live["error"]
    assert live["details"] == [{"exception_type": "RouteMismatch", "location": None}]
    ready = httpx.get(job.url + "/ready")
    assert ready.status_code == 503 and ready.json()["error"] == live["error"]
    assert job.output().count("differ from the server process's") == 1
