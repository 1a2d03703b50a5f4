"""Dispatcher admission, deadlines, threads and streams, in-process (no timed assertions)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import CollectorRegistry

from racetrack.wrapper.runtime.dispatch import CallStream, CallTimeout, Dispatcher, Overloaded, ShuttingDown
from racetrack.wrapper.telemetry.tracing import request_id_var

pytestmark = pytest.mark.anyio


def make(methods: dict, **limits) -> tuple[Dispatcher, CollectorRegistry]:
    registry = CollectorRegistry()
    return Dispatcher(methods.__getitem__, registry=registry, **limits), registry


def value(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value(name) or 0.0


async def test_call_beyond_concurrency_and_queue_is_refused_at_once_then_queue_drains():
    gate = asyncio.Event()

    async def wait() -> str:
        await gate.wait()
        return "done"

    dispatcher, registry = make({"/wait": wait}, max_concurrency=1, max_queue=1, manifest_file="job.yaml")
    first = asyncio.ensure_future(dispatcher.call("/wait", {}, None))
    second = asyncio.ensure_future(dispatcher.call("/wait", {}, None))
    await asyncio.sleep(0)
    assert (dispatcher.executing, dispatcher.waiting) == (1, 1)
    with pytest.raises(Overloaded) as refused:
        await dispatcher.call("/wait", {}, None)
    assert refused.value.status == 429 and int(dict(refused.value.headers)[b"retry-after"]) >= 1
    assert "(jobtype_extra.max_concurrency / jobtype_extra.max_queue in job.yaml)" in refused.value.message
    gate.set()
    assert await asyncio.gather(first, second) == ["done", "done"]
    assert (dispatcher.executing, dispatcher.waiting) == (0, 0)
    assert value(registry, "fatman_calls_rejected_total") == 1
    assert value(registry, "fatman_call_wait_seconds_count") == 2


async def test_async_call_past_its_deadline_is_cancelled_with_504():
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    dispatcher, registry = make({"/forever": forever})
    with pytest.raises(CallTimeout) as timeout:
        await dispatcher.call("/forever", {}, 0.01)
    assert timeout.value.status == 504 and cancelled.is_set()
    assert dispatcher.executing == 0 and value(registry, "fatman_call_timeouts_total") == 1


async def test_timed_out_sync_call_is_counted_abandoned_and_keeps_its_slot_until_it_ends():
    release = threading.Event()
    dispatcher, registry = make({"/block": lambda: release.wait()})
    with pytest.raises(CallTimeout) as timeout:
        await dispatcher.call("/block", {}, 0.01)
    assert "cannot be stopped" in timeout.value.message
    assert value(registry, "fatman_abandoned_calls_total") == 1
    assert dispatcher.executing == 1
    release.set()
    while dispatcher.executing:
        await asyncio.sleep(0.01)


async def test_sync_call_sees_the_callers_context_variables():
    dispatcher, _ = make({"/rid": lambda: request_id_var.get()})
    request_id_var.set("rid-7")
    assert await dispatcher.call("/rid", {}, None) == "rid-7"


async def test_generator_streams_items_and_is_closed_when_the_consumer_stops():
    closed = threading.Event()

    def numbers(n: int):
        try:
            yield from range(n)
        finally:
            closed.set()

    dispatcher, _ = make({"/numbers": numbers})
    stream = await dispatcher.call("/numbers", {"n": 100}, None)
    assert isinstance(stream, CallStream)
    assert [await anext(stream), await anext(stream)] == [0, 1]
    assert dispatcher.executing == 1
    await stream.aclose()
    assert closed.is_set() and dispatcher.executing == 0


async def test_closed_dispatcher_refuses_new_calls_with_503():
    dispatcher, _ = make({"/x": lambda: 1})
    dispatcher.close()
    with pytest.raises(ShuttingDown) as refused:
        await dispatcher.call("/x", {}, None)
    assert refused.value.status == 503
