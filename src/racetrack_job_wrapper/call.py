"""`call_job`: call another job through the gateway (`PUB_URL`) with this job family's token."""

from __future__ import annotations

import json
import os
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


def call_job(
    entrypoint: object,
    job_name: str,
    path: str = API_PREFIX + "/perform",
    payload: Any = None,
    version: str = "latest",
    method: str = "POST",
    timeout: float = 10,
) -> Any:
    """Call `path` of job `job_name` at `version` through the gateway and return its decoded JSON result.

    Sends `X-Racetrack-Auth: $AUTH_TOKEN` and passes on the current call's tracing id and caller name;
    any failure raises RuntimeError saying which job could not be called, by whom, and why.
    """
    pub_url = os.environ.get(ENV_PUB_URL, "").rstrip("/")
    me = os.environ.get(ENV_JOB_NAME) or os.environ.get(ENV_FATMAN_NAME) or "this job"
    what = f'job "{job_name} {version}" by {me}'
    if not pub_url:
        raise RuntimeError(f"failed to call {what}: {ENV_PUB_URL} is not set (the gateway's address)")
    url = f"{pub_url}/job/{job_name}/{version}/{path.lstrip('/')}"
    headers = {"Accept": "application/json", **_forwarded_headers(entrypoint)}
    token = os.environ.get(ENV_AUTH_TOKEN)
    if token:
        headers[AUTH_HEADER] = token
    data = None
    if payload is not None or method.upper() == "POST":
        data = json.dumps({} if payload is None else payload).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method.upper())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the gateway's URL)
            body = response.read()
    except urllib.error.HTTPError as exc:
        text = exc.read()[:_MAX_ERROR_BODY].decode(errors="replace")
        raise RuntimeError(f"failed to call {what}: HTTP {exc.code}: {text}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RuntimeError(f"failed to call {what}: {reason}") from None
    try:
        return json.loads(body) if body else None
    except ValueError:
        raise RuntimeError(
            f"failed to call {what}: the answer is not JSON: "
            f"{body[:_MAX_ERROR_BODY].decode(errors='replace')}"
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
