"""Ask a running job how it is: the wrapper's /live and /ready answers, and the status `list` shows."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import httpx

from racetrack.deploy.registry import Deployment
from racetrack.protocol import JOB_PORT

STARTING, RUNNING, ERROR, STOPPED = "starting", "running", "error", "stopped"
STOP_EXIT_CODES = (0, 143)  # a clean exit, or SIGTERM from `docker stop`
WRAPPER_PREFIX = "the job failed to load: "
CAUSE = re.compile(r", cause=[A-Za-z0-9_.]*$")  # Racetrack's suffix the wrapper adds to its load error


@dataclass(frozen=True)
class LoadFailure:
    """The job could not load: the wrapper's message, the exception type and the user's file:line."""

    message: str
    exception_type: str | None = None
    location: str | None = None

    def __str__(self) -> str:
        text = self.message
        if self.exception_type and self.exception_type not in text:
            text = f"{self.exception_type}: {text}"
        return f"{text} ({self.location})" if self.location else text

    def relative_to(self, root: str) -> LoadFailure:
        """The same failure with its location relative to the job's root (the container's working dir)."""
        prefix = root.rstrip("/") + "/"
        if not root or not self.location or not self.location.startswith(prefix):
            return self
        return replace(self, location=self.location.removeprefix(prefix))


@dataclass(frozen=True)
class Answer:
    """What one route of the job answered; `status` None means nothing answered."""

    status: int | None
    body: Any = None

    @property
    def load_failure(self) -> LoadFailure | None:
        """The wrapper's load error, when it reports one (/live 500, or /ready 503 with details)."""
        body = self.body if isinstance(self.body, dict) else {}
        details = body.get("details")
        failed = self.status == 500 or (self.status == 503 and isinstance(details, list) and details)
        if not failed:
            return None
        first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
        location = first.get("location")
        message = str(body.get("error") or f"HTTP {self.status} without an error message")
        message = CAUSE.sub("", message.removeprefix(WRAPPER_PREFIX)).removesuffix(f" ({location})")
        return LoadFailure(message, first.get("exception_type"), location)


def ask(http: httpx.Client, url: str) -> Answer:
    """GET `url`; connection problems are an Answer with no status, not an exception."""
    try:
        response = http.get(url)
    except httpx.HTTPError:
        return Answer(None)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body)


def job_status(deployment: Deployment, http: httpx.Client) -> tuple[str, str | None]:
    """starting / running / error / stopped, with a short reason for error and stopped."""
    if deployment.state in ("restarting", "dead"):
        return ERROR, f"container {deployment.state} (last exit code {deployment.exit_code})"
    if deployment.state == "exited":
        if deployment.exit_code in STOP_EXIT_CODES:
            return STOPPED, "container stopped"
        return ERROR, f"container exited with code {deployment.exit_code}; see `racetrack logs`"
    if deployment.state != "running":
        return STOPPED, f"container {deployment.state}"
    if deployment.url is None:
        return ERROR, f"port {JOB_PORT} is not published"
    live = ask(http, deployment.url + "/live")
    if live.load_failure is not None:
        return ERROR, str(live.load_failure)
    if live.status == 200 and isinstance(live.body, dict):
        return (RUNNING, None) if live.body.get("ready") else (STARTING, "loading the job")
    if deployment.health == "unhealthy":
        return ERROR, "the job does not answer /live (Docker health check: unhealthy)"
    return STARTING, "the server is starting"
