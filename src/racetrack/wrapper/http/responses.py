"""Raw ASGI responses and the one error shape every route answers with."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.types import Send

from racetrack.wrapper.contract.encoding import encode_json
from racetrack.wrapper.errors import Headers, HTTPError, status_kind
from racetrack.wrapper.telemetry.tracing import REQUEST_ID_HEADER

JSON = b"application/json"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()


def error_body(
    kind: str, message: str, details: list[dict[str, Any]] | None, request_id: str | None
) -> bytes:
    """The JSON body of every error response (`ErrorBody` in the OpenAPI document)."""
    return encode_json({"error": message, "type": kind, "details": details, "request_id": request_id})


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    request_id: str,
    content_type: bytes = JSON,
    headers: Headers = (),
    include_body: bool = True,
) -> None:
    """Send a complete response with content type, length and the request id header."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (_REQUEST_ID_KEY, request_id.encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body if include_body else b""})


async def send_error(send: Send, error: HTTPError, request_id: str) -> None:
    body = error_body(error.kind, error.message, error.details, request_id)
    await send_response(send, error.status, body, request_id, headers=error.headers)


def validation_error(exc: ValidationError, endpoint: str) -> HTTPError:
    """422 listing each failing field with its location in the body and pydantic's message."""
    details = [
        {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    summary = "; ".join(_describe(detail) for detail in details[:5])
    return HTTPError(422, "validation_error", f"invalid input for {endpoint}: {summary}", details)


def _describe(detail: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in detail["loc"][1:])
    return f"{field}: {detail['msg']}" if field else str(detail["msg"])


def not_found(path: str, instead: str | None = None) -> HTTPError:
    """404 for `path`; `instead` is the route the caller probably meant."""
    hint = f"did you mean {instead}? " if instead else ""
    return HTTPError(404, status_kind(404), f"no route {path}; {hint}see /docs for this job's endpoints")


def method_not_allowed(method: str, path: str, allowed: str) -> HTTPError:
    return HTTPError(
        405,
        status_kind(405),
        f"{method} is not allowed on {path}; use {allowed}",
        None,
        ((b"allow", allowed.encode()),),
    )
