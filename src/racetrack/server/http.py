"""The HTTP plumbing: route tables of plain handler functions, JSON in and out, one error shape."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from racetrack.protocol import AUTH_HEADER
from racetrack.server.auth import Principal
from racetrack.server.errors import BadRequest, PayloadTooLarge, ServerError, status_of
from racetrack.server.state import State

logger = logging.getLogger("racetrack.server.http")
LEGACY_AUTH_HEADERS = ("X-Racetrack-User-Auth", "X-Racetrack-Esc-Auth")


@dataclass
class Call:
    """One API request as a handler sees it; its body is parsed as JSON when a handler first reads it."""

    state: State
    request: Request
    raw_body: bytes
    token: str | None

    @functools.cached_property
    def body(self) -> Any:
        """The JSON body (None when empty); BadRequest when it is not JSON."""
        if not self.raw_body.strip():
            return None
        try:
            return json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"request body is not valid JSON: {error}") from None

    @property
    def params(self) -> dict[str, str]:
        return dict(self.request.path_params)

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def int_query(self, name: str, default: int) -> int:
        text = self.query(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"query parameter {name}={text!r} must be a whole number") from None
        if value < 0:
            raise BadRequest(f"query parameter {name} must be 0 or more")
        return value

    def principal(self) -> Principal:
        """The authenticated caller; AuthError (401) otherwise."""
        return self.state.auth.authenticate(self.token)


Handler = Callable[[Call], Any]


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, media_type="application/json")


def error_response(error: ServerError) -> Response:
    return json_response({"error": str(error), "type": type(error).__name__}, status_of(error))


def request_token(request: Request) -> str | None:
    """The caller's token: X-Racetrack-Auth (or a legacy header), else a cookie of the same name."""
    for name in (AUTH_HEADER, *LEGACY_AUTH_HEADERS):
        if value := request.headers.get(name):
            return value.strip()
    for name in (AUTH_HEADER, *LEGACY_AUTH_HEADERS):
        if value := request.cookies.get(name):
            return unquote(value).strip()
    return None


def api(state: State, method: str, path: str, handler: Handler) -> Route:
    """A route calling `handler` in a thread; its result is the JSON body (or a Response)."""

    async def endpoint(request: Request) -> Response:
        try:
            limit = state.config.max_body_bytes
            body = await _read_body(request, limit) if method in ("POST", "PUT") else b""
            call = Call(state, request, body, request_token(request))
            result = await run_in_threadpool(handler, call)
            response = result if isinstance(result, Response) else json_response(result)
        except ServerError as error:
            response = error_response(error)
        except Exception as error:  # noqa: BLE001 - every failure answers JSON, never a bare 500 page
            logger.exception("%s %s failed", method, path)
            response = json_response(
                {
                    "error": f"internal server error ({type(error).__name__}); the server log has details",
                    "type": type(error).__name__,
                },
                500,
            )
        state.metrics.requests.labels(path, str(response.status_code)).inc()
        return response

    return Route(path, endpoint, methods=[method])


async def _read_body(request: Request, limit: int) -> bytes:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
