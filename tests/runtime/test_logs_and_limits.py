"""Log formatting, access lines, the body limit and draining, with fake ASGI I/O or the in-process app."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from racetrack.manifest import PythonSettings
from racetrack.wrapper.http.app import JobApp
from racetrack.wrapper.http.bodylimit import BodyLimitMiddleware, read_body, too_large
from racetrack.wrapper.http.responses import HTTPError
from racetrack.wrapper.runtime.shutdown import Drain, GracefulServer
from racetrack.wrapper.settings import JobSettings
from racetrack.wrapper.telemetry.logs import JsonFormatter, RequestIdFilter
from racetrack.wrapper.telemetry.tracing import request_id_var


def test_json_lines_carry_request_id_and_extra_fields():
    record = logging.makeLogRecord(
        {"name": "job", "levelname": "INFO", "msg": "hi %s", "args": ("x",), "status": 200}
    )
    token = request_id_var.set("abc")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hi x" and line["tracing_id"] == "abc" and line["status"] == 200
    assert line["lvl"] == "INFO" and line["logger"] == "job" and line["time"].endswith("Z")


async def call(app, path: str = "/api/v1/perform", headers=(), body_chunks=(b"{}",)):
    sent = []
    chunks = list(body_chunks)

    async def receive():
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": list(headers)}
    await app(scope, receive, send)
    return sent


async def echo_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


JOB = "class Job:\n    def perform(self, x: int = 0) -> int:\n        return x\n"


def job_client(tmp_path: Path, **knobs: object) -> TestClient:
    """The in-process app for JOB with `python:` settings `knobs`."""
    (tmp_path / "entrypoint.py").write_text(JOB)
    python = PythonSettings("entrypoint.py", **knobs)  # type: ignore[arg-type]
    app = JobApp(JobSettings(entrypoint_path="entrypoint.py", root=tmp_path, python=python))
    app.load()
    return TestClient(app)


def test_access_line_per_call_with_the_request_id_but_not_for_passing_probes(tmp_path, caplog):
    client = job_client(tmp_path)
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, "racetrack.access"):
        echoed = client.post("/api/v1/perform", json={"x": 1}, headers={"x-request-tracing-id": "given-1"})
        client.get("/ready")
        client.get("/nowhere")
    assert echoed.headers["x-request-tracing-id"] == "given-1"
    lines = [(r.getMessage().split()[:3], r.request_id) for r in caplog.records]
    assert lines[0] == (["POST", "/api/v1/perform", "200"], "given-1")
    assert [line[0] for line in lines] == [["POST", "/api/v1/perform", "200"], ["GET", "/nowhere", "404"]]


@pytest.mark.anyio
async def test_body_limit_middleware_refuses_by_content_length_and_by_counting_chunks():
    app = BodyLimitMiddleware(echo_app, 10)
    declared = await call(app, headers=[(b"content-length", b"11")], body_chunks=[b"x" * 11])
    chunked = await call(app, body_chunks=[b"x" * 6, b"x" * 6])
    small = await call(app, body_chunks=[b"x" * 10])
    assert declared[0]["status"] == 413 and chunked[0]["status"] == 413
    assert json.loads(chunked[1]["body"])["type"] == "payload_too_large"
    assert small[0]["status"] == 200 and small[1]["body"] == b"x" * 10


def test_draining_refuses_calls_and_ready_but_not_liveness(tmp_path):
    client = job_client(tmp_path)
    assert client.post("/api/v1/perform", json={}).status_code == 200
    drain = client.app.drain  # type: ignore[attr-defined]
    drain.begin()
    refused = client.post("/api/v1/perform", json={})
    assert refused.status_code == 503 and refused.json()["type"] == "shutting_down"
    assert refused.headers["connection"] == "close"
    assert client.get("/ready").status_code == 503
    assert client.get("/live").status_code == 200
    assert drain.idle.is_set() and drain.in_flight == 0


def test_call_body_over_the_limit_is_refused_by_its_content_length(tmp_path):
    client = job_client(tmp_path, max_body_bytes=20)
    declared = client.post("/api/v1/perform", content=b'{"x": 1, "pad": "' + b"x" * 30 + b'"}')
    assert declared.status_code == 413 and declared.json()["type"] == "payload_too_large"
    assert "raise jobtype_extra.max_body_bytes in the job manifest" in declared.json()["error"]
    assert declared.headers["connection"] == "close"
    assert client.post("/api/v1/perform", json={"x": 2}).json() == 2


@pytest.mark.anyio
async def test_read_body_stops_reading_chunks_once_they_pass_the_limit():
    chunks = [b"x" * 6, b"x" * 6, b"never read"]

    async def receive():
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    with pytest.raises(HTTPError) as refused:
        await read_body({"headers": []}, receive, 10)
    assert refused.value.status == 413 and chunks == [b"never read"]
    chunks[:] = [b"x" * 5, b"x" * 5]
    assert await read_body({"headers": [(b"content-length", b"10")]}, receive, 10) == b"x" * 10


@pytest.mark.anyio
async def test_read_body_refuses_a_first_chunk_over_the_limit():
    for more_body in (False, True):

        async def receive(more_body: bool = more_body):
            return {"type": "http.request", "body": b"x" * 217, "more_body": more_body}

        with pytest.raises(HTTPError) as refused:
            await read_body({"headers": []}, receive, 100)
        assert refused.value.status == 413
        assert "larger than the limit of 100 bytes" in refused.value.message


def test_413_message_reads_as_a_sentence():
    assert too_large(100, 20_000_000).message.startswith(
        "the request body is 20000000 bytes, larger than the limit of 100 bytes;"
    )


@pytest.mark.anyio
async def test_after_draining_uvicorn_waits_only_for_the_rest_of_the_grace_period():
    drain = Drain()
    server = GracefulServer(uvicorn.Config(echo_app), drain, shutdown_grace=30)
    drain.enter()  # one call in flight
    server._begin_drain(signal.SIGTERM)
    drain.leave()  # ... finishes
    await server._drainer
    assert server.should_exit and not server.force_exit
    assert 20 < server.config.timeout_graceful_shutdown <= 30  # uvicorn's default was a fixed 5 s
