"""Websocket handshakes: an ASGI webview takes them under `/webview/`; every other path refuses them with
an HTTP error in the one error shape (the ASGI denial response), before the handshake completes."""

from __future__ import annotations

from starlette.types import Message, Scope, Send

from racetrack.wrapper.errors import HTTPError
from racetrack.wrapper.http.responses import error_body
from racetrack.wrapper.telemetry.tracing import REQUEST_ID_HEADER

DENIAL_EXTENSION = "websocket.http.response"  # uvicorn's wsproto and websockets protocols offer it


def not_a_websocket_route(path: str, webview_path: str) -> HTTPError:
    """400 for a websocket handshake to a path that takes none."""
    return HTTPError(
        400,
        "websocket_not_supported",
        f"{path} takes no websocket: only an ASGI webview_app() does, under {webview_path}/; call the"
        " other routes over plain HTTP",
    )


def wsgi_webview(webview_path: str) -> HTTPError:
    """400 for a websocket handshake to a WSGI webview (WSGI has no websockets)."""
    return HTTPError(
        400,
        "websocket_not_supported",
        f"the webview under {webview_path}/ is a WSGI app (Flask, Django), which cannot take websockets;"
        " return an ASGI app (FastAPI, Starlette) from webview_app() to use them",
    )


async def refuse(scope: Scope, send: Send, error: HTTPError, request_id: str) -> None:
    """Turn the handshake down with `error`'s status and JSON body; a server without the denial extension
    can only close it (the client sees 403)."""
    if DENIAL_EXTENSION not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = error_body(error.kind, error.message, error.details, request_id)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
        *error.headers,
    ]
    await send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


class TrackedSend:
    """`send` for a websocket served by the webview: notes the status for the access line (101 once
    accepted, 403 when closed before that, the denial's status when denied)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500  # stays so only if the app fails before answering the handshake

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if self.status == 500:
            if kind == "websocket.accept":
                self.status = 101
            elif kind == "websocket.close":
                self.status = 403
            elif kind == "websocket.http.response.start":
                self.status = message["status"]
        await self.send(message)
