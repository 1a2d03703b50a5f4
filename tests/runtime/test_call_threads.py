"""The lean thread pool for `def` methods and the access log record, in-process (no timed assertions)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading

import pytest
from prometheus_client import CollectorRegistry

from racetrack.wrapper.runtime.dispatch import CallTimeout, Dispatcher
from racetrack.wrapper.runtime.threads import CallThreads
from racetrack.wrapper.telemetry.logs import AccessLog, JsonFormatter, RequestIdFilter, TextFormatter
from racetrack.wrapper.telemetry.tracing import request_id_var

pytestmark = pytest.mark.anyio


async def test_calls_run_in_the_given_context_and_threads_start_only_when_all_are_busy():
    threads = CallThreads(2)
    loop = asyncio.get_running_loop()
    request_id_var.set("rid-thread")
    seen = [
        await threads.submit(loop, contextvars.copy_context(), request_id_var.get).future for _ in range(5)
    ]
    assert seen == ["rid-thread"] * 5
    assert len(threads._threads) == 1, "one idle thread serves calls one after another"
    gate = threading.Event()
    blocked = [threads.submit(loop, contextvars.copy_context(), gate.wait) for _ in range(3)]
    assert len(threads._threads) == 2, "never more than max_threads"
    gate.set()
    assert [await call.future for call in blocked] == [True, True, True]
    threads.shutdown()


async def test_errors_reach_the_caller_and_finished_is_set_when_nobody_waits():
    threads = CallThreads(1)
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    with pytest.raises(ZeroDivisionError):
        await threads.submit(loop, context, lambda: 1 / 0).future
    with pytest.raises(RuntimeError, match="StopIteration"):
        await threads.submit(loop, context, next, (iter(()),)).future
    gate = threading.Event()
    call = threads.submit(loop, context, gate.wait)
    call.future.cancel()
    finished = loop.create_future()
    call.add_done_callback(finished.set_result)
    assert not call.finished
    gate.set()
    assert await finished is call and call.finished
    threads.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        threads.submit(loop, context, int)


async def test_keyword_arguments_named_like_dispatcher_internals_reach_the_method():
    def perform(slot: int, deadline: int, context: int, func: int) -> int:
        return slot + deadline + context + func

    dispatcher = Dispatcher({"/perform": perform}.__getitem__, registry=CollectorRegistry())
    assert await dispatcher.call("/perform", {"slot": 1, "deadline": 2, "context": 3, "func": 4}, 5.0) == 10


async def test_waiting_for_a_slot_past_the_deadline_is_a_504_and_leaves_the_queue():
    release = threading.Event()
    dispatcher = Dispatcher(
        {"/block": release.wait}.__getitem__, max_concurrency=1, registry=CollectorRegistry()
    )
    first = asyncio.ensure_future(dispatcher.call("/block", {}, None))
    await asyncio.sleep(0)
    with pytest.raises(CallTimeout, match="waited .* for a free slot"):
        await dispatcher.call("/block", {}, 0.01)
    assert (dispatcher.executing, dispatcher.waiting) == (1, 0)
    release.set()
    assert await first is True
    assert dispatcher.executing == 0


def _capture(formatter: logging.Formatter) -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.access.{id(lines)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, lines


def test_access_record_formats_like_a_logger_info_record():
    text_logger, text = _capture(TextFormatter())
    json_logger, structured = _capture(JsonFormatter())
    token = request_id_var.set("rid-access")
    try:
        AccessLog(text_logger)("POST", "/api/v1/perform", 200, 0.00123)
        AccessLog(json_logger)("POST", "/api/v1/perform", 200, 0.00123)
        text_logger.info("by hand")
    finally:
        request_id_var.reset(token)
    assert text[0].endswith(f" INFO    [rid-access] {text_logger.name}: POST /api/v1/perform 200 1.23ms")
    assert text[0][:19] == text[1][:19]  # the same cached date and time part as an ordinary record
    line = json.loads(structured[0])
    assert line["msg"] == "POST /api/v1/perform 200 1.23ms" and line["tracing_id"] == "rid-access"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == (
        "POST",
        "/api/v1/perform",
        200,
        1.23,
    )


def test_access_log_honours_the_level_and_skips_passing_probes():
    logger, lines = _capture(TextFormatter())
    access = AccessLog(logger)
    access("GET", "/ready", 200, 0.001)
    access("GET", "/ready", 503, 0.001)
    logger.setLevel(logging.WARNING)
    access("POST", "/api/v1/perform", 200, 0.001)
    assert len(lines) == 1 and "GET /ready 503" in lines[0]
