"""Cross-origin answers, the same in a job and in the gateway: any origin may call, as with Racetrack's
wrapper, but never with the browser's credentials (cookies), so another site cannot read a user's answers.

A page on another origin sends its token in the `X-Racetrack-Auth` header; the browser asks first with a
preflight (`OPTIONS` with `Access-Control-Request-Method`), which carries no token and is answered here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Headers = list[tuple[bytes, bytes]]
Message = MutableMapping[str, Any]  # an ASGI message, as Starlette types it
Send = Callable[[Any], Awaitable[None]]  # Starlette's send, or the gateway's (typed with dict messages)

ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
ALLOW_METHODS = (b"access-control-allow-methods", b"DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
MAX_AGE = (b"access-control-max-age", b"600")
PREFLIGHT_BODY = b"OK"


def is_cross_origin(headers: Headers) -> bool:
    """Whether the request names the page's origin (browsers send it on cross-origin calls)."""
    for name, _ in headers:  # noqa: SIM110 - runs on every call; any() over a generator costs twice as much
        if name == b"origin":
            return True
    return False


def preflight_answer(method: str, headers: Headers) -> Headers | None:
    """The headers answering a CORS preflight, or None when the request is not one."""
    if method != "OPTIONS":
        return None
    origin = wanted_method = False
    asked_headers = b""
    for name, value in headers:
        if name == b"origin":
            origin = True
        elif name == b"access-control-request-method":
            wanted_method = True
        elif name == b"access-control-request-headers":
            asked_headers = value
    if not (origin and wanted_method):
        return None
    answer = [
        ALLOW_ORIGIN,
        ALLOW_METHODS,
        MAX_AGE,
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(PREFLIGHT_BODY)),
    ]
    if asked_headers:
        answer.append((b"access-control-allow-headers", asked_headers))
    return answer


def with_allow_origin(headers: Headers) -> Headers:
    """`headers` of an answer to a cross-origin call, with Access-Control-Allow-Origin unless it has one."""
    if any(name.lower() == ALLOW_ORIGIN[0] for name, _ in headers):
        return headers
    return [*headers, ALLOW_ORIGIN]


async def send_preflight(send: Send, headers: Headers) -> None:
    """Send the answer to a preflight: `headers` from `preflight_answer`, plus any of the caller's."""
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PREFLIGHT_BODY})


class CrossOriginSend:
    """An ASGI `send` for the answer to a cross-origin call: it lets any origin read the answer."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": with_allow_origin(list(message.get("headers", [])))}
        await self.send(message)
