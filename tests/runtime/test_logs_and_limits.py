"""Log formatting, access lines, the body limit and drain middlewares with fake ASGI I/O."""

from __future__ import annotations

import json
import logging

import pytest

from racetrack.wrapper.bodylimit import BodyLimitMiddleware
from racetrack.wrapper.logs import AccessLogMiddleware, JsonFormatter, RequestIdFilter
from racetrack.wrapper.shutdown import Drain, DrainMiddleware
from racetrack.wrapper.tracing import request_id_var

pytestmark = pytest.mark.anyio


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
    assert line["message"] == "hi x" and line["request_id"] == "abc" and line["status"] == 200
    assert {"ts", "level", "logger"} <= set(line)


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


async def test_access_log_skips_passing_probes_and_echoes_the_request_id(caplog):
    app = AccessLogMiddleware(echo_app)
    with caplog.at_level(logging.INFO, "racetrack.access"):
        sent = await call(app, headers=[(b"x-request-tracing-id", b"given-1")])
        await call(app, path="/ready")
    assert (b"x-request-tracing-id", b"given-1") in sent[0]["headers"]
    assert [r.getMessage().split()[:3] for r in caplog.records] == [["POST", "/api/v1/perform", "200"]]


async def test_body_limit_refuses_by_content_length_and_by_counting_chunks():
    app = BodyLimitMiddleware(echo_app, 10)
    declared = await call(app, headers=[(b"content-length", b"11")], body_chunks=[b"x" * 11])
    chunked = await call(app, body_chunks=[b"x" * 6, b"x" * 6])
    small = await call(app, body_chunks=[b"x" * 10])
    assert declared[0]["status"] == 413 and chunked[0]["status"] == 413
    assert json.loads(chunked[1]["body"])["type"] == "payload_too_large"
    assert small[0]["status"] == 200 and small[1]["body"] == b"x" * 10


async def test_draining_refuses_calls_and_ready_but_not_liveness():
    drain = Drain()
    app = DrainMiddleware(echo_app, drain)
    assert (await call(app))[0]["status"] == 200
    drain.begin()
    assert (await call(app))[0]["status"] == 503
    assert (await call(app, path="/ready"))[0]["status"] == 503
    assert (await call(app, path="/live"))[0]["status"] == 200
    assert drain.idle.is_set()
