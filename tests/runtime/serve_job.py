"""A minimal server built from the runtime components only (no wrapper app), for tests/runtime.

python tests/runtime/serve_job.py JOB_FILE PORT [--workers N] [--max-concurrency N] [--max-queue N]
    [--timeout S] [--max-body-bytes N] [--shutdown-grace S]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from racetrack.wrapper.bodylimit import BodyLimitMiddleware
from racetrack.wrapper.dispatch import CallError, CallStream, Dispatcher
from racetrack.wrapper.loader import load_entrypoint
from racetrack.wrapper.logs import AccessLogMiddleware, configure_logging
from racetrack.wrapper.responses import error_body
from racetrack.wrapper.shutdown import Drain, DrainMiddleware, serve
from racetrack.wrapper.streaming import stream_response, until_disconnect
from racetrack.wrapper.tracing import request_id_var
from racetrack.wrapper.workers import WorkerPool, WorkerSpec, resolve_method


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(value), status, headers, media_type="application/json")


def build_app(options: argparse.Namespace) -> Any:
    job = Path(options.job).resolve()
    registry = CollectorRegistry()
    pool = None
    if options.workers:
        pool = WorkerPool(WorkerSpec(job.name, None, str(job.parent)), options.workers, registry=registry)
        resolve = None
    else:
        instance = load_entrypoint(job, None, job.parent)
        resolve = lambda name: resolve_method(instance, name)  # noqa: E731
    dispatcher = Dispatcher(
        resolve,
        max_concurrency=options.max_concurrency,
        max_queue=options.max_queue,
        workers=pool,
        registry=registry,
    )

    async def call(request: Request) -> Any:
        name = "/" + request.path_params["name"]
        kwargs = await request.json()
        try:
            result = await until_disconnect(request.receive, dispatcher.call(name, kwargs, options.timeout))
            if isinstance(result, CallStream):
                return await stream_response(result, request.headers.raw)
        except ClientDisconnect:
            return Response(status_code=499)
        except CallError as exc:
            body = error_body(exc.kind, exc.message, None, request_id_var.get())
            return Response(body, exc.status, exc.headers, media_type="application/json")
        except ValueError as exc:
            return Response(error_body("bad_request", str(exc), None, request_id_var.get()), 400)
        except Exception as exc:
            body = error_body("internal_error", f"{type(exc).__name__}: {exc}", None, request_id_var.get())
            return Response(body, 500, media_type="application/json")
        return json_response(result)

    async def ready(request: Request) -> Response:
        ok = pool is None or pool.ready
        return json_response({"ready": ok, "pids": pool.pids() if pool else []}, 200 if ok else 503)

    async def metrics(request: Request) -> Response:
        user = pool.collect_metrics() if pool else []
        return Response(generate_latest(registry) + orjson.dumps(user), media_type="text/plain")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if pool:
            await pool.start()
        yield
        if pool:
            await pool.stop()

    app = Starlette(
        routes=[
            Route("/api/v1/{name:path}", call, methods=["POST"]),
            Route("/ready", ready),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    drain = Drain()
    stack = AccessLogMiddleware(DrainMiddleware(BodyLimitMiddleware(app, options.max_body_bytes), drain))
    return stack, drain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("job")
    parser.add_argument("port", type=int)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--max-concurrency", type=int, default=8)
    parser.add_argument("--max-queue", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--shutdown-grace", type=float, default=30)
    options = parser.parse_args()
    configure_logging()
    app, drain = build_app(options)
    sys.exit(
        serve(app, host="127.0.0.1", port=options.port, shutdown_grace=options.shutdown_grace, drain=drain)
    )


if __name__ == "__main__":
    main()
