"""The wrapper's one error tree, and the one table from exception to HTTP status.

Every error the wrapper answers is an HTTPError (or a subclass raised by the call runtime), answered as
`{"error", "type", "details", "request_id"}` with its status; an exception raised by job code goes through
`EXCEPTION_STATUS` (its message verbatim, as Racetrack clients display it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Headers = Sequence[tuple[bytes, bytes]]


class HTTPError(Exception):
    """An error answered with `status`, a `kind` (the body's `type`), a message saying what was wrong and
    how to fix it, optional details and extra response headers."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: Headers = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.details = details
        self.headers = tuple(headers)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.kind!r}, {self.message!r})"


CallError = HTTPError  # the call runtime's name for it


class Overloaded(HTTPError):
    """Every execution slot and queue place is taken (429, with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, "overloaded", message, None, ((b"retry-after", str(retry_after).encode()),))
        self.retry_after = retry_after


class CallTimeout(HTTPError):
    """The call passed its deadline (504)."""

    def __init__(self, message: str) -> None:
        super().__init__(504, "timeout", message)


class WorkerDied(HTTPError):
    """The worker process serving the call exited (500)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, "worker_died", message)


class ShuttingDown(HTTPError):
    """The server is draining after SIGTERM and takes no new calls (503, closing the connection)."""

    def __init__(
        self, message: str = "the job is shutting down and takes no new calls; retry on another replica"
    ) -> None:
        super().__init__(503, "shutting_down", message, None, ((b"connection", b"close"),))


class NotReady(HTTPError):
    """The job (or its worker processes) has not loaded the entrypoint, or could not (503)."""

    def __init__(
        self, message: str, details: list[dict[str, Any]] | None = None, headers: Headers = ()
    ) -> None:
        super().__init__(503, "not_ready", message, details, headers)


# Exceptions raised by job code, most specific first: (class, status, kind). As in Racetrack, a ValueError
# is the caller's fault; anything else is the job's.
EXCEPTION_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (ValueError, 400, "bad_request"),
    (Exception, 500, "internal_error"),
)


# The `type` of an error answered for an HTTP status itself (no route, wrong method), not for an exception;
# any other status answers "http_error".
STATUS_KIND: dict[int, str] = {404: "not_found", 405: "method_not_allowed"}


def status_kind(status: int) -> str:
    """The `type` of an error answered for `status` (no route, wrong method, ...), from STATUS_KIND."""
    return STATUS_KIND.get(status, "http_error")


def exception_name(exc: BaseException) -> str:
    """The class name of the exception job code raised (also when it was raised in a worker process)."""
    return getattr(exc, "type_name", None) or type(exc).__name__


def status_of(exc: BaseException) -> tuple[int, str]:
    """(status, kind) for an exception raised by job code, from EXCEPTION_STATUS."""
    if isinstance(exc, HTTPError):
        return exc.status, exc.kind
    for cls, status, kind in EXCEPTION_STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "internal_error"


def from_job_exception(exc: BaseException, endpoint: str | None = None) -> HTTPError:
    """The HTTPError answering an exception raised by job code: its message verbatim, its type (and the
    endpoint) in the details."""
    if isinstance(exc, HTTPError):
        return exc
    status, kind = status_of(exc)
    details: dict[str, Any] = {"exception_type": exception_name(exc)}
    if endpoint is not None:
        details = {"endpoint": endpoint, **details}
    return HTTPError(status, kind, str(exc) or exception_name(exc), [details])
