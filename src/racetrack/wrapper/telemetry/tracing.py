"""Request ids: taken from `X-Request-Tracing-Id` or generated, kept in a context variable per call."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

from racetrack.protocol import TRACING_HEADER

REQUEST_ID_HEADER = TRACING_HEADER
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_VALID_ID = re.compile(rb"^[\w.:/+=-]{1,128}$")

# The id of the request being served; logging (wrapper/logs.py) reads it from here.
request_id_var: ContextVar[str | None] = ContextVar("racetrack_request_id", default=None)


def request_id_for(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's request id if it is sane (<= 128 safe characters), else a new random one."""
    for key, value in headers:
        if key == _HEADER_KEY:
            if _VALID_ID.match(value):
                return value.decode()
            break
    return os.urandom(8).hex()
