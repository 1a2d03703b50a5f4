"""Calls to other jobs through the gateway (`PUB_URL`) with this job family's token: `call_job`,
`call_job_coroutine` (the same, awaitable) and `async_job_call` (through the gateway's async API)."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from racetrack.protocol import (
    API_PREFIX,
    AUTH_HEADER,
    CALLER_HEADER,
    ENV_AUTH_TOKEN,
    ENV_FATMAN_NAME,
    ENV_JOB_NAME,
    ENV_PUB_URL,
    TRACING_HEADER,
)
from racetrack.wrapper.telemetry.tracing import request_id_var

_MAX_ERROR_BODY = 2000
_POLL_SECONDS = 90.0  # longer than the gateway's long poll (30 s by default), which answers 202 after it
_POLL_AGAIN = (202, 408, 504)  # not finished yet, or a proxy on the way gave up waiting
_POLL_PAUSE = 0.5  # seconds between polls that were answered at once


class _CallFailed(Exception):
    """One HTTP exchange with the gateway failed: an error `status`, or no answer (`status` None)."""

    def __init__(self, reason: str, status: int | None = None, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.status, self.timed_out = status, timed_out


def call_job(
    entrypoint: object,
    job_name: str,
    path: str = API_PREFIX + "/perform",
    payload: Any = None,
    version: str = "latest",
    method: str = "POST",
    timeout: float | None = 10,
) -> Any:
    """Call `path` of job `job_name` at `version` through the gateway and return its decoded JSON result.

    Sends `X-Racetrack-Auth: $AUTH_TOKEN` and passes on the current call's tracing id and caller name;
    any failure raises RuntimeError saying which job could not be called, by whom, and why.
    """
    what = _what(job_name, version)
    pub_url = _pub_url(what)
    url = f"{pub_url}/job/{job_name}/{version}/{path.lstrip('/')}"
    try:
        return _json(_exchange(_request(entrypoint, url, payload, method), timeout)[1])
    except _CallFailed as exc:
        raise RuntimeError(f"failed to call {what}: {exc}") from None


async def call_job_coroutine(*args: Any, **kwargs: Any) -> Any:
    """`call_job` for `async def` methods, with the same arguments: the call runs in a thread, so the event
    loop goes on meanwhile."""
    return await asyncio.to_thread(call_job, *args, **kwargs)


def async_job_call(
    entrypoint: object,
    job_name: str,
    path: str = API_PREFIX + "/perform",
    payload: Any = None,
    version: str = "latest",
    method: str = "POST",
    timeout: float | None = None,
) -> Any:
    """Call another job through the gateway's async API (for calls longer than a proxy would wait for):
    submit the call, then long-poll until its result is there; returns the decoded JSON result.

    `timeout` bounds the whole wait in seconds (None: as long as the task runs). Any failure, the called
    job's own error answer included, raises RuntimeError saying which job, by whom, and why.
    """
    what = _what(job_name, version)
    pub_url = _pub_url(what)
    deadline = None if timeout is None else time.monotonic() + timeout
    submit = f"{pub_url}/async/new/job/{job_name}/{version}/{path.lstrip('/')}"
    try:
        task = _json(_exchange(_request(entrypoint, submit, payload, method), 30)[1])
        task_id = task.get("task_id") if isinstance(task, dict) else None
        if not isinstance(task_id, str):
            raise _CallFailed(f"the gateway's async API answered without a task_id: {task!r:.300}")
        poll = urllib.request.Request(f"{pub_url}/async/task/{task_id}/poll", headers=_auth_headers())
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                cancelled = _cancel(f"{pub_url}/async/task/{task_id}")
                raise _CallFailed(
                    f"task {task_id} did not finish within {timeout:g} s"
                    + ("; it was cancelled" if cancelled else "; cancelling it failed, it may still run")
                )
            asked = time.monotonic()
            try:
                status, body = _exchange(poll, _POLL_SECONDS if left is None else min(left, _POLL_SECONDS))
            except _CallFailed as exc:
                if not (exc.timed_out or exc.status in _POLL_AGAIN):
                    raise
                status, body = exc.status or 0, b""
            if status not in _POLL_AGAIN and status != 0:
                return _json(body)
            if time.monotonic() - asked < _POLL_PAUSE:  # answered at once (no long poll): do not hammer it
                time.sleep(_POLL_PAUSE)
    except _CallFailed as exc:
        raise RuntimeError(f"failed to call {what} asynchronously: {exc}") from None


def _cancel(task_url: str) -> bool:
    """Cancel an async task the caller no longer waits for; whether the gateway confirmed it."""
    request = urllib.request.Request(task_url, headers=_auth_headers(), method="DELETE")
    try:
        _exchange(request, 10)
    except _CallFailed:
        return False
    return True


def _what(job_name: str, version: str) -> str:
    me = os.environ.get(ENV_JOB_NAME) or os.environ.get(ENV_FATMAN_NAME) or "this job"
    return f'job "{job_name} {version}" by {me}'


def _pub_url(what: str) -> str:
    pub_url = os.environ.get(ENV_PUB_URL, "").rstrip("/")
    if not pub_url:
        raise RuntimeError(f"failed to call {what}: {ENV_PUB_URL} is not set (the gateway's address)")
    return pub_url


def _auth_headers() -> dict[str, str]:
    headers = {"Accept": "application/json"}
    token = os.environ.get(ENV_AUTH_TOKEN)
    if token:
        headers[AUTH_HEADER] = token
    return headers


def _request(entrypoint: object, url: str, payload: Any, method: str) -> urllib.request.Request:
    headers = {**_auth_headers(), **_forwarded_headers(entrypoint)}
    data = None
    if payload is not None or method.upper() == "POST":
        data = json.dumps({} if payload is None else payload).encode()
        headers["Content-Type"] = "application/json"
    return urllib.request.Request(url, data=data, headers=headers, method=method.upper())


def _exchange(request: urllib.request.Request, timeout: float | None) -> tuple[int, bytes]:
    """(status, body) of a 2xx answer; _CallFailed for an error answer or none."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the gateway's URL)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        text = exc.read()[:_MAX_ERROR_BODY].decode(errors="replace")
        raise _CallFailed(f"HTTP {exc.code}: {text}", exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        timed_out = isinstance(reason, TimeoutError)
        raise _CallFailed(str(reason) or type(reason).__name__, timed_out=timed_out) from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        raise _CallFailed(
            f"the answer is not JSON: {body[:_MAX_ERROR_BODY].decode(errors='replace')}"
        ) from None


def _forwarded_headers(entrypoint: object) -> dict[str, str]:
    """The tracing id and caller name of the call being served, passed on to the job called."""
    headers: dict[str, str] = {}
    context = getattr(entrypoint, "request_context", None)
    request = None
    if context is not None:
        try:
            request = context.get()
        except LookupError:
            request = None
    if request is not None:
        caller = request.headers.get(CALLER_HEADER)
        if caller:
            headers[CALLER_HEADER] = caller
        tracing = request.headers.get(TRACING_HEADER)
        if tracing:
            headers[TRACING_HEADER] = tracing
    tracing_id = request_id_var.get()
    if tracing_id and TRACING_HEADER not in headers:
        headers[TRACING_HEADER] = tracing_id
    return headers
