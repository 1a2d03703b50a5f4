"""The server's ASGI app: the Lifecycle API under /lifecycle, probes and metrics, the gateway under /pub."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from racetrack.server import admin, callauth, lifecycle
from racetrack.server.db import connected
from racetrack.server.deployments import Deployer
from racetrack.server.http import api, json_response
from racetrack.server.state import State

logger = logging.getLogger("racetrack.server")
V1 = "/lifecycle/api/v1"
JOB = V1 + "/job/{name}/{version}"

ROUTES = (  # (method, path, handler)
    ("GET", V1 + "/info", lifecycle.info),
    ("GET", V1 + "/users/validate_user_auth", lifecycle.validate_user_auth),
    ("POST", V1 + "/users/login", lifecycle.login),
    ("POST", V1 + "/deploy", lifecycle.deploy),
    ("GET", V1 + "/deploy/{deploy_id}", lifecycle.deployment_status),
    ("GET", V1 + "/job", lifecycle.list_jobs),
    ("GET", JOB, lifecycle.get_job),
    ("DELETE", JOB, lifecycle.delete_job),
    ("GET", JOB + "/logs", lifecycle.job_logs),
    ("GET", JOB + "/build-logs", lifecycle.build_logs),
    ("GET", JOB + "/public-endpoints", lifecycle.active_public_endpoints),
    ("POST", JOB + "/move", lifecycle.move_job),
    ("GET", V1 + "/plugin", lifecycle.list_plugins),
    ("GET", V1 + "/plugin/job_type/versions", lifecycle.job_type_versions),
    ("POST", V1 + "/plugin/upload/{filename}", lifecycle.plugins_unsupported),
    ("DELETE", V1 + "/plugin/{name}/{version}", lifecycle.plugins_unsupported),
    ("GET", V1 + "/plugin/{name}/{version}/download", lifecycle.plugins_unsupported),
    ("GET", V1 + "/auth/can-call-job/{name}/{version}/{endpoint:path}", callauth.can_call_job_route),
    ("GET", V1 + "/auth/can-call-job/{name}/{version}", callauth.can_call_job_route),
    ("POST", V1 + "/users", admin.create_user),
    ("POST", V1 + "/escs", admin.create_esc),
    ("POST", V1 + "/auth/grant", admin.grant),
    ("POST", V1 + "/auth/allow/{kind}/{subject}/job/{job}/scope/{scope}", admin.allow),
    ("POST", V1 + "/auth/revoke", admin.revoke),
    ("GET", V1 + "/public-endpoints", admin.list_public_endpoints),
    (
        "POST",
        V1 + "/public-endpoints/{name}/{version}/{decision}",
        admin.decide_public_endpoint,
    ),
)


def probe_routes(state: State) -> list[BaseRoute]:
    async def live(request: Request) -> Response:
        return json_response({"live": True})

    async def ready(request: Request) -> Response:
        return json_response({"ready": True})

    async def health(request: Request) -> Response:
        ok = connected(state.engine)
        return json_response(
            {"service": "lifecycle", "live": True, "database_connected": ok}, 200 if ok else 503
        )

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")

    routes: list[BaseRoute] = []
    for prefix in ("", "/lifecycle"):
        routes += [
            Route(prefix + "/live", live),
            Route(prefix + "/ready", ready),
            Route(prefix + "/health", health),
            Route(prefix + "/metrics", metrics),
        ]
    return routes


def gateway(state: State) -> Any | None:
    """The gateway ASGI app (racetrack.gateway) for /pub, when that package is installed; else None."""
    try:
        from racetrack.gateway.app import gateway_app
        from racetrack.gateway.config import GatewayConfig
    except ImportError:
        return None
    config = GatewayConfig(
        server_url=state.config.base_url,
        gateway_secret=state.gateway_secret,
        database_url=state.config.sqlalchemy_url,  # async tasks live in the server's database
        data_dir=state.config.data_dir,
        async_result_ttl=state.config.async_result_ttl,
        async_max_result_bytes=state.config.async_max_result_bytes,
    )
    return gateway_app(config)


class ServerApp:
    """/pub/... goes to the gateway (which expects the whole path), everything else to the Lifecycle app."""

    def __init__(self, lifecycle: Starlette, pub: Any | None) -> None:
        self.lifecycle, self.pub = lifecycle, pub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            self.pub is not None
            and scope["type"] in ("http", "websocket")
            and (path == "/pub" or path.startswith("/pub/"))
        ):
            await self.pub(scope, receive, send)
        else:
            await self.lifecycle(scope, receive, send)


def create_app(state: State) -> ServerApp:
    state.deployer = Deployer(state)
    failed = state.deployer.recover()
    if failed:
        logger.warning("%d deployment(s) were cut off by the last shutdown and are marked failed", failed)
    routes: list[Any] = [
        api(state, method, prefix + path.removeprefix("/lifecycle"), handler)
        for prefix in ("/lifecycle", "")  # Lifecycle answers its API without the prefix as well
        for method, path, handler in ROUTES
    ]
    routes += probe_routes(state)
    pub = gateway(state)
    if pub is None:
        logger.info("no gateway (racetrack.gateway) installed: /pub is not served")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if pub is not None:
            await pub.startup()
        yield
        if pub is not None:
            await pub.shutdown()
        state.deployer.pool.shutdown(wait=False, cancel_futures=True)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        message = "no such API route" if status == 404 else "method not allowed on this route"
        return json_response(
            {
                "error": f"{message}: {request.method} {request.url.path}",
                "type": "EntityNotFound" if status == 404 else "BadRequest",
            },
            status,
        )

    handlers = {404: not_found, 405: not_found}
    return ServerApp(Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers), pub)
