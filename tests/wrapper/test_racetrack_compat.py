"""Racetrack 2.36's job shapes served unchanged (issue 11, section 2), by `racetrack run-local` or the
wrapper, checked over HTTP. The jobs under jobs/racetrack/ are written from the reference, not copied."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_process import ServerProcess, job_server, wait_for

JOBS = Path(__file__).parent / "jobs" / "racetrack"
RUN_LOCAL = (str(Path(sys.executable).parent / "racetrack"), "run-local")
ERROR_KEYS = {"error", "type", "details", "request_id"}


def run_local(name: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return job_server([str(JOBS / name)], env, command=RUN_LOCAL)


@pytest.fixture(scope="module")
def adder() -> Iterator[ServerProcess]:
    # PUB_URL set, as Racetrack's deployer sets it: the ASGI webview's base URL comes from name and version
    with run_local("adder", {"PUB_URL": "http://gateway.example:7005/pub"}) as server:
        yield server


def test_job_yaml_with_jobtype_extra_serves_perform_and_home_page(adder: ServerProcess):
    client = adder.client
    assert client.post("/api/v1/perform", json={"x": 40, "y": 2}).json() == 42
    for prefix in ("", "/pub/job/adder/1.2.3", "/pub/fatman/adder/1.2.3"):
        home = client.get(prefix + "/", follow_redirects=False)
        assert home.status_code == 307 and home.headers["location"] == prefix + "/api/v1/webview/"
    assert client.get("/pub/job/adder/1.2.3/", follow_redirects=True).json()["page"] == "home"


def test_error_message_is_the_exception_message_verbatim(adder: ServerProcess):
    bad = adder.client.post("/api/v1/perform", json={"x": -1, "y": 1})
    assert bad.status_code == 400 and bad.json()["error"] == "nope"
    assert bad.json()["details"] == [{"endpoint": "/api/v1/perform", "exception_type": "ValueError"}]
    failed = adder.client.post("/api/v1/perform", json={"x": 1, "y": -1})
    assert failed.status_code == 500 and failed.json()["error"] == "unlucky"
    assert "/api/v1/perform" in adder.output()  # the endpoint goes to the log


def test_v2_auxiliary_endpoints_get_with_path_parameter_and_post(adder: ServerProcess):
    client = adder.client
    assert client.get("/api/v1/multiply/3", params={"x": 2.5}).json() == 7.5
    assert client.get("/pub/job/adder/latest/api/v1/multiply/4").json() == 4.0
    assert client.post("/api/v1/memory", json={"amount": "100Mi"}).json() == {"quantity": "100Mi"}
    invalid = client.get("/api/v1/multiply/three")
    assert invalid.status_code == 422 and set(invalid.json()) == ERROR_KEYS
    assert invalid.json()["details"][0]["loc"] == ["path", "factor"]
    refused = client.post("/api/v1/memory", json={"amount": "boom"})
    assert refused.status_code == 400 and refused.json()["error"] == "bad amount"
    wrong_method = client.post("/api/v1/multiply/3")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
    assert client.put("/api/v1/ignored").status_code == 404  # only GET and POST, as in Racetrack
    document = client.get("/openapi.json").json()
    assert "get" in document["paths"]["/api/v1/multiply/{factor}"]
    assert "post" in document["paths"]["/api/v1/memory"]
    metrics = client.get("/metrics").text
    assert 'endpoint_requests_started_total{endpoint="/multiply/{factor}"}' in metrics


def test_to_json_objects_in_an_auxiliary_endpoints_result(adder: ServerProcess):
    answer = adder.client.post("/api/v1/quantity", json={"text": "5 kg"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"quantity": "5 kg", "several": ["5 kg", "1 g"]}


def test_fastapi_webview_routes_relative_to_its_mount(adder: ServerProcess):
    client = adder.client
    page = client.get("/api/v1/webview/").json()
    assert page == {"page": "home", "base_url": "/pub/job/adder/1.2.3/api/v1/webview"}
    assert client.get("/pub/job/adder/1.2.3/api/v1/webview/items/x1").json() == {"item": "x1"}


def test_health_live_and_metrics_in_racetrack_terms(adder: ServerProcess):
    client = adder.client
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["service"] == "job" and body["job_name"] == "adder" and body["job_version"] == "1.2.3"
    assert {"git_version", "deployed_by_racetrack_version", "deployment_timestamp"} <= set(body)
    assert "deployment_timestamp" in client.get("/live").json()
    client.post("/api/v1/perform", json={"x": 1, "y": 1})
    metrics = client.get("/metrics").text
    for name in (
        "requests_started_total",
        "requests_done_total",
        'endpoint_requests_started_total{endpoint="/perform"}',
        'request_internal_errors_total{endpoint="/perform"}',
        'request_duration_bucket{endpoint="/perform",le="+Inf"}',
        "last_call_timestamp",
    ):
        assert name in metrics, name
    docs = client.get("/docs").text
    assert "<title>adder 1.2.3 - Swagger UI</title>" in docs


def test_failed_load_names_the_cause_and_health_answers_500(tmp_path: Path):
    code = "import no_such_module_here\n\n\nclass Job:\n    def perform(self):\n        pass\n"
    (tmp_path / "job.py").write_text(code)
    args = ["--entrypoint-path", "job.py", "--root", str(tmp_path)]
    with job_server(args, wait_path="/metrics") as server:
        live = wait_for(server, "/live", 500).json()
        assert "cause=ModuleNotFoundError" in live["error"] and "job.py:1" in live["error"]
        health = server.client.get("/health")
        assert health.status_code == 500 and health.json()["status"] == "fail"


def test_flask_webview_works_with_pub_url_set():
    with run_local("flask-ui", {"PUB_URL": "http://gateway.example:7005/pub"}) as server:
        page = server.client.get("/api/v1/webview/")
        assert page.status_code == 200, page.text
        assert 'href="/pub/job/flask-ui/0.0.1/api/v1/webview/static/style.css"' in page.text
        echoed = server.client.post("/pub/job/flask-ui/0.0.1/api/v1/webview/postme", json={"a": 1})
        assert echoed.json() == {"hello": {"a": 1}}


def test_call_job_goes_through_pub_url_with_the_token_tracing_id_and_caller(adder: ServerProcess):
    # the callee answers under /pub/job/{name}/{version}/, so it stands in for the gateway here
    with run_local("caller") as callee:
        env = {"PUB_URL": f"{callee.url}/pub", "AUTH_TOKEN": "family-token", "JOB_NAME": "caller"}
        with run_local("caller", env) as caller:
            seen = caller.client.post(
                "/api/v1/relay",
                json={"job": "caller"},
                headers={"X-Request-Tracing-Id": "trace-42", "X-Caller-Name": "User alice"},
            ).json()
            assert seen == {
                "x-racetrack-auth": "family-token",
                "x-request-tracing-id": "trace-42",
                "x-caller-name": "User alice",
            }
            adder_env = {**env, "PUB_URL": f"{adder.url}/pub"}
            with run_local("caller", adder_env) as via_adder:
                total = via_adder.client.post("/api/v1/perform", json={"job": "adder", "x": 1, "y": 2})
                assert total.json() == 3
                missing = via_adder.client.post("/api/v1/perform", json={"job": "nobody", "x": 1, "y": 2})
                assert missing.status_code == 500
                assert 'failed to call job "nobody 1.2.3" by caller' in missing.json()["error"]


def test_racetrack_job_wrapper_names_import():
    import racetrack_job_wrapper
    from racetrack_job_wrapper.entrypoint import JobEntrypoint

    assert {"call_job", "EndpointConfig", "JobEntrypoint"} <= set(racetrack_job_wrapper.__all__)
    assert JobEntrypoint.__abstractmethods__ == frozenset({"perform"})
    assert httpx  # the client used above
