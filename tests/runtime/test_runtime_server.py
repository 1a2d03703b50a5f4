"""Issue 4's runtime behaviours through the real wrapper server (`python -m racetrack.wrapper run`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
from runtime_helpers import HERE, cpu_seconds

from server_process import ServerProcess, calls_executing, poll_until, wait_for


def post(url: str, payload: dict, **options) -> httpx.Response:
    return httpx.post(url, json=payload, timeout=options.pop("timeout", 30), **options)


def test_calls_beyond_concurrency_and_queue_get_429_with_retry_after(server):
    job = server("--max-concurrency", "2", "--max-queue", "3")
    calls = 2 + 3 + 1
    with ThreadPoolExecutor(calls) as pool:
        responses = list(
            pool.map(lambda _: post(job.url + "/api/v1/perform", {"seconds": 1.5}), range(calls))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429]
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert body["type"] == "overloaded" and "max_queue" in body["error"]
    assert body["request_id"] == refused.headers["x-request-tracing-id"]
    metrics = httpx.get(job.url + "/metrics").text
    assert "fatman_calls_rejected_total 1.0" in metrics


def _worker_pids(url: str) -> list[int]:
    """Pids of the loaded worker processes, from the job's own metrics() aggregated across workers."""
    metrics = httpx.get(url + "/metrics").text
    return [int(float(pid)) for pid in re.findall(r'^runtime_job_pid\{worker="\d+"\} (\S+)$', metrics, re.M)]


def test_timed_out_worker_is_killed_so_its_cpu_time_stops_and_the_job_keeps_serving(server):
    job = server("--workers", "2", "--request-timeout", "2")
    before = set(_worker_pids(job.url))
    started = {pid: cpu_seconds(pid) or 0 for pid in before}
    with ThreadPoolExecutor(1) as pool:
        spinning = pool.submit(post, job.url + "/api/v1/spin", {"seconds": 60})
        burning = poll_until(
            lambda: [pid for pid in before if (cpu_seconds(pid) or 0) - started[pid] > 0.5],
            10,
            "a worker burning CPU",
        )
        response = spinning.result()
    assert response.status_code == 504
    assert response.json()["type"] == "timeout" and "killed" in response.json()["error"]
    # the worker that ran it was killed: its CPU time stops growing (it is gone within moments)
    assert len(burning) == 1
    deadline = time.monotonic() + 5
    while cpu_seconds(burning[0]) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cpu_seconds(burning[0]) is None
    deadline = time.monotonic() + 20
    while len(_worker_pids(job.url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    after = set(_worker_pids(job.url))
    assert len(after) == 2 and len(before - after) == 1
    for pid in after:
        first = cpu_seconds(pid)
        time.sleep(0.5)
        assert cpu_seconds(pid) - first < 0.2  # idle: nothing left spinning
    # ... while the job keeps serving
    assert post(job.url + "/api/v1/perform", {}).status_code == 200


def test_in_process_sync_call_past_its_deadline_gets_504_saying_it_cannot_be_stopped(server):
    job = server("--request-timeout", "0.5")
    response = post(job.url + "/api/v1/perform", {"seconds": 2})
    assert response.status_code == 504
    body = response.json()
    assert (
        body["type"] == "timeout"
        and "cannot be stopped" in body["error"]
        and "set jobtype_extra.workers >= 1 in the job manifest" in body["error"]
    )
    assert body["request_id"] == response.headers["x-request-tracing-id"]
    metrics = httpx.get(job.url + "/metrics").text
    assert "fatman_abandoned_calls_total 1.0" in metrics and "fatman_call_timeouts_total 1.0" in metrics


def test_worker_that_dies_fails_only_its_call_and_is_replaced(server):
    job = server("--workers", "2")
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(post, job.url + "/api/v1/perform", {"seconds": 1.0})
        poll_until(lambda: calls_executing(job.url) >= 1, 10, "the slow call starting")
        crashed = post(job.url + "/api/v1/crash", {"code": 7})
        assert slow.result().status_code == 200
    assert crashed.status_code == 500
    assert crashed.json()["type"] == "worker_died" and "exit code 7" in crashed.json()["error"]
    # a worker killed from outside (as the OOM killer would) is replaced too
    victim = _worker_pids(job.url)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while (victim in _worker_pids(job.url) or len(_worker_pids(job.url)) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert victim not in _worker_pids(job.url) and len(_worker_pids(job.url)) == 2
    pids = {post(job.url + "/api/v1/perform", {}).json() for _ in range(4)}
    assert victim not in pids
    assert 'fatman_worker_restarts_total{reason="crash"} 2.0' in httpx.get(job.url + "/metrics").text


@contextlib.contextmanager
def _sigterm_during_call(job: ServerProcess, seconds: float) -> Iterator[Future]:
    """Start a call lasting `seconds`, SIGTERM the server once it executes; yields the call."""
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(post, job.url + "/api/v1/perform", {"seconds": seconds})
        poll_until(lambda: calls_executing(job.url) >= 1, 10, "the call starting")
        job.process.send_signal(signal.SIGTERM)
        yield call


def test_sigterm_lets_the_call_in_flight_finish_refuses_new_ones_and_exits_0(server):
    job = server("--shutdown-grace", "10")
    with _sigterm_during_call(job, seconds=2) as slow:
        ready = wait_for(job, "/ready", 503, timeout=10)
        refused = post(job.url + "/api/v1/perform", {})
        assert slow.result().status_code == 200
    assert ready.status_code == 503
    assert refused.status_code == 503 and refused.json()["type"] == "shutting_down"
    assert job.process.wait(10) == 0


def test_grace_period_end_stops_at_once_with_exit_0(server):
    job = server("--shutdown-grace", "0.5")
    with _sigterm_during_call(job, seconds=20) as slow:
        assert job.process.wait(10) == 0
        with contextlib.suppress(httpx.TransportError):
            assert slow.result().status_code != 200
    assert "still in flight" in job.output()


def _stream_lines(url: str, payload: dict, headers: dict | None = None) -> tuple[httpx.Response, list[str]]:
    with httpx.stream("POST", url, json=payload, headers=headers, timeout=30) as response:
        return response, [line for line in response.iter_lines() if line]


def test_generator_streams_ndjson_and_sse_in_process_and_in_workers(server):
    for options in ((), ("--workers", "1")):
        job = server(*options)
        response, lines = _stream_lines(job.url + "/api/v1/count", {"n": 3})
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line) for line in lines] == [{"i": 0}, {"i": 1}, {"i": 2}]
        response, lines = _stream_lines(job.url + "/api/v1/acount", {"n": 2}, {"accept": "text/event-stream"})
        assert response.headers["content-type"].startswith("text/event-stream")
        assert lines == ["data: 0", "data: 1"]
        # an exception mid-stream ends it with an error record in the standard shape
        response, lines = _stream_lines(job.url + "/api/v1/count", {"n": 5, "fail_at": 2})
        error = json.loads(lines[-1])
        assert [json.loads(line) for line in lines[:2]] == [{"i": 0}, {"i": 1}]
        assert error["type"] == "bad_request" and "cannot count past 2" in error["error"]
        assert error["request_id"] == response.headers["x-request-tracing-id"]
        _, lines = _stream_lines(
            job.url + "/api/v1/count", {"n": 5, "fail_at": 1}, {"accept": "text/event-stream"}
        )
        assert (
            lines[-2] == "event: error"
            and json.loads(lines[-1].removeprefix("data: "))["type"] == "bad_request"
        )


def test_stream_stops_pulling_when_the_client_leaves(server, tmp_path: Path):
    for options in ((), ("--workers", "1")):
        job = server(*options)
        marker = tmp_path / f"closed-{len(options)}"
        payload = {"n": 1000, "pause": 0.05, "marker": str(marker)}
        with httpx.stream("POST", job.url + "/api/v1/count", json=payload, timeout=30) as response:
            next(response.iter_lines())
        deadline = time.monotonic() + 10
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # the job creates the file, then writes it: wait for the text
        assert marker.read_text() == "closed"  # the generator's finally ran: it was closed early


def _disconnect_after_sending(url: str, payload: dict) -> None:
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(payload).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /api/v1/nap HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        poll_until(lambda: calls_executing(url) >= 1, 10, "the call starting")


def test_async_call_is_cancelled_when_the_client_disconnects(server, tmp_path: Path):
    for options in ((), ("--workers", "1")):
        job = server(*options)
        marker = tmp_path / f"cancelled-{len(options)}"
        _disconnect_after_sending(job.url, {"seconds": 30, "marker": str(marker)})
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text() == "cancelled"
        while "fatman_calls_executing 0.0" not in httpx.get(job.url + "/metrics").text:
            assert time.monotonic() < deadline, "the cancelled call never gave its slot back"
            time.sleep(0.05)
        # the (only) worker is free again at once, not after the 30 s nap
        assert post(job.url + "/api/v1/nap", {"seconds": 0}, timeout=5).json() == "rested"


def test_user_code_reads_the_current_request_in_a_worker_process(server):
    job = server("--workers", "1")
    response = post(job.url + "/api/v1/whoami?lang=en", {}, headers={"User-Agent": "tester/2"})
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["pid"] != job.process.pid  # served by the worker process
    assert (seen["method"], seen["agent"], seen["query"]) == ("POST", "tester/2", {"lang": "en"})
    assert seen["url"] == job.url + "/api/v1/whoami?lang=en" and seen["client"] == "127.0.0.1"


def test_request_ids_in_responses_error_bodies_and_structured_logs(server):
    for options in ((), ("--workers", "1")):
        job = server(*options, env={"LOG_STRUCTURED": "true", "LOG_LEVEL": "INFO"})
        ok = post(job.url + "/api/v1/perform", {}, headers={"X-Request-Tracing-Id": "trace-ok-1"})
        assert ok.headers["x-request-tracing-id"] == "trace-ok-1"
        generated = post(job.url + "/api/v1/perform", {})
        assert len(generated.headers["x-request-tracing-id"]) >= 16
        failed = post(job.url + "/api/v1/count", {"n": "x"}, headers={"X-Request-Tracing-Id": "trace-bad-2"})
        assert failed.status_code >= 400
        assert failed.headers["x-request-tracing-id"] == "trace-bad-2"
        assert failed.json()["request_id"] == "trace-bad-2"
        job.stop()
        records = [json.loads(line) for line in job.output().splitlines() if line.startswith("{")]
        assert all({"time", "lvl", "logger", "msg", "tracing_id"} <= set(r) for r in records)  # Racetrack's
        user_line = [r for r in records if r["logger"] == "runtime_job" and r["tracing_id"] == "trace-ok-1"]
        assert user_line, "the job's own log line carries the caller's request id"
        access = [r for r in records if r["logger"] == "racetrack.access" and r["tracing_id"] == "trace-ok-1"]
        assert access and access[0]["status"] == 200 and access[0]["path"] == "/api/v1/perform"
        assert not [r for r in records if r.get("path") == "/ready" and r["status"] == 200], "passing probes"


def test_bodies_over_the_limit_get_413_before_being_read(server):
    job = server("--max-body-bytes", "1000")
    big = {"seconds": 0, "padding": "x" * 2000}
    declared = post(job.url + "/api/v1/perform", big)
    assert declared.status_code == 413 and declared.json()["type"] == "payload_too_large"

    def chunks():
        yield b'{"seconds": 0, "padding": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    chunked = httpx.post(job.url + "/api/v1/perform", content=chunks(), timeout=30)
    assert chunked.status_code == 413
    # a single chunk over the limit (well under the server's 64 KiB read buffer) is refused too
    one_chunk = b'{"seconds": 0, "padding": "' + b"x" * 5000 + b'"}'
    oversized = httpx.post(job.url + "/api/v1/perform", content=iter([one_chunk]), timeout=30)
    assert oversized.status_code == 413 and oversized.json()["type"] == "payload_too_large"
    assert "larger than the limit of 1000 bytes" in oversized.json()["error"]
    assert post(job.url + "/api/v1/perform", {"seconds": 0}).status_code == 200


def test_ready_waits_for_every_worker_and_live_reports_a_worker_that_cannot_load(server, tmp_path: Path):
    release = tmp_path / "release"
    job = HERE / "jobs" / "worker_init_job.py"
    loading = server("--workers", "2", job=job, wait_path="/live", env={"WORKER_RELEASE": str(release)})
    wait_for(loading, "/api/v1/parameters")  # the server process has loaded the job ...
    ready = httpx.get(loading.url + "/ready")
    assert ready.status_code == 503 and "worker processes are still loading" in ready.json()["error"]
    release.touch()  # ... and /ready turns 200 once both workers have
    wait_for(loading, "/ready")
    assert post(loading.url + "/api/v1/perform", {}).json() != loading.process.pid
    failing = server("--workers", "1", job=job, wait_path="/metrics", env={"WORKER_INIT": "fail"})
    live = wait_for(failing, "/live", status=500).json()
    assert live["type"] == "load_error" and "no model file in this worker" in live["error"]
    assert httpx.get(failing.url + "/ready").status_code == 503
