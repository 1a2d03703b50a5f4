"""Synchronous calls through a real gateway process to real wrapper jobs; a fake control plane authorizes."""

from __future__ import annotations

import shutil
import subprocess

import httpx
from fake_control_plane import Subject
from gateway_helpers import ADMIN, ALICE, BOB, CHAIN, Stack, ws_talk

from server_process import poll_until

PERFORM = "/pub/job/adder/latest/api/v1/perform"


def auth(token: str) -> dict[str, str]:
    return {"X-Racetrack-Auth": token}


def test_no_token_is_401_in_pubs_shape(stack: Stack) -> None:
    response = stack.gateway.client.post(PERFORM, json={"x": 1, "y": 2})
    assert response.status_code == 401
    body = response.json()
    assert body["error"].startswith("Proxy request error: Unauthenticated")
    assert "missing auth token" in body["error"]
    assert body["requestId"] == response.headers["x-request-tracing-id"]


def test_allowed_token_calls_latest_version(stack: Stack) -> None:
    client = stack.gateway.client
    response = client.post(PERFORM, json={"x": 1, "y": 2}, headers=auth(ALICE))
    assert response.status_code == 200 and response.json() == 3
    fatman = client.post(
        "/pub/fatman/adder/latest/api/v1/perform", json={"x": 1, "y": 2}, headers=auth(ALICE)
    )
    assert fatman.status_code == 200 and fatman.json() == 3  # the fatman-era path too
    for version, expected in (("1.x", "1.2.0"), ("1.0.0", "1.0.0"), ("latest", "1.2.0")):
        health = client.get(f"/pub/job/adder/{version}/health")
        assert health.status_code == 200 and health.json()["version"] == expected


def test_cookie_token_works_and_is_not_forwarded(stack: Stack) -> None:
    client = httpx.Client(base_url=stack.gateway.url)
    response = client.post(
        "/pub/job/adder/latest/api/v1/whoami",
        json={},
        headers={"Cookie": f"X-Racetrack-Auth={ALICE}; theme=dark", "X-Request-Tracing-Id": "trace-42"},
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["x-racetrack-auth"] is None and seen["cookie"] == "theme=dark"
    assert seen["x-caller-name"] == "User alice"
    assert seen["x-request-tracing-id"] == "trace-42" == response.headers["x-request-tracing-id"]
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["gateway_token"] is True
    assert seen["x-forwarded-host"].startswith("127.0.0.1:")


def test_generated_tracing_id_is_echoed(stack: Stack) -> None:
    response = stack.gateway.client.post("/pub/job/adder/latest/api/v1/whoami", json={}, headers=auth(ALICE))
    assert len(response.headers.get_list("date")) == 1 and "server" not in response.headers
    assert response.json()["x-request-tracing-id"] == response.headers["x-request-tracing-id"]
    assert len(response.headers["x-request-tracing-id"]) == 32


def test_token_without_permission_is_401_naming_it(stack: Stack) -> None:
    response = stack.gateway.client.post(PERFORM, json={"x": 1, "y": 2}, headers=auth(BOB))
    assert response.status_code == 401
    error = response.json()["error"]
    assert 'auth subject "User bob" does not have permission' in error and '"call_job"' in error
    assert "/api/v1/perform" in error and "adder v1.2.0" in error


def test_unknown_job_is_404(stack: Stack) -> None:
    response = stack.gateway.client.get("/pub/job/nope/latest/api/v1/perform", headers=auth(ALICE))
    assert response.status_code == 404
    assert (
        response.json()["error"] == "Proxy request error: Job was not found: job nope latest does not exist"
    )


def test_public_endpoint_needs_no_token_for_that_version_only(stack: Stack) -> None:
    client = stack.gateway.client
    assert client.post("/pub/job/adder/1.2.0/api/v1/pid", json={}).status_code == 200
    assert client.post("/pub/job/adder/1.0.0/api/v1/pid", json={}).status_code == 401


def test_direct_call_to_the_job_is_refused(stack: Stack) -> None:
    job = stack.jobs["1.2.0"][0]
    assert job.client.post("/api/v1/perform", json={"x": 1, "y": 2}).status_code in (401, 403)


def test_round_robin_over_replicas(stack: Stack) -> None:
    client = stack.gateway.client
    pids = {
        client.post("/pub/job/adder/1.2.0/api/v1/pid", json={}, headers=auth(ALICE)).json() for _ in range(6)
    }
    assert len(pids) == 2


def test_dead_replica_is_retried_on_another(stack: Stack) -> None:
    client = stack.gateway.client
    for _ in range(4):  # whichever replica the turn starts at
        response = client.post(
            "/pub/job/flaky/latest/api/v1/perform", json={"x": 2, "y": 2}, headers=auth(BOB)
        )
        assert response.status_code == 200 and response.json() == 4


def test_no_live_replica_is_502_with_job_status(stack: Stack) -> None:
    response = stack.gateway.client.post("/pub/job/dead/latest/api/v1/perform", json={}, headers=auth(ALICE))
    assert response.status_code == 502
    body = response.json()
    assert body["error"].startswith("Reverse proxy error: connection refused to a target job")
    assert (body["jobName"], body["jobVersion"], body["jobStatus"]) == ("dead", "0.1.0", "running")
    assert body["caller"] == "User alice" and body["requestId"]


def test_slow_job_is_504(stack: Stack) -> None:
    response = stack.gateway.client.post(
        "/pub/job/adder/latest/api/v1/slow", json={"seconds": 4}, headers=auth(ALICE)
    )
    assert response.status_code == 504
    assert "did not answer within the gateway's timeout of 2 s" in response.json()["error"]


def test_stream_reaches_the_caller_as_produced(stack: Stack) -> None:
    flag = stack.tmp / "stream-flag"
    with stack.gateway.client.stream(
        "POST", "/pub/job/adder/latest/api/v1/stream", json={"flag": str(flag)}, headers=auth(ALICE)
    ) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == '"first"'
        flag.touch()  # the job produces the second item only now: a buffering gateway would get "buffered"
        assert next(lines) == '"second"'


def test_redirects_stay_under_pub(stack: Stack) -> None:
    client = stack.gateway.client
    root = client.get("/pub/job/adder/latest/", headers=auth(ALICE))
    assert root.status_code == 307 and root.headers["location"] == "/pub/job/adder/1.2.0/docs"
    bare = client.get("/pub/job/adder/latest", headers=auth(ALICE))
    assert bare.status_code == 307 and bare.headers["location"].startswith("/pub/job/adder/1.2.0/")


def test_webview_page(stack: Stack) -> None:
    page = stack.gateway.client.get("/pub/job/adder/latest/api/v1/webview/", headers=auth(ALICE))
    assert page.status_code == 200 and "/adder/1.2.0/api/v1/webview</p>" in page.text


def test_websocket_through_pub(stack: Stack) -> None:
    got = ws_talk(stack.gateway.url, "/pub/job/ws/latest/socket", BOB, ["abc", "bye"])
    assert got == ["hello User bob", "ABC", "closed 1000"]
    refused = ws_talk(stack.gateway.url, "/pub/job/ws/latest/socket", "bad-token", [])
    assert refused == [] or refused[-1].startswith("closed")


def test_websocket_through_pub_to_a_wrapper_webview(stack: Stack) -> None:
    path = "/pub/job/wsjob/latest/api/v1/webview/echo"
    got = ws_talk(stack.gateway.url, path, BOB, ["abc", "bye"])
    assert got == ["hello User bob at /pub/job/wsjob/2.0.0/api/v1/webview", "ABC", "closed 1000"]
    assert ws_talk(stack.gateway.url, path, "bad-token", ["abc"]) == []  # refused before the handshake
    # the job refuses a websocket that did not come through the gateway (no gateway credential)
    job = stack.control.state.jobs["wsjob"]["2.0.0"][0]
    assert ws_talk(job, "/pub/job/wsjob/2.0.0/api/v1/webview/echo", BOB, ["abc"]) == []


def test_websocket_frames_sent_with_the_handshake_answer_reach_the_caller(stack: Stack) -> None:
    assert ws_talk(stack.gateway.url, "/pub/job/burst/latest/socket", BOB, []) == ["hello", "closed 1000"]


def test_decisions_are_cached_and_revocation_applies_within_5_s(stack: Stack) -> None:
    client, state = stack.gateway.client, stack.control.state
    state.tokens["carol-token"] = Subject("User carol", {"adder"})
    before = state.asked
    for _ in range(20):
        assert client.post(PERFORM, json={"x": 1, "y": 1}, headers=auth("carol-token")).status_code == 200
    assert state.asked - before <= 2  # 20 calls, one (or two, across a TTL edge) control-plane question
    del state.tokens["carol-token"]
    poll_until(
        lambda: client.post(PERFORM, json={"x": 1, "y": 1}, headers=auth("carol-token")).status_code == 401,
        timeout=5,
        what="a revoked token being refused",
    )


def test_metrics(stack: Stack) -> None:
    stack.gateway.client.post(PERFORM, json={"x": 1, "y": 2}, headers=auth(ALICE))
    stack.gateway.client.post(PERFORM, json={"x": 1, "y": 2})  # refused: counted as a denial
    text = stack.gateway.client.get("/pub/metrics").text
    assert (
        'racetrack_gateway_calls_total{endpoint="/api/v1/perform",job="adder",status="200",version="1.2.0"}'
        in text
    )
    assert 'racetrack_gateway_auth_denials_total{job="adder",reason="unauthenticated"}' in text
    assert 'racetrack_gateway_job_replicas{job="adder",version="1.2.0"} 2.0' in text
    assert "racetrack_gateway_call_duration_seconds_bucket" in text
    assert 'racetrack_gateway_async_tasks{state="ongoing"}' in text
    # Pub's names, for dashboards built on Racetrack's gateway
    assert 'pub_job_proxy_response_codes{job_name="adder",job_version="1.2.0",status_code="200"}' in text
    histogram = "pub_job_call_response_time_histogram"
    assert f'{histogram}_bucket{{job_name="adder",job_version="1.2.0",le="0.001"}}' in text
    assert "pub_auth_successful " in text and "pub_auth_failed " in text
    promtool = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "metrics"], input=text.encode(), capture_output=True
    )
    # promtool's only complaint is about Pub's own name, kept as Pub spells it for its dashboards
    complaints = [
        line
        for line in promtool.stderr.decode().splitlines()
        if line and line != f"{histogram} metric name should not include type 'histogram'"
    ]
    assert promtool.returncode in (0, 3) and not complaints and not promtool.stdout.strip(), promtool


def test_openapi_declares_the_errors(stack: Stack) -> None:
    document = stack.gateway.client.get("/pub/openapi.json").json()
    responses = document["paths"]["/pub/job/{name}/{version}/{path}"]["post"]["responses"]
    assert {"401", "404", "502", "504"} <= set(responses)


def test_request_body_streams_in(stack: Stack) -> None:
    def chunks():
        yield b'{"x": 4'
        yield b', "y": 5}'

    response = stack.gateway.client.post(
        PERFORM, content=chunks(), headers={**auth(ALICE), "Content-Type": "application/json"}
    )
    assert response.status_code == 200 and response.json() == 9


def test_head_and_gateway_probes(stack: Stack) -> None:
    client = stack.gateway.client
    head = client.head("/pub/job/adder/latest/health")
    assert head.status_code in (200, 405)  # whatever the job answers, relayed without a body
    assert client.get("/pub/health").json()["database_connected"] is True
    assert client.get("/pub/nothing").status_code == 404
    assert client.get("/pub/job/adder").status_code == 404


def test_job_to_job_call_needs_the_familys_grant(stack: Stack) -> None:
    client, state = stack.gateway.client, stack.control.state
    chain = "/pub/job/chain/latest/api/v1/perform"
    denied = client.post(chain, json={"x": 2, "y": 3}, headers=auth(ALICE))
    assert denied.status_code == 500
    error = denied.json()["error"]
    assert 'failed to call job "adder 1.x" by chain: HTTP 401' in error
    assert 'auth subject \\"Job family chain\\" does not have permission' in error  # JSON inside the message
    assert 'scope \\"call_job\\"' in error
    state.tokens[CHAIN].jobs.add("adder")  # the admin grants job_family:chain call_job on adder
    answered = poll_until(
        lambda: (
            (r := client.post(chain, json={"x": 2, "y": 3}, headers=auth(ALICE))).status_code == 200 and r
        ),
        timeout=5,
        what="the grant taking effect",
    )
    assert answered.json() == 5
    seen = client.post(
        "/pub/job/chain/latest/api/v1/trace",
        json={},
        headers={**auth(ALICE), "X-Request-Tracing-Id": "chain-7"},
    ).json()
    assert seen["x-request-tracing-id"] == "chain-7"  # the tracing id passes along the chain
    assert seen["x-caller-name"] == "Job family chain"  # the gateway names who really called


def test_job_to_job_calls_awaited_and_through_the_async_api(stack: Stack) -> None:
    client = stack.gateway.client
    stack.control.state.tokens[CHAIN].jobs.add("adder")
    headers = {**auth(ALICE), "X-Request-Tracing-Id": "chain-8"}
    awaited = poll_until(
        lambda: (
            (r := client.post("/pub/job/chain/latest/api/v1/awaited", json={"x": 2, "y": 5}, headers=headers))
            .status_code == 200 and r
        ),
        timeout=5,
        what="the grant taking effect",
    ).json()
    assert awaited["total"] == 7
    assert awaited["seen"]["x-request-tracing-id"] == "chain-8"
    assert awaited["seen"]["x-caller-name"] == "Job family chain"

    queued = "/pub/job/chain/latest/api/v1/queued"
    total = client.post(queued, json={"path": "/api/v1/perform", "body": {"x": 4, "y": 4}}, headers=headers)
    assert total.status_code == 200 and total.json() == 8, total.text
    # still running when first polled (the stack's gateway gives the outer call 2 s in all)
    late = client.post(queued, json={"path": "/api/v1/slow", "body": {"seconds": 0.6}}, headers=headers)
    assert late.status_code == 200 and late.json() == "late", late.text
    invalid = client.post(queued, json={"path": "/api/v1/perform", "body": {"x": "a"}}, headers=headers)
    assert invalid.status_code == 500
    error = invalid.json()["error"]
    assert error.startswith('failed to call job "adder 1.x" by chain asynchronously: HTTP 422'), error
    body = {"path": "/api/v1/slow", "body": {"seconds": 3}, "timeout": 0.5}
    overdue = client.post(queued, json=body, headers=headers)
    error = overdue.json()["error"]
    assert overdue.status_code == 500 and "did not finish within 0.5 s; it was cancelled" in error
    task_id = error.split("task ", 1)[1].split(" ", 1)[0]
    status = client.get(f"/pub/async/task/{task_id}/status", headers=auth(ADMIN)).json()
    assert status["status"] == "cancelled", status  # nobody waits for it: it does not run on


def test_a_page_on_another_origin_calls_with_its_token_never_with_cookies(stack: Stack) -> None:
    client = stack.gateway.client
    page = {"Origin": "https://dashboard.example"}
    asking = {
        **page,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-racetrack-auth",
    }
    for path in (PERFORM, "/pub/async/new/job/adder/latest/api/v1/perform"):
        preflight = client.options(path, headers=asking)  # carries no token: the gateway answers it
        assert preflight.status_code == 200, (path, preflight.text)
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert preflight.headers["access-control-allow-headers"] == "x-racetrack-auth"
        assert "access-control-allow-credentials" not in preflight.headers
    called = client.post(PERFORM, json={"x": 1, "y": 2}, headers={**page, **auth(ALICE)})
    assert called.json() == 3 and called.headers["access-control-allow-origin"] == "*"
    refused = client.post(PERFORM, json={"x": 1, "y": 2}, headers=page)
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    assert client.get("/pub/live", headers=page).headers["access-control-allow-origin"] == "*"
    same_origin = client.post(PERFORM, json={"x": 1, "y": 2}, headers=auth(ALICE))
    assert "access-control-allow-origin" not in same_origin.headers
