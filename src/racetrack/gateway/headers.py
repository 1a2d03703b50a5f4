"""What crosses the gateway: the caller's token read, hop-by-hop and auth headers dropped, gateway headers
added, Location answers kept under /pub."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from racetrack.protocol import AUTH_HEADER, CALLER_HEADER, GATEWAY_TOKEN_HEADER, TRACING_HEADER

AUTH_HEADERS = (AUTH_HEADER.lower().encode(), b"x-racetrack-user-auth", b"x-racetrack-esc-auth")
AUTH_COOKIES = (AUTH_HEADER, "X-Racetrack-User-Auth", "X-Racetrack-Esc-Auth")
TRACING = TRACING_HEADER.lower().encode()
CALLER = CALLER_HEADER.lower().encode()
GATEWAY_TOKEN = GATEWAY_TOKEN_HEADER.lower().encode()
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer", b"upgrade"}
)
# Never passed to the job: set by the gateway itself, or the caller's credentials (see docs/gateway.md).
DROPPED_REQUEST = HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"proxy-authorization",
    *AUTH_HEADERS,
    TRACING,
    CALLER,
    GATEWAY_TOKEN,
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
}
# The server in front (uvicorn, standalone or in `racetrack server`) sets its own Date and Server.
DROPPED_RESPONSE = HOP_BY_HOP | {b"date", b"server"}
MAX_TRACING_ID = 128


def caller_token(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's token: X-Racetrack-Auth (or a legacy name) header, else a cookie of that name."""
    cookie = b""
    for name, value in headers:
        if name in AUTH_HEADERS and value:
            return value.decode("latin-1").strip()
        if name == b"cookie":
            cookie = value
    if cookie:
        for item in cookie.decode("latin-1").split(";"):
            key, _, text = item.strip().partition("=")
            if key in AUTH_COOKIES and text:
                return unquote(text.strip().strip('"'))
    return ""


def tracing_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-Tracing-Id when sane, else a new one."""
    for name, value in headers:
        if name == TRACING:
            text = value.decode("latin-1")
            if 0 < len(text) <= MAX_TRACING_ID and text.isprintable():
                return text
            break
    return new_tracing_id()


def new_tracing_id() -> str:
    """32 random hex digits (as long as a uuid4 hex); os.urandom is read for 256 ids at a time."""
    if not _UNUSED_IDS:
        digits = os.urandom(16 * 256).hex()
        _UNUSED_IDS.extend(digits[start : start + 32] for start in range(0, len(digits), 32))
    return _UNUSED_IDS.pop()


_UNUSED_IDS: list[str] = []
os.register_at_fork(after_in_child=_UNUSED_IDS.clear)  # a forked child must not reuse the parent's ids


def _without_auth_cookie(value: bytes) -> bytes | None:
    items = [i for i in value.split(b";") if i.strip().partition(b"=")[0] not in _AUTH_COOKIE_KEYS]
    return b";".join(items).strip() or None


_AUTH_COOKIE_KEYS = frozenset(c.encode() for c in AUTH_COOKIES)


def job_request_headers(
    headers: list[tuple[bytes, bytes]],
    request_id: str,
    caller: str | None,
    gateway_token: bytes,
    client_host: str | None,
    scheme: str,
) -> list[tuple[bytes, bytes]]:
    """The headers a job receives for a caller's request."""
    out: list[tuple[bytes, bytes]] = []
    forwarded_for = b""
    host = b""
    proto = b""
    for name, value in headers:
        if name in DROPPED_REQUEST:
            if name == b"x-forwarded-for":
                forwarded_for = value
            elif name == b"host":
                host = value
            elif name == b"x-forwarded-proto":
                proto = value
            elif name == b"x-forwarded-host":
                host = value
            continue
        if name == b"cookie" and b"racetrack" in value.lower():
            stripped = _without_auth_cookie(value)
            if stripped is None:
                continue
            value = stripped
        out.append((name, value))
    client = (client_host or "").encode()
    if client:
        forwarded_for = forwarded_for + b", " + client if forwarded_for else client
    if forwarded_for:
        out.append((b"x-forwarded-for", forwarded_for))
    if host:
        out.append((b"x-forwarded-host", host))
    out.append((b"x-forwarded-proto", proto or scheme.encode()))
    out.append((TRACING, request_id.encode()))
    if caller:
        out.append((CALLER, caller.encode("utf-8")))
    out.append((GATEWAY_TOKEN, gateway_token))
    return out


def caller_response_headers(
    headers: list[tuple[bytes, bytes]],
    request_id: str,
    replicas: tuple[str, ...],
    job_base: str,
    pub_prefix: str,
) -> list[tuple[bytes, bytes]]:
    """The job's answer headers as the caller gets them: hop-by-hop dropped, tracing id echoed,
    Location kept under /pub."""
    out: list[tuple[bytes, bytes]] = []
    has_tracing = False
    for name, value in headers:
        if name in DROPPED_RESPONSE:
            continue
        if name == b"location":
            value = rewrite_location(value, replicas, job_base, pub_prefix)
        elif name == TRACING:
            has_tracing = True
        out.append((name, value))
    if not has_tracing:
        out.append((TRACING, request_id.encode()))
    return out


def rewrite_location(value: bytes, replicas: tuple[str, ...], job_base: str, pub_prefix: str) -> bytes:
    """A redirect to one of the job's replicas becomes host-relative; a path outside /pub is put under the
    job's base (`/pub/job/{name}/{version}`); redirects elsewhere are left alone."""
    text = value.decode("latin-1")
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        if f"{parts.scheme}://{parts.netloc}" not in {r.rstrip("/") for r in replicas}:
            return value
        text = parts.path or "/"
        if parts.query:
            text += "?" + parts.query
        if parts.fragment:
            text += "#" + parts.fragment
    if not text.startswith("/"):
        return text.encode("latin-1")
    if text.startswith("/pub/") or text == "/pub":
        return (pub_prefix + text[4:]).encode("latin-1")
    return (job_base + text).encode("latin-1")
