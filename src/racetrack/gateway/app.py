"""The gateway as one raw ASGI app: a route table over /pub paths, errors rendered in one place."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from racetrack import cors
from racetrack.gateway.auth import Authorizer, Decision
from racetrack.gateway.config import GatewayConfig
from racetrack.gateway.errors import (
    GatewayError,
    JobNotFound,
    MethodNotAllowed,
    RouteNotFound,
    Unauthenticated,
)
from racetrack.gateway.headers import TRACING, caller_token, tracing_id
from racetrack.gateway.metrics import GatewayMetrics
from racetrack.gateway.openapi import openapi_document
from racetrack.gateway.proxy import Answer, AsgiAnswer, Proxy
from racetrack.protocol import PUB_PREFIXES

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
log = logging.getLogger("racetrack.gateway")
JOB_KINDS = (b"/job/", b"/fatman/")
PUB = "/pub"


def json_answer(payload: Any, request_id: str | None = None) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of a JSON answer of the gateway's own."""
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if request_id:
        headers.append((TRACING, request_id.encode()))
    return headers, body


async def send_json(send: Send, status: int, payload: Any, request_id: str | None = None) -> None:
    headers, body = json_answer(payload, request_id)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: GatewayError, request_id: str) -> None:
    await send_json(send, error.status, error.body(request_id), request_id)


def gateway_path(scope: Scope) -> bytes:
    """The raw (still percent-encoded) path below /pub, whether mounted at /pub or serving it itself."""
    raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
    root = scope.get("root_path") or ""
    if root and raw.startswith(root.encode()):
        raw = raw[len(root) :]
    if raw.startswith(b"/pub/") or raw == b"/pub":
        raw = raw[4:]
    return raw or b"/"


def split_job_path(raw: bytes) -> tuple[str, str, bytes]:
    """`name/version/rest` (after /job/) -> (name, version, b"/rest"); RouteNotFound when incomplete."""
    parts = raw.split(b"/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise RouteNotFound(
            "call a job at /pub/job/{name}/{version}/{path}, e.g. /pub/job/adder/latest/api/v1/perform"
        )
    rest = b"/" + parts[2] if len(parts) == 3 else b""
    return unquote(parts[0].decode("latin-1")), unquote(parts[1].decode("latin-1")), rest


@dataclass(slots=True)
class JobCall:
    """A caller's request to a job, as the gateway needs it: from an ASGI scope, or from the HTTP protocol's
    direct path (docs/gateway.md, "Speed")."""

    method: str
    path: str  # as the caller asked, for messages
    rest: bytes  # the raw path after /job/ or /fatman/: name/version/...
    query: bytes
    headers: list[tuple[bytes, bytes]]
    client: str | None
    scheme: str
    pub_prefix: str

    @classmethod
    def from_scope(cls, scope: Scope, rest: bytes) -> JobCall:
        client = scope.get("client")
        return cls(
            scope["method"],
            scope["path"],
            rest,
            scope.get("query_string") or b"",
            scope["headers"],
            client[0] if client else None,
            scope.get("scheme", "http"),
            scope.get("root_path") or PUB,
        )


async def request_body(receive: Receive) -> bytes | AsyncIterator[bytes]:
    """The request body: whole when it came in one message, else streamed as it comes."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body"):
        return _rest_of_body(body, receive)
    return body


async def _rest_of_body(first: bytes, receive: Receive) -> AsyncIterator[bytes]:
    yield first
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


class GatewayApp:
    """Route /pub calls; background work (async tasks) starts with the first request or `startup()`."""

    def __init__(self, config: GatewayConfig) -> None:
        from racetrack.gateway.tasks import TaskService

        self.config = config
        self.metrics = GatewayMetrics()
        self.auth = Authorizer(config)
        self.proxy = Proxy(config.gateway_secret, config.timeout)
        self.tasks = TaskService(config, self.auth, self.proxy)
        self.metrics.watch_tasks(self.tasks.store.count_by_state)
        self._started: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        if self._started is None:
            self._started = asyncio.ensure_future(self.tasks.start())
        await self._started

    @property
    def started(self) -> bool:
        return self._started is not None and self._started.done()

    async def shutdown(self) -> None:
        await self.tasks.stop()
        self.proxy.close()
        await self.auth.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if not self.started:
            await self.startup()
        raw = gateway_path(scope)
        if kind == "websocket":
            from racetrack.gateway.websocket import proxy_websocket

            await proxy_websocket(self, scope, receive, send, raw)
            return
        if raw.startswith(JOB_KINDS):
            body = await request_body(receive)
            answer = AsgiAnswer(send, receive, watch_disconnect=isinstance(body, bytes))
            await self.job_call(JobCall.from_scope(scope, raw.split(b"/", 2)[2]), body, answer)
            return
        request_id = tracing_id(scope["headers"])
        if cors.is_cross_origin(scope["headers"]):
            preflight = cors.preflight_answer(scope["method"], scope["headers"])
            if preflight is not None:
                await cors.send_preflight(send, [*preflight, (TRACING, request_id.encode())])
                return
            send = cors.CrossOriginSend(send)
        try:
            if raw.startswith(b"/async/"):
                await self.tasks.route(scope, receive, send, raw, request_id)
                return
            handler = self.routes.get(raw.decode("latin-1"))
            if handler is None:
                raise RouteNotFound(
                    f"no gateway route at {scope['path']}; jobs are at /pub/job/{{name}}/{{version}}/{{path}}"
                )
            if scope["method"] not in ("GET", "HEAD"):
                raise MethodNotAllowed(f"{scope['path']} answers GET only")
            await handler(self, send, request_id)
        except GatewayError as exc:
            await send_error(send, exc, request_id)

    async def authorize(self, name: str, version: str, endpoint: str, token: str) -> Decision:
        try:
            decision = await self.auth.check(name, version, endpoint, token)
        except Unauthenticated:
            self.metrics.denied(name, "unauthenticated")
            raise
        except JobNotFound:
            self.metrics.denied(name, "not_found")
            raise
        self.metrics.authorized(decision.job.name, decision.job.version, len(decision.job.replicas))
        return decision

    async def job_call(self, call: JobCall, body: bytes | AsyncIterator[bytes], answer: Answer) -> None:
        """/pub/job/{name}/{version}{rest}: authorize, forward, count."""
        started = time.perf_counter()
        request_id = tracing_id(call.headers)
        status, name, version, endpoint = 500, "", "", ""
        try:
            name, version, rest = split_job_path(call.rest)
            endpoint = unquote(rest.decode("latin-1"))
            if call.method == "OPTIONS" and (preflight := cors.preflight_answer("OPTIONS", call.headers)):
                status = 200  # a browser asking before a cross-origin call: no token, the job is not asked
                await answer.whole(200, [*preflight, (TRACING, request_id.encode())], cors.PREFLIGHT_BODY)
                return
            decision = await self.authorize(name, version, endpoint, caller_token(call.headers))
            job = decision.job
            version = job.version
            target = f"{PUB_PREFIXES[0]}/{job.name}/{job.version}".encode() + rest
            if call.query:
                target += b"?" + call.query
            status = await self.proxy.forward(call, body, decision, target, request_id, answer)
        except GatewayError as exc:
            status = exc.status
            if status >= 500:  # the gateway's own failures; the jobs log their calls themselves
                log.warning("%s %s: %d %s, tracing_id=%s", call.method, call.path, status, exc, request_id)
            headers, body = json_answer(exc.body(request_id), request_id)
            if cors.is_cross_origin(call.headers):
                headers.append(cors.ALLOW_ORIGIN)
            await answer.whole(status, headers, body)
        finally:
            self.metrics.call(name, version, endpoint, status, time.perf_counter() - started)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # own routes
    async def live(self, send: Send, request_id: str) -> None:
        await send_json(send, 200, {"service": "racetrack-gateway", "live": True}, request_id)

    async def ready(self, send: Send, request_id: str) -> None:
        await send_json(send, 200, {"service": "racetrack-gateway", "ready": True}, request_id)

    async def health(self, send: Send, request_id: str) -> None:
        database = await asyncio.to_thread(self.tasks.store.ping)
        status = 200 if database else 503
        payload = {
            "service": "racetrack-gateway",
            "status": "pass" if database else "fail",
            "database_connected": database,
            "control_plane": self.config.control_plane,
        }
        await send_json(send, status, payload, request_id)

    async def prometheus(self, send: Send, request_id: str) -> None:
        body = generate_latest(self.metrics.registry)
        headers = [(b"content-type", CONTENT_TYPE_LATEST.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def openapi(self, send: Send, request_id: str) -> None:
        await send_json(send, 200, openapi_document(), request_id)

    routes: dict[str, Callable[[GatewayApp, Send, str], Awaitable[None]]] = {
        "/live": live,
        "/ready": ready,
        "/health": health,
        "/metrics": prometheus,
        "/openapi.json": openapi,
    }


def gateway_app(config: GatewayConfig) -> GatewayApp:
    """The gateway ASGI app; mount it at /pub, or serve it alone (it answers /pub/... itself)."""
    return GatewayApp(config)
