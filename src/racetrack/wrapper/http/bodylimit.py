"""Refuse request bodies above `max_body_bytes` with 413 before they are read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from racetrack.wrapper.http.responses import HTTPError, error_body
from racetrack.wrapper.settings import setting_hint
from racetrack.wrapper.telemetry.tracing import request_id_var

CLOSE = (b"connection", b"close")  # the rest of the request is left unread: the connection cannot be reused


def too_large(limit: int, size: int | None = None, manifest_file: str = "") -> HTTPError:
    what = f"is {size} bytes," if size is not None else "(sent without Content-Length) is"
    return HTTPError(
        413,
        "payload_too_large",
        f"the request body {what} larger than the limit of {limit} bytes;"
        f" send less data or raise {setting_hint(manifest_file, 'max_body_bytes')}",
        None,
        (CLOSE,),
    )


async def read_body(scope: Scope, receive: Receive, limit: int, manifest_file: str = "") -> bytes:
    """The whole request body; 413 (HTTPError) at once for a Content-Length above `limit`, or as soon as
    the chunks received pass it."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise too_large(limit, int(value), manifest_file)
            break
    message = await receive()
    body: bytes = message.get("body", b"")
    if len(body) > limit:  # one chunk can hold up to the server's buffer (64 KiB for uvicorn)
        raise too_large(limit, None, manifest_file)
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "client_disconnected", "the client went away while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit, None, manifest_file)
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimitMiddleware:
    """For ASGI apps that read the body themselves (the webview): 413 for a Content-Length above the limit
    at once; a chunked body is counted while it streams in and cut off (the app sees a disconnect, its
    response is replaced by the 413) once it passes the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, manifest_file: str = "") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.manifest_file = manifest_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                await self._reject(send, int(value))
                return
        received = 0
        too_large = False
        rejected = False  # our 413 went out, or the app had already started its own response

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal rejected
            if not too_large:
                if message["type"] == "http.response.start":
                    rejected = True
                await send(message)
            elif not rejected:
                rejected = True
                await self._reject(send, None)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not rejected:
            await self._reject(send, None)

    async def _reject(self, send: Send, size: int | None) -> None:
        error = too_large(self.max_body_bytes, size, self.manifest_file)
        body = error_body(error.kind, error.message, None, request_id_var.get())
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            CLOSE,
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
