"""Streamed results (NDJSON, or Server-Sent Events on `Accept: text/event-stream`) and client disconnects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from racetrack.wrapper.contract.encoding import encode_result
from racetrack.wrapper.errors import CallError, from_job_exception
from racetrack.wrapper.http.responses import error_body
from racetrack.wrapper.telemetry.tracing import request_id_var

logger = logging.getLogger(__name__)

NDJSON = b"application/x-ndjson"
SSE = b"text/event-stream"
T = TypeVar("T")
ErrorRecord = Callable[[BaseException], bytes]
_NOTHING = object()


def encode_item(item: Any) -> bytes:
    """JSON for one streamed item; TypeError for what JSON cannot carry (inf and NaN included)."""
    return encode_result(item, "item")


def wants_sse(headers: list[tuple[bytes, bytes]]) -> bool:
    """The request's Accept header asks for Server-Sent Events."""
    return any(key == b"accept" and SSE in value for key, value in headers)


def error_record(exc: BaseException) -> bytes:
    """The standard error body (without details) for an exception that ended a stream."""
    error = from_job_exception(exc)
    return error_body(error.kind, error.message, None, request_id_var.get())


class StreamResponse:
    """ASGI response sending each item as a frame; stops pulling items as soon as the client is gone.

    An exception from `items` ends the stream with a final error record (`error_record(exc)`); `items` is
    always closed (`aclose()`), so the generator behind it stops and frees its slot.
    """

    def __init__(
        self,
        items: AsyncIterator[Any],
        *,
        sse: bool = False,
        first: Any = _NOTHING,
        encode: Callable[[Any], bytes] = encode_item,
        on_error: ErrorRecord = error_record,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.items = items
        self.sse = sse
        self.first = first
        self.encode = encode
        self.on_error = on_error
        self.headers = headers or []

    def frame(self, item: Any) -> bytes:
        data = self.encode(item)
        return b"data: " + data + b"\n\n" if self.sse else data + b"\n"

    def error_frame(self, exc: BaseException) -> bytes:
        data = self.on_error(exc)
        return b"event: error\ndata: " + data + b"\n\n" if self.sse else data + b"\n"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await until_disconnect(receive, self._pump(send))
        except ClientDisconnect:
            logger.info("client disconnected; stream of %s stopped", scope.get("path"))

    async def _pump(self, send: Send) -> None:
        headers = [(b"content-type", SSE if self.sse else NDJSON), (b"cache-control", b"no-cache")]
        if self.sse:
            headers.append((b"x-accel-buffering", b"no"))
        await send({"type": "http.response.start", "status": 200, "headers": [*headers, *self.headers]})
        try:
            item = self.first
            while True:
                try:
                    if item is _NOTHING:
                        item = await anext(self.items)
                    frame = self.frame(item)  # an item that cannot be encoded ends the stream too
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    if not isinstance(exc, CallError | ValueError):
                        logger.exception("stream of %s failed", request_id_var.get())
                    await send(
                        {"type": "http.response.body", "body": self.error_frame(exc), "more_body": True}
                    )
                    break
                item = _NOTHING
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await close_items(self.items)


async def stream_response(
    items: AsyncIterator[Any], request_headers: list[tuple[bytes, bytes]], **options: Any
) -> StreamResponse:
    """A `StreamResponse` for `items`, after pulling the first item so an immediate failure can still be
    answered with a plain error status (the exception propagates; `items` is closed)."""
    try:
        first = await anext(items)
    except StopAsyncIteration:
        first = _NOTHING
    except BaseException:
        await close_items(items)
        raise
    return StreamResponse(items, sse=wants_sse(request_headers), first=first, **options)


async def close_items(items: AsyncIterator[Any]) -> None:
    """Close an async iterator that can be closed (a `CallStream`, an async generator)."""
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()


async def until_disconnect(receive: Receive, work: Awaitable[T], watch_after: float = 0.0) -> T:
    """Await `work` (after the request body was read) in this task, cancelling it if the client
    disconnects; then ClientDisconnect is raised. Watching starts `watch_after` seconds in, so calls
    shorter than that pay nothing for it."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    gone = False
    watcher: asyncio.Task[None] | None = None

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = loop.create_task(watch())

    timer = loop.call_later(watch_after, start_watching) if watch_after > 0 else None
    if timer is None:
        start_watching()
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            raise ClientDisconnect() from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
        if watcher is not None:
            watcher.cancel()
        if gone:
            task.uncancel()
