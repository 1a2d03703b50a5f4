"""The Docker engine: connect with one clear error, run a legacy build and stream its output into a log."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException

from racetrack.builder.logs import BuildLog


class BuildError(Exception):
    """A build could not be done; the message says what, where, and how to fix it."""


class EngineUnavailable(BuildError):
    """No Docker engine answers."""


def connect() -> docker.DockerClient:
    """A client for the engine at DOCKER_HOST (default: the local socket), checked with a ping."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except DockerException as error:
        raise EngineUnavailable(
            f"no Docker engine reachable at {where} ({_short(error)}). Start one, e.g. `sudo systemctl start "
            "docker` or `sudo dockerd &` (on Debian, scripts/setup/docker.sh installs and starts one), "
            "or point DOCKER_HOST at a running engine."
        ) from None
    return client


def image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def run_build(
    client: docker.DockerClient,
    log: BuildLog,
    *,
    context: Path | None = None,
    dockerfile_text: str | None = None,
    tag: str | None = None,
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    no_cache: bool = False,
) -> str:
    """Build from a context directory (or a bare Dockerfile text) with host networking; the image id."""
    options: dict[str, Any] = {
        "tag": tag,
        "nocache": no_cache,
        "buildargs": buildargs or {},
        "labels": labels,
        "network_mode": "host",
        "rm": True,
        "forcerm": True,
        "decode": True,
    }
    if context is not None:
        options["path"] = str(context)
    else:
        options["fileobj"] = io.BytesIO((dockerfile_text or "").encode())
    image_id = None
    try:
        for chunk in client.api.build(**options):
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.strip():
                        log.line(line)
            elif "error" in chunk:
                raise BuildError(log.failure_report(chunk["error"]))
            elif "ID" in chunk.get("aux", {}):
                image_id = chunk["aux"]["ID"]
    except APIError as error:
        raise BuildError(log.failure_report(_short(error))) from None
    if image_id is None:
        raise BuildError(log.failure_report("the engine reported no image id"))
    return image_id


def _short(error: Exception) -> str:
    return str(getattr(error, "explanation", None) or error).strip()
