"""Refuse request bodies above `max_body_bytes` with 413 before they are read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from racetrack.wrapper.responses import error_body
from racetrack.wrapper.tracing import request_id_var


class BodyLimitMiddleware:
    """413 for a Content-Length above the limit at once; a chunked body is counted while it streams in and
    cut off (the app sees a disconnect, its response is replaced by the 413) once it passes the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        what = f"{size} bytes" if size is not None else "chunked and"
        message = (
            f"the request body is {what} larger than the limit of {self.max_body_bytes} bytes;"
            " send less data or raise python.max_body_bytes in fatman.yaml"
        )
        await send_closing_error(send, 413, "payload_too_large", message)


async def send_closing_error(send: Send, status: int, kind: str, message: str) -> None:
    """Answer with the standard error body and close the connection (the rest of the request is unread)."""
    body = error_body(kind, message, None, request_id_var.get())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
