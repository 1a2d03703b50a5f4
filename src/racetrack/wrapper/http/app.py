"""The job's ASGI app: answers at once, loads the entrypoint in the background, then serves its routes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send

from racetrack.cors import CrossOriginSend, is_cross_origin, preflight_answer, send_preflight
from racetrack.protocol import API_PREFIX, GATEWAY_TOKEN_HEADER, PROBE_PATHS
from racetrack.wrapper.contract import openapi
from racetrack.wrapper.contract.encoding import encode_json, encode_result
from racetrack.wrapper.contract.job import describe_route_mismatch
from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.contract.paths import WEBVIEW_PATH
from racetrack.wrapper.contract.signatures import Endpoint
from racetrack.wrapper.errors import HTTPError, NotReady, ShuttingDown, from_job_exception
from racetrack.wrapper.http import websocket
from racetrack.wrapper.http.bodylimit import BodyLimitMiddleware, read_body
from racetrack.wrapper.http.endpoints_v2 import EndpointsV2
from racetrack.wrapper.http.responses import (
    JSON,
    error_body,
    not_found,
    send_error,
    send_response,
    validation_error,
)
from racetrack.wrapper.http.routing import (
    ANY,
    GET,
    POST,
    Hit,
    Patterns,
    Route,
    RouteTable,
    Under,
    pub_prefix,
    split_prefix,
)
from racetrack.wrapper.http.secretenv import GatewayGuard, SecretEnvError, load_secret_env
from racetrack.wrapper.http.static import StaticServer
from racetrack.wrapper.http.streaming import stream_response, until_disconnect
from racetrack.wrapper.http.surface import Job, load_job
from racetrack.wrapper.http.webview import Webview
from racetrack.wrapper.runtime.dispatch import CallStream, Dispatcher
from racetrack.wrapper.runtime.shutdown import Drain
from racetrack.wrapper.runtime.workers import WorkerPool, WorkerSpec
from racetrack.wrapper.settings import JobSettings
from racetrack.wrapper.telemetry.logs import AccessLog
from racetrack.wrapper.telemetry.metrics import (
    CONTENT_TYPE as METRICS_CONTENT_TYPE,
)
from racetrack.wrapper.telemetry.metrics import (
    CallMetrics,
    EndpointMetrics,
    EntrypointMetricsCollector,
    RacetrackNames,
    metric_names,
    new_registry,
    render,
)
from racetrack.wrapper.telemetry.tracing import REQUEST_ID_HEADER, request_id_for, request_id_var

logger = logging.getLogger("racetrack.wrapper")

API = API_PREFIX
WEBVIEW = API + WEBVIEW_PATH
HTML = b"text/html; charset=utf-8"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
_GATEWAY_TOKEN_KEY = GATEWAY_TOKEN_HEADER.lower().encode()
# Probes and scrapes: answered while draining, not counted as requests in flight.
_PROBES = frozenset(PROBE_PATHS)
# A call still running after this many seconds starts watching for a client disconnect (async calls are
# cancelled, here or in a worker process; a worker's sync call is left to finish); quicker calls finish
# before a watcher is worth starting.
WATCH_DISCONNECT_AFTER = 0.05


@dataclass(frozen=True)
class CallRoute:
    """A perform/auxiliary endpoint with its metric children, as looked up on every call."""

    url: str
    endpoint: Endpoint
    metrics: EndpointMetrics
    timeout: float
    stoppable: bool  # an async or worker-process call: not awaited any more once the client disconnects


class JobApp:
    """ASGI app serving one job under `/`, `/pub/fatman/{name}/{version}` and `/pub/job/{name}/{version}`."""

    def __init__(self, settings: JobSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.runtime = runtime = settings.runtime
        self.manifest_file = settings.manifest_file
        self.registry = registry or new_registry()
        self.metrics = CallMetrics(self.registry)
        self.registry.register(RacetrackNames(self.metrics))
        self.drain = Drain()
        self.access_log = AccessLog()
        self.load_error: LoadError | None = None
        try:  # before anything imports the job; worker processes inherit the environment
            load_secret_env()
        except SecretEnvError as exc:
            self.load_error = LoadError(str(exc), "SecretEnvError")
            logger.error("%s", exc)
        self.gateway = GatewayGuard.from_env()
        # Racetrack-compatible: user code reads the current starlette Request via self.request_context.get()
        # (in worker processes: a Request rebuilt from the method, URL, headers and client; no body)
        self.request_context: ContextVar[Request] = ContextVar("request_context")
        self.pool: WorkerPool | None = None
        if runtime.workers:
            spec = WorkerSpec(settings.entrypoint_path, settings.entrypoint_class, str(settings.root))
            self.pool = WorkerPool(
                spec, runtime.workers, registry=self.registry, request_context=self.request_context
            )
        self.dispatcher = Dispatcher(
            None if self.pool else self._method,
            max_concurrency=runtime.max_concurrency,
            max_queue=runtime.max_queue,
            workers=self.pool,
            registry=self.registry,
            manifest_file=settings.manifest_file,
        )
        self._methods: dict[str, Callable[..., Any]] = {}
        self.job: Job | None = None
        self._docs_cache: dict[str, bytes] = {}
        self._prefix = pub_prefix(settings.name)
        self._loading: asyncio.Future[None] | None = None
        # `jobtype_extra.home_page`: where `/` (and `/pub/job/{name}/{version}/`) redirects
        self.home_page = "/" + (getattr(runtime, "home_page", None) or "/docs").lstrip("/")
        self.routes = self._route_table(None)

    @property
    def ready(self) -> bool:
        """The job is loaded here and, with `workers`, in every worker process."""
        return self.job is not None and (self.pool is None or self.pool.ready)

    @property
    def failure(self) -> LoadError | None:
        """Why the job cannot serve: loading failed here or in a worker process."""
        if self.load_error is None and self.pool is not None:
            return self.pool.load_failure
        return self.load_error

    def _method(self, path: str) -> Callable[..., Any]:
        return self._methods[path]

    def load(self) -> None:
        """Import the entrypoint and derive its routes (blocking); on failure keep serving and report it.

        With worker processes the entrypoint's `__init__` runs in them, not here, unless the class needs it
        (see `surface.load_job`); their load errors show through `failure`.
        """
        if self.load_error is not None:  # the secret env file could not be loaded
            return
        try:
            job = load_job(self.settings, calls_run_here=self.pool is None)
        except LoadError as exc:
            self.load_error = exc
            logger.error("loading the job failed: %s\n%s", exc, exc.traceback or "")
            return
        except Exception as exc:  # a bug of ours must not look like a healthy, loading job
            self.load_error = LoadError(f"loading the job failed: {exc}", type(exc).__name__)
            logger.exception("loading the job failed")
            return
        self._install(job)
        if self.pool is not None:
            routes, initialized = job.routes, job.initialized
            self.pool.check_routes(lambda theirs: describe_route_mismatch(routes, theirs, initialized))
        if self.pool is None:
            logger.info("job %s %s is ready", self.settings.name, self.settings.version)
        else:
            logger.info(
                "job %s %s: routes loaded; ready once the worker processes have loaded the entrypoint",
                self.settings.name,
                self.settings.version,
            )

    def _install(self, job: Job) -> None:
        runtime = self.runtime
        self._methods = {endpoint.path: endpoint.method for endpoint in job.endpoints}
        if job.webview is not None:
            job.webview.app = BodyLimitMiddleware(job.webview.app, runtime.max_body_bytes, self.manifest_file)
        if callable(getattr(job.entrypoint, "metrics", None)):
            reserved = metric_names(self.registry)
            read = self.pool.collect_metrics if self.pool else job.entrypoint.metrics  # type: ignore[attr-defined]
            self.registry.register(EntrypointMetricsCollector(read, reserved))
        if not hasattr(job.entrypoint, "request_context"):
            job.entrypoint.request_context = self.request_context  # type: ignore[attr-defined]
        self.routes = self._route_table(job)
        self.job = job

    def _route_table(self, job: Job | None) -> RouteTable:
        """Every route of the wrapper and, once loaded, of the job: fixed paths first, then what lies below
        a prefix, in order (docs assets, v2 endpoints, the webview, static endpoints)."""
        table = RouteTable()
        table.add(("", "/"), Route(self._home, ANY))
        for path, handler in self._get_routes.items():
            table.add((path,), Route(functools.partial(self._send_get, handler), GET))
        table.below.append(Under("/docs/assets", Route(self._docs_asset, GET), itself=False))
        if job is None:  # still loading, or failed: the job's routes answer why
            table.below.append(Under(API, Route(self._raise_not_ready, ANY)))
            return table
        runtime = self.runtime
        for endpoint in job.endpoints:
            call = CallRoute(
                API + endpoint.path,
                endpoint,
                self.metrics.for_endpoint(endpoint.path),
                runtime.timeout_for(endpoint.path),
                endpoint.is_async or self.pool is not None,
            )
            table.add((call.url,), Route(functools.partial(self._call, call), POST))
        if job.endpoints_v2 is not None:
            serve_v2 = functools.partial(self._serve_v2, job.endpoints_v2)
            table.below.append(Patterns.of(API, job.endpoints_v2.routes, serve_v2))
        webview = job.webview
        if webview is not None:
            table.add((WEBVIEW,), Route(self._webview_root, ANY))
            if webview.static is not None:
                serve = functools.partial(self._send_static, webview.static, WEBVIEW + "/static")
                table.below.append(Under(WEBVIEW + "/static", Route(serve, GET), itself=False))
            serve_app = functools.partial(self._serve_webview, webview)
            table.below.append(Under(WEBVIEW, Route(serve_app, ANY), itself=False))
        for static in job.statics:
            url = API + static.path
            serve = functools.partial(self._send_static, StaticServer(static), url)
            if static.is_dir:
                table.below.append(Under(url, Route(serve, GET)))
            else:
                table.add((url,), Route(serve, GET))
        return table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle_http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.handle_websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Request id, drain accounting and the access line around routing (one layer, no middlewares)."""
        started = time.perf_counter()
        request_id = request_id_for(scope["headers"])
        token = request_id_var.set(request_id)
        status = 500  # stays so only if an exception escapes (the server answers 500)
        prefix, path = split_prefix(self._prefix, scope["path"])
        counted = path not in _PROBES
        preflight = None
        if is_cross_origin(scope["headers"]):
            preflight = preflight_answer(scope["method"], scope["headers"])
            send = CrossOriginSend(send)
        drain = self.drain
        if counted:
            drain.enter()
        try:
            if preflight is not None:  # no token, nothing run: answered before the gateway check
                await send_preflight(send, [*preflight, _request_id(request_id)])
                status = 200
                return
            if counted and drain.draining:
                raise _shutting_down()
            if (
                self.gateway is not None
                and counted
                and not self.gateway.allows(scope["headers"], _GATEWAY_TOKEN_KEY)
            ):
                raise self._not_from_gateway()
            route = self.routes.resolve(path, scope["method"])
            status = await route.handler(Hit(scope, receive, send, path, prefix, request_id))
        except HTTPError as exc:
            status = exc.status
            await send_error(send, exc, request_id)
        except asyncio.CancelledError:
            if not drain.draining:
                raise
            # shutdown_grace is over: the server cancels what still runs
            status = 503
            logger.warning("%s %s stopped: shutdown_grace is over", scope["method"], scope["path"])
            with contextlib.suppress(Exception):  # fails when the response had started (a stream)
                await send_error(send, _shutting_down(), request_id)
        finally:
            if counted:
                drain.leave()
            self.access_log(scope["method"], scope["path"], status, time.perf_counter() - started)
            request_id_var.reset(token)

    async def handle_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket handshake: passed to an ASGI webview under /webview/, refused (an HTTP error) on every
        other path, while draining, or without the gateway's credential. Open websockets do not hold up a
        drain: the server closes them (1012) when it stops."""
        started = time.perf_counter()
        request_id = request_id_for(scope["headers"])
        token = request_id_var.set(request_id)
        _, path = split_prefix(self._prefix, scope["path"])
        tracked = websocket.TrackedSend(send)
        try:
            if self.drain.draining:
                raise _shutting_down()
            if self.gateway is not None and not self.gateway.allows(scope["headers"], _GATEWAY_TOKEN_KEY):
                raise self._not_from_gateway()
            webview = self._websocket_webview(path)
            await webview(path[len(WEBVIEW) :], scope, receive, tracked)
        except HTTPError as exc:
            tracked.status = exc.status
            await websocket.refuse(scope, send, exc, request_id)
        finally:
            self.access_log("WEBSOCKET", scope["path"], tracked.status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _websocket_webview(self, path: str) -> Webview:
        """The webview that takes a websocket at `path` (relative to the job's root); HTTPError otherwise."""
        job = self.job
        if job is None and path.startswith(API):
            raise self._not_ready()
        webview = job.webview if job is not None else None
        if webview is None or not path.startswith(WEBVIEW + "/") or path.startswith(WEBVIEW + "/static/"):
            raise websocket.not_a_websocket_route(path, WEBVIEW)
        if not webview.asgi:
            raise websocket.wsgi_webview(WEBVIEW)
        return webview

    async def _call(self, route: CallRoute, hit: Hit) -> int:
        """Validate the body, call the method through the dispatcher, answer with the JSON-encoded result
        (or stream the items of a generator); returns the status."""
        scope, receive, send, request_id = hit.scope, hit.receive, hit.send, hit.request_id
        started_at = self.metrics.call_started(route.metrics)
        status = 499  # stays so only if the client goes away mid-call
        try:
            body = await read_body(scope, receive, self.runtime.max_body_bytes, self.manifest_file)
            try:
                kwargs = route.endpoint.parse(body)
            except ValidationError as exc:
                raise self._invalid_body(route, body, exc) from None
            context_token = self.request_context.set(Request(scope, receive))
            try:
                call = self.dispatcher.call(route.endpoint.path, kwargs, route.timeout)
                if route.stoppable:
                    result = await until_disconnect(receive, call, WATCH_DISCONNECT_AFTER)
                else:
                    result = await call
            finally:
                self.request_context.reset(context_token)
            if isinstance(result, CallStream):
                response = await stream_response(result, scope["headers"], headers=[_request_id(request_id)])
                status = 200
                await response(scope, receive, send)
                return status
            try:
                payload = encode_result(result)
            except TypeError as exc:
                raise HTTPError(
                    500, "internal_error", f"the result of {route.url} is not JSON-serializable: {exc}"
                ) from None
            status = 200
            await send_response(send, 200, payload, request_id)
        except ClientDisconnect:
            logger.info("the client of %s disconnected; the call was stopped", route.url)
        except HTTPError as exc:  # the call runtime's errors (429, 503, 504, worker died) and ours
            status = exc.status
            if status >= 500:
                logger.warning("%s: %s", route.url, exc.message)
            await send_error(send, exc, request_id)
        except Exception as exc:  # raised by the job: errors.EXCEPTION_STATUS decides
            error = from_job_exception(exc, route.url)
            status = error.status
            if status >= 500:
                logger.exception("%s failed", route.url)
            else:
                logger.info("%s rejected the input: %s", route.url, exc)
            await send_error(send, error, request_id)
        finally:
            self.metrics.call_finished(route.metrics, started_at, status)
        return status

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

    async def _home(self, hit: Hit) -> int:
        return await _redirect(hit.send, hit.prefix + self.home_page, hit.request_id)

    async def _send_get(self, handler: Callable[..., Any], hit: Hit) -> int:
        """A fixed GET route: `handler` gives (status, body, content type); HEAD gets the head only."""
        status, body, content_type = await handler(self, hit.prefix)
        include_body = hit.scope["method"] == "GET"
        await send_response(hit.send, status, body, hit.request_id, content_type, include_body=include_body)
        return status

    async def _docs_asset(self, hit: Hit) -> int:
        asset = openapi.docs_asset(hit.path.removeprefix("/docs/assets/"))
        if asset is None:
            raise not_found(hit.path)
        headers = ((b"cache-control", b"public, max-age=86400"),)
        include_body = hit.scope["method"] != "HEAD"
        await send_response(hit.send, 200, asset[0], hit.request_id, asset[1], headers, include_body)
        return 200

    async def _raise_not_ready(self, hit: Hit) -> int:
        raise self._not_ready()

    async def _serve_v2(self, v2: EndpointsV2, template: str, hit: Hit) -> int:
        """A call to the auxiliary_endpoints_v2() route `template`, served by its FastAPI app."""
        scope = hit.scope
        child = {**scope, "root_path": scope.get("root_path", "") + hit.prefix + API}
        metrics = self.metrics.for_endpoint(template)
        started_at = self.metrics.call_started(metrics)
        tagged = _TaggedSend(hit.send, hit.request_id)
        context_token = self.request_context.set(Request(scope, hit.receive))
        try:
            await v2.app(child, hit.receive, tagged)
        finally:
            self.request_context.reset(context_token)
            self.metrics.call_finished(metrics, started_at, tagged.status)
        return tagged.status

    async def _webview_root(self, hit: Hit) -> int:
        return await _redirect(hit.send, hit.prefix + WEBVIEW + "/", hit.request_id)

    async def _serve_webview(self, webview: Webview, hit: Hit) -> int:
        tagged = _TaggedSend(hit.send, hit.request_id)
        await webview(hit.path[len(WEBVIEW) :], hit.scope, hit.receive, tagged)
        return tagged.status

    async def _send_static(self, server: StaticServer, url: str, hit: Hit) -> int:
        """A file of a static endpoint (or of the webview's static/ directory) at `url`."""
        tagged = _TaggedSend(hit.send, hit.request_id)
        scope = hit.scope
        try:
            response = await server.response(hit.path[len(url) + 1 :], scope)
        except HTTPException as exc:
            headers = tuple((key.lower().encode(), val.encode()) for key, val in (exc.headers or {}).items())
            kind = _STATIC_ERRORS.get(exc.status_code, "not_found")
            raise HTTPError(exc.status_code, kind, exc.detail, None, headers) from None
        await response(scope, hit.receive, tagged)
        return tagged.status

    async def _openapi_document(self, prefix: str) -> tuple[int, bytes, bytes]:
        return 200, *self._docs("/openapi.json", prefix)

    async def _swagger_ui(self, prefix: str) -> tuple[int, bytes, bytes]:
        return 200, *self._docs("/docs", prefix)

    async def _redoc(self, prefix: str) -> tuple[int, bytes, bytes]:
        return 200, *self._docs("/redoc", prefix)

    def _docs(self, path: str, prefix: str) -> tuple[bytes, bytes]:
        if self.job is None:
            raise self._not_ready()
        key = path + "|" + prefix
        cached = self._docs_cache.get(key)
        if cached is None:
            assert self.job is not None
            title = f"{self.settings.name} {self.settings.version}"
            if path == "/openapi.json":
                cached = encode_json(openapi.with_server(self.job.openapi, prefix))
            elif path == "/docs":
                cached = openapi.swagger_ui_html(prefix, title + " - Swagger UI")
            else:
                cached = openapi.redoc_html(prefix, title + " - ReDoc")
            if len(self._docs_cache) < 64:  # prefixes vary only by version string; keep the cache bounded
                self._docs_cache[key] = cached
        return cached, (JSON if path == "/openapi.json" else HTML)

    def _not_from_gateway(self) -> HTTPError:
        where = self.settings.public_prefix + "/"
        return HTTPError(
            401,
            "unauthorized",
            f"this job only accepts calls through the racetrack gateway ({GATEWAY_TOKEN_HEADER} is missing "
            f"or wrong); call it at the gateway's {where} address instead of the job's own",
        )

    def _not_ready(self) -> HTTPError:
        failure = self.failure
        if failure is not None:
            return NotReady(_load_failure(failure), _details(failure))
        what = "the worker processes are" if self.job is not None else "the job is"
        return HTTPError(
            503,
            "not_ready",
            f"{what} still loading (importing the entrypoint, running __init__); retry later",
            None,
            ((b"retry-after", b"5"),),
        )

    async def _live(self, prefix: str) -> tuple[int, bytes, bytes]:
        failure = self.failure
        if failure is not None:
            body = error_body("load_error", _load_failure(failure), _details(failure), request_id_var.get())
            return 500, body, JSON
        timestamp = self.settings.deployment_timestamp or None
        return 200, encode_json({"live": True, "ready": self.ready, "deployment_timestamp": timestamp}), JSON

    async def _ready(self, prefix: str) -> tuple[int, bytes, bytes]:
        if self.drain.draining or not self.ready:
            error = _shutting_down() if self.drain.draining else self._not_ready()
            return 503, error_body(error.kind, error.message, error.details, request_id_var.get()), JSON
        return 200, encode_json({"ready": True}), JSON

    async def _health(self, prefix: str) -> tuple[int, bytes, bytes]:
        settings = self.settings
        error = None if self.ready else self._not_ready().message
        failure = self.failure
        if failure is not None:
            error = _load_failure(failure)
        body = {
            "service": "job",
            "name": settings.name,
            "version": settings.version,
            "job_name": settings.name,  # Racetrack's keys, beside ours
            "job_version": settings.version,
            "git_version": settings.git_version or None,  # null when not deployed by a platform
            "deployed_by_racetrack_version": settings.deployed_by or None,
            "deployment_timestamp": settings.deployment_timestamp or None,
            "live": failure is None,
            "ready": self.ready,
            "status": "pass" if self.ready else "fail",
            "error": error,
        }
        return (200 if self.ready else 500), encode_json(body), JSON

    async def _metrics(self, prefix: str) -> tuple[int, bytes, bytes]:
        body = await asyncio.get_running_loop().run_in_executor(None, render, self.registry)
        return 200, body, METRICS_CONTENT_TYPE

    async def _parameters(self, prefix: str) -> tuple[int, bytes, bytes]:
        if self.job is None:
            raise self._not_ready()
        return 200, self.job.parameters_json, JSON

    # The GET (and HEAD) routes with a fixed path, wrapped into the route table by `_route_table`.
    _get_routes = {
        "/live": _live,
        "/ready": _ready,
        "/health": _health,
        "/metrics": _metrics,
        "/docs": _swagger_ui,
        "/redoc": _redoc,
        "/openapi.json": _openapi_document,
        API + "/parameters": _parameters,
    }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            try:
                message = await receive()
            except asyncio.CancelledError:  # stopped at once (shutdown_grace over): atexit kills workers
                return
            if message["type"] == "lifespan.startup":
                if self.pool is not None and self.load_error is None:
                    await self.pool.start()
                self._loading = asyncio.get_running_loop().run_in_executor(None, self.load)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.dispatcher.close()
                if self.pool is not None:
                    await self.pool.stop()
                self.dispatcher.shutdown_threads()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _load_failure(failure: LoadError) -> str:
    """The load error as /live, /ready and /health give it: ours, then Racetrack's `cause=` part."""
    return f"the job failed to load: {failure}, cause={failure.exception_type}"


def _details(failure: LoadError) -> list[dict[str, Any]]:
    return [{"exception_type": failure.exception_type, "location": failure.location}]


def _shutting_down() -> HTTPError:
    return ShuttingDown()


def _request_id(request_id: str) -> tuple[bytes, bytes]:
    return (_REQUEST_ID_KEY, request_id.encode())


_STATIC_ERRORS = {400: "bad_range", 404: "not_found", 416: "range_not_satisfiable"}


async def _redirect(send: Send, location: str, request_id: str) -> int:
    await send_response(send, 307, b"", request_id, b"text/plain", ((b"location", location.encode()),))
    return 307


class _TaggedSend:
    """`send` for a response started by another ASGI app: adds the request id header, notes the status."""

    def __init__(self, send: Send, request_id: str) -> None:
        self.send = send
        self.header = _request_id(request_id)
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message = {**message, "headers": [*message.get("headers", []), self.header]}
        await self.send(message)
