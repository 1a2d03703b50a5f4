"""RACETRACK_SECRET_ENV_FILE and RACETRACK_GATEWAY_TOKEN against a real server process."""

from __future__ import annotations

from pathlib import Path

import pytest

from server_process import job_server, wait_for

JOBS = Path(__file__).parent / "jobs"
ENV_JOB = ["--entrypoint-path", "env_job.py", "--root", str(JOBS)]
TOKEN_HEADER = "X-Racetrack-Gateway-Token"


@pytest.mark.parametrize("workers", ["0", "1"])
def test_secret_env_file_reaches_the_job_in_the_server_and_worker_processes(tmp_path: Path, workers: str):
    secrets = tmp_path / "secrets.env"
    secrets.write_text('# runtime secrets\nAPI_KEY="s3cr3t value"\nexport OTHER=2\n')
    env = {"RACETRACK_SECRET_ENV_FILE": str(secrets)}
    with job_server([*ENV_JOB, "--workers", workers], env) as server:
        response = server.client.post("/api/v1/perform", json={"name": "API_KEY"})
        assert response.status_code == 200 and response.json() == "s3cr3t value"
        assert server.client.post("/api/v1/perform", json={"name": "OTHER"}).json() == "2"
        assert "s3cr3t" not in server.output()


def test_missing_secret_env_file_fails_the_load_with_a_clear_error_on_live(tmp_path: Path):
    missing = tmp_path / "nowhere.env"
    with job_server(ENV_JOB, {"RACETRACK_SECRET_ENV_FILE": str(missing)}, wait_path="/metrics") as server:
        live = wait_for(server, "/live", 500)
        body = live.json()
        assert body["type"] == "load_error"
        assert str(missing) in body["error"] and "RACETRACK_SECRET_ENV_FILE" in body["error"]
        assert server.client.get("/ready").status_code == 503
        assert server.client.post("/api/v1/perform", json={"name": "X"}).status_code == 503


def test_unparsable_secret_env_file_fails_the_load_without_quoting_it(tmp_path: Path):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("API_KEY=fine\nthis line is s3cr3t garbage\n")
    with job_server(ENV_JOB, {"RACETRACK_SECRET_ENV_FILE": str(secrets)}, wait_path="/metrics") as server:
        body = wait_for(server, "/live", 500).json()
        assert "line 2" in body["error"] or ":2" in body["error"]
        assert "s3cr3t" not in body["error"] and "s3cr3t" not in server.output()


def test_gateway_token_from_the_secret_file_closes_everything_but_probes(tmp_path: Path):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("RACETRACK_GATEWAY_TOKEN=t0ken\n")
    with job_server(ENV_JOB, {"RACETRACK_SECRET_ENV_FILE": str(secrets)}) as server:
        client = server.client
        for path in ("/live", "/ready", "/health", "/metrics", "/pub/job/env_job/0.0.1/live"):
            assert client.get(path).status_code == 200, path
        refused = client.post("/api/v1/perform", json={"name": "HOME"})
        assert refused.status_code == 401
        body = refused.json()
        assert set(body) == {"error", "type", "details", "request_id"}
        assert (
            body["type"] == "unauthorized"
            and "only accepts calls through the racetrack gateway" in body["error"]
        )
        assert "t0ken" not in body["error"]
        wrong = client.post("/api/v1/perform", json={"name": "HOME"}, headers={TOKEN_HEADER: "t0kex"})
        assert wrong.status_code == 401
        for path in ("/docs", "/openapi.json", "/api/v1/parameters", "/pub/job/env_job/0.0.1/docs"):
            assert client.get(path).status_code == 401, path
        allowed = client.post(
            "/pub/job/env_job/0.0.1/api/v1/perform",
            json={"name": "RACETRACK_GATEWAY_TOKEN"},
            headers={TOKEN_HEADER: "t0ken"},
        )
        assert allowed.status_code == 200 and allowed.json() == "t0ken"
        assert client.get("/docs", headers={TOKEN_HEADER: "t0ken"}).status_code == 200
        # a browser's preflight carries no credential and runs nothing: answered, the call itself is not
        preflight = {"Origin": "https://page.example", "Access-Control-Request-Method": "POST"}
        assert client.options("/api/v1/perform", headers=preflight).status_code == 200
        refused = client.post("/api/v1/perform", json={"name": "HOME"}, headers={"Origin": "https://page.example"})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"


def test_without_a_gateway_token_the_job_is_open():
    with job_server(ENV_JOB) as server:
        assert server.client.post("/api/v1/perform", json={"name": "NOPE"}).status_code == 200
