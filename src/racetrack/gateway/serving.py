"""uvicorn's httptools protocol, writing each response's head together with the body that follows it, and
answering plain job calls itself; the standalone gateway and the control plane (which mounts the gateway at
/pub) serve through it.

A job call with a small body (no upgrade, no `Expect`, HTTP/1.1) skips the ASGI cycle: the protocol buffers
its body, hands it to `GatewayApp.job_call` and writes the answer to the connection itself, head and body in
one write. Everything else (websockets, streamed uploads, /pub/async, the gateway's own routes, the control
plane's API) goes through uvicorn's cycle and the ASGI app as before.

uvicorn writes a response head and its body with two `transport.write` calls: two syscalls and two TCP
segments, so the caller is woken twice per answer. Here the head waits for the next write (the body, in the
same step of the app as a rule) or, at the latest, for the end of the event loop iteration.

The job's edge does not use it: behind the gateway its requests arrive one at a time, and the flush scheduled
per response costs it an extra loop iteration each (measured: docs/benchmarks.md, "Gateway").
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from racetrack.gateway.app import PUB, JobCall
from racetrack.gateway.proxy import Headers
from racetrack.gateway.upstream import Response, UpstreamError

if TYPE_CHECKING:
    from racetrack.gateway.app import GatewayApp

log = logging.getLogger("racetrack.gateway")
DIRECT_PREFIXES = (b"/pub/job/", b"/pub/fatman/")
DIRECT_MAX_BODY = 64 * 1024  # larger request bodies are streamed to the job through the ASGI cycle
NO_BODY_STATUSES = frozenset({204, 304})


class HeadHolder:
    """The transport one request's cycle writes to: its first write is held until the next one, a close,
    or the end of the loop iteration, whichever comes first; the rest goes straight to `transport`."""

    __slots__ = ("transport", "loop", "held", "fresh")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport, self.loop = transport, loop
        self.held: bytes | None = None
        self.fresh = True

    def write(self, data: bytes) -> None:
        if self.fresh:
            self.fresh = False
            self.held = data
            self.loop.call_soon(self.flush)
            return
        held = self.held
        if held is not None:
            self.held = None
            data = held + data
        self.transport.write(data)

    def flush(self) -> None:
        """Write what is held, unless the connection is already gone."""
        held = self.held
        if held is not None:
            self.held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _NoEvent:
    """What uvicorn's protocol `set()`s on a cycle when the connection is lost; a direct call needs none."""

    @staticmethod
    def set() -> None:
        pass


class DirectCycle:
    """A job call the protocol answers itself; has the attributes uvicorn's protocol reads of a cycle."""

    __slots__ = (
        "method",
        "url",
        "path",
        "query",
        "headers",
        "keep_alive",
        "body",
        "response_complete",
        "disconnected",
        "stream",
        "task",
    )
    message_event = _NoEvent()

    def __init__(
        self, method: str, url: bytes, path: bytes, query: bytes, headers: Headers, keep_alive: bool
    ) -> None:
        self.method, self.url, self.headers, self.keep_alive = method, url, headers, keep_alive
        self.path, self.query = path, query
        self.body: list[bytes] = []
        self.response_complete = False
        self.disconnected = False
        self.stream: Response | None = None  # the job's answer while it is being relayed
        self.task: asyncio.Task[None] | None = None


class GatewayHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request cycles write through a `HeadHolder`; with `gateway` set (see
    `gateway_protocol`), it answers plain job calls itself."""

    gateway: GatewayApp | None = None
    idle_since: float | None = None  # loop time the last direct answer was written, while nothing follows
    idle_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        self._flush_held()  # what the protocol itself may answer (a 400, an upgrade) goes after it
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        cycle = self.cycle
        if type(cycle) is DirectCycle and not cycle.response_complete and cycle.stream is not None:
            cycle.stream.close()  # the caller left: stop reading the job's answer
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        url = self._direct_call_url() if self.gateway is not None else None
        if url is not None:
            method = self.parser.get_method().decode("ascii")
            keep_alive = self.parser.should_keep_alive()
            self.cycle = DirectCycle(  # type: ignore[assignment]
                method, self.url, url.path, url.query or b"", self.headers, keep_alive
            )
            return
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport and not cycle.response_started:
            cycle.transport = HeadHolder(self.transport, self.loop)  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if type(cycle) is DirectCycle:
            cycle.body.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if type(cycle) is DirectCycle:
            # the task leaves uvicorn's set itself, at its end: a done callback would cost a loop handle
            task = cycle.task = self.loop.create_task(self._answer_directly(cycle))
            self.tasks.add(task)
            return
        super().on_message_complete()

    def _direct_call_url(self) -> Any:
        """The parsed URL of a job call with a small whole body, nothing queued before it and nothing
        uvicorn must see to; None for any other request."""
        if self.expect_100_continue or self.limit_concurrency is not None or self.root_path:
            return None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:  # pipelined: uvicorn queues it
            return None
        parser = self.parser
        if parser.should_upgrade() or parser.get_http_version() != "1.1":
            return None
        if not self.url.startswith(DIRECT_PREFIXES):
            return None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length" and (not value.isdigit() or int(value) > DIRECT_MAX_BODY):
                return None
        try:
            return httptools.parse_url(self.url)
        except httptools.HttpParserInvalidURLError:
            return None  # uvicorn answers it 400

    async def _answer_directly(self, cycle: DirectCycle) -> None:
        gateway = self.gateway
        assert gateway is not None
        answer = DirectAnswer(self, cycle)
        try:
            if not gateway.started:
                await gateway.startup()
            call = JobCall(
                cycle.method,
                cycle.path.decode("latin-1"),
                cycle.path.split(b"/", 3)[3],
                cycle.query,
                cycle.headers,
                self.client[0] if self.client else None,
                self.scheme or "http",
                PUB,
            )
            await gateway.job_call(call, b"".join(cycle.body), answer)
        except Exception:
            log.exception("the gateway failed on %s %s", cycle.method, cycle.url[:200].decode("latin-1"))
            if not answer.started:
                body = b"Internal Server Error"
                answer.whole_now(500, [(b"content-type", b"text/plain; charset=utf-8")], body)
        finally:
            if not cycle.response_complete:  # cut off (caller or job gone, or cancelled): end the connection
                cycle.response_complete = True
                self.transport.close()
            self.tasks.discard(cycle.task)  # type: ignore[arg-type]

    def finish(self, cycle: DirectCycle, status: int) -> None:
        """The answer is written: log it as uvicorn would, then keep the connection or close it."""
        cycle.response_complete = True
        if self.access_log:
            client = "%s:%d" % self.client if self.client else "-"  # noqa: UP031 - uvicorn's own format
            self.access_logger.info(
                '%s - "%s %s HTTP/1.1" %d', client, cycle.method, cycle.url.decode("latin-1"), status
            )
        if not cycle.keep_alive:
            self.transport.close()
        if self.pipeline or self.transport.is_closing():
            self.on_response_complete()
            return
        # uvicorn's on_response_complete, but its keep-alive timer is armed once per idle period, not per call
        self.server_state.total_requests += 1
        self.flow.resume_reading()
        self.idle_since = self.loop.time()
        if self.idle_timer is None:
            self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._close_if_idle)

    def _close_if_idle(self) -> None:
        """Close the connection once it has been idle for uvicorn's keep-alive timeout; else look again."""
        self.idle_timer = None
        if self.idle_since is None or self.transport.is_closing():
            return  # a request is in progress: the next direct answer arms the timer again
        left = self.idle_since + self.timeout_keep_alive - self.loop.time()
        if left <= 0:
            self.timeout_keep_alive_handler()
        else:
            self.idle_timer = self.loop.call_later(left, self._close_if_idle)

    def _flush_held(self) -> None:
        cycle = self.cycle
        if cycle is not None and type(cycle) is not DirectCycle and isinstance(cycle.transport, HeadHolder):
            cycle.transport.flush()


class DirectAnswer:
    """A direct call's answer, written to the caller's connection: head and a whole body in one write, a
    relayed body chunk by chunk (chunked when the job gave no length), waiting while the caller is slow."""

    __slots__ = ("protocol", "cycle", "started")

    def __init__(self, protocol: GatewayHttpProtocol, cycle: DirectCycle) -> None:
        self.protocol, self.cycle = protocol, cycle
        self.started = False

    def head(self, status: int, headers: Headers, length: int | None) -> list[bytes]:
        """The status line and headers; `length` is set as Content-Length when the job gave none."""
        parts = [STATUS_LINE[status]]
        for name, value in self.protocol.server_state.default_headers:
            parts.extend((name, b": ", value, b"\r\n"))
        for name, value in headers:
            if name == b"content-length":
                length = None
            parts.extend((name, b": ", value, b"\r\n"))
        if length is not None:
            parts.append(b"content-length: %d\r\n" % length)
        if not self.cycle.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        return parts

    def whole_now(self, status: int, headers: Headers, body: bytes) -> None:
        self.started = True
        no_body = self.cycle.method == "HEAD" or status in NO_BODY_STATUSES
        parts = self.head(status, headers, None if no_body else len(body))
        if not no_body:
            parts.append(body)
        transport = self.protocol.transport
        if not transport.is_closing():
            transport.write(b"".join(parts))
        self.protocol.finish(self.cycle, status)

    async def whole(self, status: int, headers: Headers, body: bytes) -> None:
        self.whole_now(status, headers, body)

    async def streamed(self, status: int, headers: Headers, response: Response) -> None:
        self.started = True
        protocol, cycle = self.protocol, self.cycle
        transport = protocol.transport
        sized = any(name == b"content-length" for name, _ in headers)
        chunked = not sized and cycle.method != "HEAD" and status not in NO_BODY_STATUSES
        parts = self.head(status, headers, None)
        if chunked:
            parts.insert(-1, b"transfer-encoding: chunked\r\n")
        if transport.is_closing():
            response.close()
            return
        transport.write(b"".join(parts))
        cycle.stream = response
        try:
            async for chunk in response.chunks():
                if transport.is_closing():
                    response.close()
                    return
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                    await protocol.flow.drain()
            if chunked and not transport.is_closing():
                transport.write(b"0\r\n\r\n")
        except UpstreamError:
            response.close()  # the caller sees a cut-off body, as the job cut it
            transport.close()
            return
        finally:
            cycle.stream = None
        protocol.finish(cycle, status)


def gateway_protocol(gateway: GatewayApp | None) -> type[GatewayHttpProtocol]:
    """The protocol class for uvicorn's `http=`: answers job calls of `gateway` directly (None: never)."""
    return type("GatewayHttpProtocol", (GatewayHttpProtocol,), {"gateway": gateway})
