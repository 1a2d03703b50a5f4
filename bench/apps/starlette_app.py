"""Raw Starlette reference: no validation, no OpenAPI, the floor a framework-based server can reach."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.apps.fastapi_app import PERFORM_PATH


async def _perform(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse(body["x"] * body["y"])


def multiply() -> Starlette:
    return Starlette(routes=[Route(PERFORM_PATH, _perform, methods=["POST"])])
