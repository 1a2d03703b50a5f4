"""Wait for a new container to answer /live and then /ready, failing fast when the job cannot load."""

from __future__ import annotations

import time

import httpx
from docker.models.containers import Container

from racetrack.deploy.errors import DeployError
from racetrack.deploy.probe import Answer, ask
from racetrack.deploy.report import Reporter
from racetrack.phases import Phase

POLL_SECONDS = 0.25


def wait_until_ready(container: Container, url: str, timeout: float, reporter: Reporter) -> None:
    """Return once `url`/ready answers 200; DeployError when the job failed, exited or took too long."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:
        reporter.phase(Phase.LIVE)
        reporter.step("starting the server (waiting for /live)")
        _poll(container, http, url + "/live", deadline, timeout)
        reporter.done("live: the server answers")
        reporter.phase(Phase.READY)
        reporter.step("loading the job: importing the entrypoint, running __init__ (waiting for /ready)")
        _poll(container, http, url + "/ready", deadline, timeout)
        reporter.done("ready: the job is loaded")


def _poll(container: Container, http: httpx.Client, url: str, deadline: float, timeout: float) -> Answer:
    while True:
        answer = ask(http, url)
        if answer.load_failure is not None:
            failure = answer.load_failure.relative_to(container.attrs["Config"].get("WorkingDir") or "")
            raise DeployError(f"the job failed to load: {failure}")
        if answer.status == 200:
            return answer
        container.reload()
        if container.status not in ("created", "running") or container.attrs.get("RestartCount"):
            code = container.attrs["State"].get("ExitCode")
            raise DeployError(f"the container exited (code {code}) before the job was ready")
        if time.monotonic() > deadline:
            route = url.rsplit("/", 1)[-1]
            raise DeployError(
                f"the job was not ready within {timeout:g} s (no 200 from /{route}); if its __init__ needs "
                "longer, deploy again with a larger --timeout"
            )
        time.sleep(POLL_SECONDS)
