"""Fixtures for builder tests: the Docker engine and containers started from built images."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from build_helpers import RunningJob


@pytest.fixture(scope="session")
def engine():
    from racetrack.builder import connect

    return connect()


@pytest.fixture
def run_image(engine) -> Iterator:
    """Start a container of an image with port 7000 published on 127.0.0.1; wait until /ready answers."""
    started = []

    def run(tag: str, **options: object) -> RunningJob:
        container = engine.containers.run(
            tag, detach=True, ports={"7000/tcp": ("127.0.0.1", None)}, **options
        )
        started.append(container)
        deadline = time.monotonic() + 60
        while True:
            container.reload()
            ports = container.attrs["NetworkSettings"]["Ports"].get("7000/tcp")
            if ports:
                url = f"http://127.0.0.1:{ports[0]['HostPort']}"
                try:
                    if httpx.get(url + "/ready", timeout=2).status_code == 200:
                        return RunningJob(url, container)
                except httpx.HTTPError:
                    pass
            if container.status == "exited" or time.monotonic() > deadline:
                logs = container.logs().decode(errors="replace")
                raise AssertionError(f"job {tag} did not become ready ({container.status}):\n{logs}")
            time.sleep(0.3)

    yield run
    for container in started:
        container.remove(force=True)
