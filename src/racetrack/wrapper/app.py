"""The job's ASGI app: answers at once, loads the entrypoint in the background, then serves its routes."""

from __future__ import annotations

import asyncio
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from racetrack.wrapper import openapi
from racetrack.wrapper.calls import Invoke, ThreadInvoker
from racetrack.wrapper.contract import Endpoint
from racetrack.wrapper.encoding import encode_json
from racetrack.wrapper.job import Job, load_job
from racetrack.wrapper.loader import LoadError
from racetrack.wrapper.metrics import (
    CONTENT_TYPE as METRICS_CONTENT_TYPE,
)
from racetrack.wrapper.metrics import (
    CallMetrics,
    EndpointMetrics,
    EntrypointMetricsCollector,
    metric_names,
    new_registry,
    render,
)
from racetrack.wrapper.responses import (
    JSON,
    HTTPError,
    method_not_allowed,
    not_found,
    send_error,
    send_response,
    validation_error,
)
from racetrack.wrapper.settings import JobSettings
from racetrack.wrapper.static import StaticServer
from racetrack.wrapper.tracing import REQUEST_ID_HEADER, request_id_for, request_id_var

logger = logging.getLogger("racetrack.wrapper")

API = "/api/v1"
WEBVIEW = API + "/webview"
HTML = b"text/html; charset=utf-8"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()


@dataclass(frozen=True)
class CallRoute:
    """A perform/auxiliary endpoint with its metric children, as looked up on every call."""

    url: str
    endpoint: Endpoint
    metrics: EndpointMetrics


class JobApp:
    """ASGI app serving one job under `/`, `/pub/fatman/{name}/{version}` and `/pub/job/{name}/{version}`."""

    def __init__(
        self, settings: JobSettings, invoke: Invoke | None = None, registry: CollectorRegistry | None = None
    ) -> None:
        self.settings = settings
        self.invoke: Invoke = invoke or ThreadInvoker()
        self.registry = registry or new_registry()
        self.metrics = CallMetrics(self.registry)
        self.job: Job | None = None
        self.load_error: LoadError | None = None
        # Racetrack-compatible: user code reads the current starlette Request via self.request_context.get()
        self.request_context: ContextVar[Request] = ContextVar("request_context")
        self._calls: dict[str, CallRoute] = {}
        self._statics: list[tuple[str, StaticServer]] = []
        self._docs_cache: dict[str, bytes] = {}
        self._prefix = re.compile(rf"/pub/(?:fatman|job)/{re.escape(settings.name)}/[A-Za-z0-9._+-]+(?=/|$)")
        self._loading: asyncio.Future[None] | None = None

    @property
    def ready(self) -> bool:
        return self.job is not None

    def load(self) -> None:
        """Import and instantiate the entrypoint (blocking); on failure keep serving and report it."""
        try:
            job = load_job(self.settings)
        except LoadError as exc:
            self.load_error = exc
            logger.error("loading the job failed: %s\n%s", exc, exc.traceback or "")
            return
        except Exception as exc:  # a bug of ours must not look like a healthy, loading job
            self.load_error = LoadError(f"loading the job failed: {exc}", type(exc).__name__)
            logger.exception("loading the job failed")
            return
        self._install(job)
        logger.info("job %s %s is ready", self.settings.name, self.settings.version)

    def _install(self, job: Job) -> None:
        self._calls = {
            API + endpoint.path: CallRoute(
                API + endpoint.path, endpoint, self.metrics.for_endpoint(endpoint.path)
            )
            for endpoint in job.endpoints
        }
        self._statics = [(API + static.path, StaticServer(static)) for static in job.statics]
        if callable(getattr(job.entrypoint, "metrics", None)):
            reserved = metric_names(self.registry)
            self.registry.register(EntrypointMetricsCollector(job.entrypoint.metrics, reserved))  # type: ignore[attr-defined]
        if not hasattr(job.entrypoint, "request_context"):
            job.entrypoint.request_context = self.request_context  # type: ignore[attr-defined]
        self.job = job

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_for(scope["headers"])
        token = request_id_var.set(request_id)
        try:
            path = scope["path"]
            prefix = ""
            if path.startswith("/pub/") and (match := self._prefix.match(path)):
                prefix = match.group()
                path = path[len(prefix) :]
            route = self._calls.get(path)
            if route is not None and scope["method"] == "POST":
                await self._call(route, scope, receive, send, request_id)
            else:
                await self._serve_other(path, prefix, scope, receive, send, request_id)
        except HTTPError as exc:
            await send_error(send, exc, request_id)
        finally:
            request_id_var.reset(token)

    async def _call(
        self, route: CallRoute, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        """Validate the body, call the method through `invoke`, answer with the JSON-encoded result."""
        started_at = self.metrics.call_started(route.metrics)
        status = 499  # stays so only if the client goes away mid-call
        try:
            body = await read_body(receive)
            try:
                kwargs = route.endpoint.parse(body)
            except ValidationError as exc:
                raise self._invalid_body(route, body, exc) from None
            context_token = self.request_context.set(Request(scope, receive))
            try:
                result = await self.invoke(route.endpoint, kwargs)
            finally:
                self.request_context.reset(context_token)
            try:
                payload = encode_json(result)
            except TypeError as exc:
                raise HTTPError(
                    500, "internal_error", f"the result of {route.url} is not JSON-serializable: {exc}"
                ) from None
            status = 200
            await send_response(send, 200, payload, request_id)
        except HTTPError as exc:
            status = exc.status
            await send_error(send, exc, request_id)
        except ValueError as exc:
            status = 400
            logger.info("%s rejected the input: %s", route.url, exc)
            await send_error(send, HTTPError(400, "bad_request", f"{route.url}: {exc}"), request_id)
        except Exception as exc:
            status = 500
            logger.exception("%s failed", route.url)
            message = f"{route.url} failed: {type(exc).__name__}: {exc}"
            await send_error(send, HTTPError(500, "internal_error", message), request_id)
        finally:
            self.metrics.call_finished(route.metrics, started_at, status)

    def _invalid_body(self, route: CallRoute, body: bytes, exc: ValidationError) -> HTTPError:
        if not body.strip():
            example = route.endpoint.example or {
                p.name: "..." for p in route.endpoint.parameters if p.required
            }
            return HTTPError(
                422,
                "validation_error",
                f"{route.url} needs a JSON object body with its parameters, "
                f"e.g. {encode_json(example).decode()}",
                [{"loc": ["body"], "msg": "Field required", "type": "missing"}],
            )
        return validation_error(exc, route.url)

    async def _serve_other(
        self, path: str, prefix: str, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        """Every route but the call fast path."""
        method = scope["method"]
        if path in ("", "/"):
            await _redirect(send, prefix + "/docs", request_id)
            return
        handler = self._get_routes.get(path)
        if handler is not None:
            if method not in ("GET", "HEAD"):
                raise method_not_allowed(method, path, "GET")
            status, body, content_type = await handler(self, prefix)
            await send_response(send, status, body, request_id, content_type, include_body=method == "GET")
            return
        if path.startswith("/docs/assets/"):
            asset = openapi.docs_asset(path.removeprefix("/docs/assets/"))
            if asset is None:
                raise not_found(path)
            headers = ((b"cache-control", b"public, max-age=86400"),)
            await send_response(send, 200, asset[0], request_id, asset[1], headers, method != "HEAD")
            return
        if self.job is None and (path.startswith(API) or path in ("/docs", "/redoc", "/openapi.json")):
            raise self._not_ready()
        if path in self._calls:
            raise method_not_allowed(method, path, "POST")
        if path in ("/docs", "/redoc", "/openapi.json"):
            if method not in ("GET", "HEAD"):
                raise method_not_allowed(method, path, "GET")
            body, content_type = self._docs(path, prefix)
            await send_response(send, 200, body, request_id, content_type, include_body=method == "GET")
            return
        await self._serve_files(path, prefix, scope, receive, send, request_id)

    async def _serve_files(
        self, path: str, prefix: str, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        """Static endpoints, the webview app and its static/ directory."""
        tagged_send = _with_request_id(send, request_id)
        job = self.job
        if (
            job is not None
            and job.webview is not None
            and (path == WEBVIEW or path.startswith(WEBVIEW + "/"))
        ):
            subpath = path[len(WEBVIEW) :]
            if not subpath:
                await _redirect(send, prefix + WEBVIEW + "/", request_id)
            elif subpath.startswith("/static/") and job.webview.static is not None:
                await _send_static(
                    job.webview.static, subpath.removeprefix("/static/"), scope, receive, tagged_send
                )
            else:
                await job.webview(subpath, scope, receive, tagged_send)
            return
        for url, server in self._statics:
            if path == url or (server.endpoint.is_dir and path.startswith(url + "/")):
                await _send_static(server, path[len(url) + 1 :], scope, receive, tagged_send)
                return
        raise not_found(path)

    def _docs(self, path: str, prefix: str) -> tuple[bytes, bytes]:
        key = path + "|" + prefix
        cached = self._docs_cache.get(key)
        if cached is None:
            assert self.job is not None
            title = f"{self.settings.name} {self.settings.version}"
            if path == "/openapi.json":
                cached = encode_json(openapi.with_server(self.job.openapi, prefix))
            elif path == "/docs":
                cached = openapi.swagger_ui_html(prefix, title)
            else:
                cached = openapi.redoc_html(prefix, title)
            if len(self._docs_cache) < 64:  # prefixes vary only by version string; keep the cache bounded
                self._docs_cache[key] = cached
        return cached, (JSON if path == "/openapi.json" else HTML)

    def _not_ready(self) -> HTTPError:
        if self.load_error is not None:
            return HTTPError(
                503, "not_ready", f"the job failed to load: {self.load_error}", self._load_details()
            )
        return HTTPError(
            503,
            "not_ready",
            "the job is still loading (importing the entrypoint, running __init__); retry later",
            None,
            ((b"retry-after", b"5"),),
        )

    def _load_details(self) -> list[dict[str, Any]] | None:
        error = self.load_error
        return (
            None if error is None else [{"exception_type": error.exception_type, "location": error.location}]
        )

    async def _live(self, prefix: str) -> tuple[int, bytes, bytes]:
        if self.load_error is not None:
            body = encode_json(
                {
                    "error": f"the job failed to load: {self.load_error}",
                    "type": "load_error",
                    "details": self._load_details(),
                    "request_id": request_id_var.get(),
                }
            )
            return 500, body, JSON
        return 200, encode_json({"live": True, "ready": self.ready}), JSON

    async def _ready(self, prefix: str) -> tuple[int, bytes, bytes]:
        if not self.ready:
            error = self._not_ready()
            return (
                503,
                encode_json(
                    {
                        "error": error.message,
                        "type": error.kind,
                        "details": error.details,
                        "request_id": request_id_var.get(),
                    }
                ),
                JSON,
            )
        return 200, encode_json({"ready": True}), JSON

    async def _health(self, prefix: str) -> tuple[int, bytes, bytes]:
        settings = self.settings
        error = None if self.ready else self._not_ready().message
        body = {
            "name": settings.name,
            "version": settings.version,
            "git_version": settings.git_version,
            "deployment_timestamp": settings.deployment_timestamp,
            "live": self.load_error is None,
            "ready": self.ready,
            "status": "pass" if self.ready else "fail",
            "error": error,
        }
        return 200, encode_json(body), JSON

    async def _metrics(self, prefix: str) -> tuple[int, bytes, bytes]:
        body = await asyncio.get_running_loop().run_in_executor(None, render, self.registry)
        return 200, body, METRICS_CONTENT_TYPE

    async def _parameters(self, prefix: str) -> tuple[int, bytes, bytes]:
        if self.job is None:
            raise self._not_ready()
        return 200, self.job.parameters_json, JSON

    _get_routes = {
        "/live": _live,
        "/ready": _ready,
        "/health": _health,
        "/metrics": _metrics,
        API + "/parameters": _parameters,
    }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._loading = asyncio.get_running_loop().run_in_executor(None, self.load)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                close = getattr(self.invoke, "close", None)
                if close is not None:
                    close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "client_disconnected", "the client went away while sending the body")
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _send_static(
    server: StaticServer, subpath: str, scope: Scope, receive: Receive, send: Send
) -> None:
    try:
        response = await server.response(subpath, scope)
    except HTTPException as exc:
        if exc.status_code == 405:
            raise method_not_allowed(scope["method"], scope["path"], "GET, HEAD") from None
        raise not_found(scope["path"]) from None
    await response(scope, receive, send)


async def _redirect(send: Send, location: str, request_id: str) -> None:
    await send_response(send, 307, b"", request_id, b"text/plain", ((b"location", location.encode()),))


def _with_request_id(send: Send, request_id: str) -> Send:
    """`send` adding the request id header to a response started by another ASGI app."""
    header = (_REQUEST_ID_KEY, request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return send_with_id
