"""The HTTP/1.1 connection layer: uvicorn's httptools protocol with the limits it lacks.

- the request line and headers are capped (431): httptools buffers a header of any size otherwise;
- a connection must send a complete request head within `head_timeout` seconds (408, or closed silently
  when it sent nothing); idle keep-alive connections are closed by uvicorn's `timeout_keep_alive`;
- at most `max_connections` connections: beyond it an idle one is closed to make room, else calls get 503
  while probes (/live, /ready, ...) are still answered, so monitors see the job while it sheds load;
- `Upgrade:` is ignored (the request served as plain HTTP, its body kept) unless it is a websocket
  handshake (a GET with Sec-WebSocket-Key) and the server has a websocket protocol.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
import resource
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from racetrack.protocol import PROBE_PATHS
from racetrack.wrapper.http.responses import error_body
from racetrack.wrapper.http.routing import pub_prefix, split_prefix
from racetrack.wrapper.telemetry.tracing import REQUEST_ID_HEADER, request_id_for

logger = logging.getLogger("racetrack.wrapper")

_UPGRADE = re.compile(rb"(?im)^upgrade(?=[ \t]*:)")
_FD_RESERVE = 64  # descriptors kept for the job's own files, worker pipes and probes beyond the cap
_PROBE_RESERVE = 16  # connections beyond the cap still read, for their probes
_LINGER_SECONDS = 2.0  # a refused connection is read (and dropped) this long before it is closed


@dataclass(frozen=True)
class ConnectionLimits:
    """Bounds of the HTTP edge; the defaults are the wrapper's `run` defaults."""

    max_head_bytes: int = 64 * 1024
    head_timeout: float = 10.0
    max_connections: int = 0  # 0: derived from the process's file descriptor limit

    def connection_cap(self) -> int:
        if self.max_connections:
            return self.max_connections
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 4096
        return max(8, min(4096, soft - _FD_RESERVE - _PROBE_RESERVE))


def protocol_class(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """An HttpToolsProtocol subclass enforcing `limits` (uvicorn's `http=` option takes a class)."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "max_head_bytes": limits.max_head_bytes,
            "head_timeout": limits.head_timeout,
            "max_connections": limits.connection_cap(),
        },
    )


def raw_error(status: int, kind: str, message: str) -> bytes:
    """A complete HTTP/1.1 response in the one error shape, closing the connection."""
    request_id = request_id_for([])
    body = error_body(kind, message, None, request_id)
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{REQUEST_ID_HEADER.lower()}: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """See the module docstring; the class attributes are set by `protocol_class`."""

    max_head_bytes = 64 * 1024
    head_timeout = 10.0
    max_connections = 4096

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.in_head = True  # waiting for, or reading, a request line and headers
        self.head_bytes = 0
        self.over_cap = False
        self.discarding = False  # refused: the rest of what the client sends is dropped
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._evict_idle():
            if len(self.connections) > self.max_connections + _PROBE_RESERVE:
                transport.close()
                return
            self.over_cap = True
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        if self.in_head and b"pgrade" in data:
            data = self._ignore_upgrade(data)
        super().data_received(data)
        if self.in_head and self.parser is not None:
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                self._refuse(
                    431,
                    "header_too_large",
                    f"the request line and headers exceed {self.max_head_bytes} bytes; send less "
                    "(large inputs belong in the body)",
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.head_bytes = 0
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._cancel_head_timer()
        if self.over_cap and not _is_probe(httptools.parse_url(self.url).path):
            self.app = _over_capacity  # this connection only: it is beyond the cap
        super().on_headers_complete()

    def _ignore_upgrade(self, data: bytes) -> bytes:
        end = data.find(b"\r\n\r\n")
        head = data if end < 0 else data[: end + 4]
        if self.ws_protocol_class is not None and _is_websocket_handshake(head):
            return data
        return _UPGRADE.sub(b"X-Ignored-Upgrade", head) + (b"" if end < 0 else data[end + 4 :])

    def _evict_idle(self) -> bool:
        """Close one connection that is between requests; whether there was one."""
        for other in self.connections:
            if other is not self and isinstance(other, LimitedHttpToolsProtocol) and other._idle():
                other.transport.close()
                self.connections.discard(other)
                return True
        return False

    def _idle(self) -> bool:
        return self.in_head and self.head_bytes == 0 and (self.cycle is None or self.cycle.response_complete)

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.in_head:
            return
        if self.head_bytes or (self.cycle is not None and not self.cycle.response_complete):
            self._refuse(
                408,
                "request_timeout",
                f"the request line and headers did not arrive within {self.head_timeout:g} s",
            )
        else:
            self.transport.close()

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _refuse(self, status: int, kind: str, message: str) -> None:
        """Answer `status` and close; what the client still sends is read and dropped for a moment first
        (closing at once would reset the connection and the client might never read the answer)."""
        logger.warning("%s %s from %s", status, message, self.client[0] if self.client else "?")
        self.in_head = False
        self.discarding = True
        self._cancel_head_timer()
        self.transport.write(raw_error(status, kind, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)


def _is_websocket_handshake(head: bytes) -> bool:
    """A GET asking for a websocket with its key: what wsproto can upgrade (any other Upgrade is dropped)."""
    lowered = head.lower()
    return head.startswith(b"GET ") and b"websocket" in lowered and b"sec-websocket-key" in lowered


_ANY_JOB = pub_prefix()


def _is_probe(path: bytes) -> bool:
    return split_prefix(_ANY_JOB, path.decode("latin-1"))[1] in PROBE_PATHS


async def _over_capacity(scope: Any, receive: Any, send: Any) -> None:
    request_id = request_id_for(scope["headers"])
    body = error_body(
        "overloaded",
        "the job has too many open connections; retry later, or reuse fewer connections",
        None,
        request_id,
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
