"""A lean HTTP/1.1 client for calls to job replicas: pooled keep-alive connections, httptools parsing,
bodies streamed both ways. Only what a reverse proxy needs; plain http (replicas are internal addresses)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

MAX_IDLE_PER_HOST = 512
MAX_KEYS = 10_000  # parsed replica addresses kept
PAUSE_ABOVE_BYTES = 256 * 1024  # stop reading from the job while this much body waits for the caller
SWEEP_SECONDS = 0.1  # how often awaited answer heads are checked against their deadline


class UpstreamError(Exception):
    """The replica could not be reached or broke the exchange."""


class ConnectFailed(UpstreamError):
    """No connection to the replica: safe to try another one, nothing was sent."""


class NoResponse(UpstreamError):
    """The replica took the connection but closed it before sending any byte of an answer."""


class HeadTimeout(UpstreamError):
    """The replica did not start answering within the timeout."""


class _Body:
    """Response body chunks as the replica sends them; pauses the socket when the caller reads slowly."""

    __slots__ = ("chunks", "size", "done", "error", "waiter", "transport", "paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.done = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.transport = transport
        self.paused = False

    def feed(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > PAUSE_ABOVE_BYTES and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done:
            self.done, self.error = True, error
            self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def settle(self, limit: int) -> None:
        """Wait until the body is complete or holds more than `limit` bytes."""
        while not self.done and self.size <= limit:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
            self.waiter = None

    async def next(self) -> bytes | None:
        """The next chunk, or None at the end of the body."""
        while not self.chunks:
            if self.done:
                if self.error is not None:
                    raise UpstreamError(f"the job closed the connection mid-response: {self.error}")
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
            self.waiter = None
        chunk = self.chunks.popleft()
        self.size -= len(chunk)
        if self.paused and self.size <= PAUSE_ABOVE_BYTES // 2:
            self.paused = False
            self.transport.resume_reading()
        return chunk


class Response:
    """A replica's answer: status and headers at once, the body as it arrives."""

    __slots__ = ("status", "headers", "_body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: _Body) -> None:
        self.status = status
        self.headers = headers  # names lower-cased
        self._body = body

    def complete_body(self) -> bytes | None:
        """The whole body when it has already arrived (the common small answer), else None."""
        body = self._body
        if body.done and body.error is None:
            data = b"".join(body.chunks)
            body.chunks.clear()
            body.size = 0
            return data
        return None

    async def small_body(self, limit: int, timeout: float) -> bytes | None:
        """The whole body if it is at most `limit` bytes and arrives within `timeout` s, else None; the body
        stays unread either way (complete_body() and chunks() still return it)."""
        body = self._body
        try:
            await asyncio.wait_for(body.settle(limit), timeout)
        except TimeoutError:
            body.waiter = None
            return None
        if not body.done or body.error is not None or body.size > limit:
            return None
        return b"".join(body.chunks)

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._body.next()) is not None:
            yield chunk

    def close(self) -> None:
        """Abandon the rest of the body (the caller left): the connection is not reused."""
        if not self._body.done:
            self._body.transport.close()


class _Connection(asyncio.Protocol):
    def __init__(self, pool: Pool, key: tuple[str, int]) -> None:
        self.pool, self.key = pool, key
        self.loop = asyncio.get_running_loop()  # once here: each lookup costs a getpid() syscall
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.head: asyncio.Future[Response] | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: _Body | None = None
        self.received = False
        self.closed = False
        self.head_only = False
        self.reused = False
        self.until_close = False
        self.host_header = f"{key[0]}:{key[1]}".encode()
        self.deadline = 0.0  # loop time by which the answer's head must have come (see Pool.sweep)
        self.timeout = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"the job sent a malformed HTTP response: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None and self.body is not None and self.until_close:
            self.body.finish()  # a body without length or chunking ends when the job closes
            self.body = None
        self._fail(UpstreamError(str(exc or "connection closed")))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and friends: wait for the real answer
            self.headers = []
            return
        assert self.transport is not None
        self.body = _Body(self.transport)
        self.until_close = True
        for name, _ in self.headers:
            if name == b"content-length" or name == b"transfer-encoding":
                self.until_close = False
                break
        response = Response(status, self.headers, self.body)
        self.headers = []
        if self.head is not None and not self.head.done():
            self.head.set_result(response)
        if self.head_only:  # no body follows a HEAD answer; the parser cannot know, so do not reuse
            self.body.finish()
            self.transport.close()

    def on_body(self, chunk: bytes) -> None:
        if self.body is not None:
            self.body.feed(chunk)

    def on_message_complete(self) -> None:
        body = self.body
        if body is None:
            return
        body.finish()
        self.body = None
        self.head = None
        if self.parser.should_keep_alive() and not self.closed and not self.head_only:
            self.pool.release(self)
        elif self.transport is not None:
            self.transport.close()

    def _fail(self, error: UpstreamError) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        if self.body is not None:
            self.body.finish(error)


class Pool:
    """Keep-alive connections per (host, port), most recently used first."""

    def __init__(self, connect_timeout: float = 5.0) -> None:
        self.idle: dict[tuple[str, int], list[_Connection]] = {}
        self.connect_timeout = connect_timeout
        self.keys: dict[str, tuple[str, int]] = {}  # base URL -> (host, port), parsed once
        self.waiting: set[_Connection] = set()  # connections whose answer head is awaited
        self.sweeper: asyncio.TimerHandle | None = None
        self.sweeper_loop: asyncio.AbstractEventLoop | None = None

    def key_for(self, base_url: str) -> tuple[str, int]:
        """(host, port) of a replica's base URL; ConnectFailed when it is not plain http."""
        key = self.keys.get(base_url)
        if key is None:
            if len(self.keys) >= MAX_KEYS:
                self.keys.clear()
            key = self.keys[base_url] = _host_port(base_url)
        return key

    def release(self, connection: _Connection) -> None:
        idle = self.idle.setdefault(connection.key, [])
        if len(idle) < MAX_IDLE_PER_HOST:
            connection.reused = True
            idle.append(connection)
        elif connection.transport is not None:
            connection.transport.close()

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self, key), key[0], key[1]), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {key[0]}:{key[1]}: {exc or type(exc).__name__}") from None
        return connection

    def _take_idle(self, key: tuple[str, int]) -> _Connection | None:
        idle = self.idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.transport and not connection.transport.is_closing():
                return connection
        return None

    async def request(
        self,
        base_url: str,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        timeout: float,
    ) -> Response:
        """Send one request to the replica at `base_url` (http://host:port); returns once its head arrived.

        `headers` must not hold Host, Content-Length or Transfer-Encoding: they are set here."""
        key = self.key_for(base_url)
        connection = self._take_idle(key)
        if connection is not None:
            try:
                return await self._exchange(connection, method, target, headers, body, timeout)
            except UpstreamError:
                # A kept-alive connection the job closed meanwhile fails before any byte comes back;
                # then nothing was processed and a fresh connection may carry the same request.
                if connection.received or not isinstance(body, bytes):
                    raise
        connection = await self._connect(key)
        return await self._exchange(connection, method, target, headers, body, timeout)

    async def _exchange(
        self,
        connection: _Connection,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
        timeout: float,
    ) -> Response:
        loop = connection.loop
        transport = connection.transport
        assert transport is not None
        connection.received = False
        connection.head_only = method == "HEAD"
        head = connection.head = loop.create_future()
        lines = [method.encode(), b" ", target, b" HTTP/1.1\r\nhost: ", connection.host_header, b"\r\n"]
        for name, value in headers:
            lines.extend((name, b": ", value, b"\r\n"))
        if isinstance(body, bytes):
            if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                lines += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
            lines += [b"\r\n", body]
            _send(connection, b"".join(lines))
        else:
            lines.append(b"transfer-encoding: chunked\r\n\r\n")
            _send(connection, b"".join(lines))
            sender = asyncio.ensure_future(_send_chunks(transport, body))
            sender.add_done_callback(lambda task: task.cancelled() or task.exception())
        connection.deadline, connection.timeout = loop.time() + timeout, timeout
        self.waiting.add(connection)
        if self.sweeper is None or self.sweeper_loop is not loop:
            self._arm_sweeper(loop)
        try:
            return await head
        except HeadTimeout:
            transport.close()
            raise
        except UpstreamError as exc:
            transport.close()
            if connection.received:
                raise
            where = connection.host_header.decode()
            raise NoResponse(f"{where} closed the connection without answering: {exc}") from None
        except BaseException:  # cancelled: the connection's state is unknown
            transport.close()
            raise
        finally:
            self.waiting.discard(connection)

    def _arm_sweeper(self, loop: asyncio.AbstractEventLoop) -> None:
        self.sweeper_loop = loop
        self.sweeper = loop.call_later(SWEEP_SECONDS, self.sweep, loop)

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the heads awaited past their deadline; one timer for all calls, not one per call."""
        if loop is not self.sweeper_loop:
            return  # armed on an event loop the pool has since left: the new loop has its own timer
        self.sweeper = None
        if not self.waiting:
            return
        now = loop.time()
        for connection in [c for c in self.waiting if c.deadline <= now]:
            if connection.head is not None:
                _expire(connection.head, connection.timeout)
        self._arm_sweeper(loop)

    def close(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        for idle in self.idle.values():
            for connection in idle:
                if connection.transport is not None:
                    connection.transport.close()
        self.idle.clear()


async def _send_chunks(transport: asyncio.Transport, body: AsyncIterator[bytes]) -> None:
    async for chunk in body:
        if chunk and not transport.is_closing():
            transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
    if not transport.is_closing():
        transport.write(b"0\r\n\r\n")


def _send(connection: _Connection, data: bytes) -> None:
    """Write a request; ConnectFailed (nothing was sent) when the connection is already gone."""
    try:
        connection.transport.write(data)  # type: ignore[union-attr]
    except RuntimeError as exc:  # uvloop: the job closed it and connection_lost is still on its way
        connection.closed = True
        where = connection.host_header.decode()
        raise ConnectFailed(f"the connection to {where} closed before the request went out: {exc}") from None


def _expire(head: asyncio.Future[Response], timeout: float) -> None:
    if not head.done():
        head.set_exception(HeadTimeout(f"the job did not answer within {timeout:g} s"))


def _host_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url if "//" in base_url else "http://" + base_url)
    if parts.scheme not in ("http", ""):
        raise ConnectFailed(f"replica address {base_url!r} is not plain http://host:port")
    return parts.hostname or "127.0.0.1", parts.port or 80
