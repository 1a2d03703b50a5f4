"""Websockets through /pub (webviews): authorize like any call, then relay frames both ways (wsproto)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from racetrack.gateway.errors import GatewayError, NoReplicaAnswered
from racetrack.gateway.upstream import _host_port
from racetrack.protocol import PUB_PREFIXES

WS_HEADERS = {
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
}
CLOSE_CODES = {401: 4401, 404: 4404, 502: 1014, 503: 1013, 504: 1014}


async def proxy_websocket(app: Any, scope: dict[str, Any], receive: Any, send: Any, raw: bytes) -> None:
    from racetrack.gateway.app import JOB_KINDS, split_job_path

    request_id = ""
    try:
        if not raw.startswith(JOB_KINDS):
            raise GatewayError("websockets are served for jobs only: /pub/job/{name}/{version}/{path}")
        name, version, rest = split_job_path(raw.split(b"/", 2)[2])
        from racetrack.gateway.headers import caller_token, tracing_id

        request_id = tracing_id(scope["headers"])
        decision = await app.authorize(
            name, version, unquote(rest.decode("latin-1")), caller_token(scope["headers"])
        )
        job = decision.job
        if not job.replicas:
            raise NoReplicaAnswered(f"job {job.name} {job.version} has no running replica")
        replica = job.replicas[next(app.proxy.turn) % len(job.replicas)]
        host, port = _host_port(replica)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise NoReplicaAnswered(f"connection refused to a target job (job may be dead): {exc}") from None
    except GatewayError as exc:
        await receive()  # websocket.connect
        await send(
            {
                "type": "websocket.close",
                "code": CLOSE_CODES.get(exc.status, 1011),
                "reason": exc.message[:120],
            }
        )
        return
    target = f"{PUB_PREFIXES[0]}/{job.name}/{job.version}{rest.decode('latin-1')}"
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    client = scope.get("client")
    forwarded = app.proxy.job_headers(
        scope["headers"], decision, request_id, client[0] if client else None, scope.get("scheme", "http")
    )
    headers = [h for h in forwarded if h[0] not in WS_HEADERS]
    ws = WSConnection(ConnectionType.CLIENT)
    writer.write(
        ws.send(
            Request(
                host=f"{host}:{port}",
                target=target,
                extra_headers=headers,
                subprotocols=list(scope.get("subprotocols") or ()),
            )
        )
    )
    accepted, first = await _handshake(ws, reader)
    await receive()  # websocket.connect
    if accepted is None:
        writer.close()
        await send({"type": "websocket.close", "code": 1011, "reason": "the job refused the websocket"})
        return
    await send({"type": "websocket.accept", "subprotocol": accepted.subprotocol})
    upstream = asyncio.ensure_future(_job_to_caller(ws, reader, writer, send, first))
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                with contextlib.suppress(Exception):
                    writer.write(ws.send(CloseConnection(code=message.get("code", 1000))))
                break
            if message.get("text") is not None:
                writer.write(ws.send(Message(data=message["text"])))
            elif message.get("bytes") is not None:
                writer.write(ws.send(Message(data=message["bytes"])))
    finally:
        upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await upstream
        writer.close()


async def _handshake(
    ws: WSConnection, reader: asyncio.StreamReader
) -> tuple[AcceptConnection | None, list[Event]]:
    """The job's answer to the handshake, and the events that came in with it (frames sent right away)."""
    while True:
        data = await reader.read(65536)
        if not data:
            return None, []
        ws.receive_data(data)
        events = list(ws.events())
        for index, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return event, events[index + 1 :]
            if isinstance(event, RejectConnection):
                return None, []


async def _job_to_caller(
    ws: WSConnection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    send: Any,
    first: list[Event],
) -> None:
    """Relay the job's messages to the caller, in order, starting with those that came with the handshake."""
    text: list[str] = []
    binary: list[bytes] = []
    events = first
    while True:
        for event in events:
            if isinstance(event, TextMessage):
                text.append(event.data)
                if event.message_finished:
                    await send({"type": "websocket.send", "text": "".join(text)})
                    text.clear()
            elif isinstance(event, BytesMessage):
                binary.append(bytes(event.data))
                if event.message_finished:
                    await send({"type": "websocket.send", "bytes": b"".join(binary)})
                    binary.clear()
            elif isinstance(event, Ping):
                writer.write(ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                with contextlib.suppress(Exception):
                    writer.write(ws.send(event.response()))
                await send({"type": "websocket.close", "code": event.code or 1000})
                return
        data = await reader.read(65536)
        if not data:
            await send({"type": "websocket.close", "code": 1011})
            return
        ws.receive_data(data)
        events = list(ws.events())
