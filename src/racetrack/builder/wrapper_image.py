"""The wrapper base image: Python plus the installed racetrack (as a wheel), built once and reused."""

from __future__ import annotations

from pathlib import Path

import docker

import racetrack
from racetrack.builder.context import text_digest
from racetrack.builder.distribution import build_wheel, distribution_digest, template
from racetrack.builder.dockerfile import render
from racetrack.builder.engine import image_exists, run_build
from racetrack.builder.logs import BuildLog

REPOSITORY = "racetrack/python3-wrapper"


def wrapper_tag(base_image_id: str) -> str:
    """Content-addressed: racetrack's version, a digest of the installed distribution (what the wheel holds),
    the base image and the template."""
    digest = text_digest(
        distribution_digest(),
        base_image_id,
        template("wrapper.Dockerfile"),
    )
    return f"{REPOSITORY}:{racetrack.__version__}-{digest[:12]}"


def ensure_wrapper_image(
    client: docker.DockerClient,
    tag: str,
    base_image: str,
    context: Path,
    log: BuildLog,
    buildargs: dict[str, str] | None = None,
) -> None:
    """Build the wrapper image `tag` unless the engine has it; `context` holds the build support files."""
    if image_exists(client, tag):
        log.line(f"racetrack: wrapper base image {tag} is up to date")
        return
    log.line(f"racetrack: building wrapper base image {tag} on {base_image}")
    wheel = build_wheel(context / "racetrack-build")
    log.line(f"racetrack: packed the installed racetrack {racetrack.__version__} as {wheel.name}")
    (context / "Dockerfile").write_text(
        render(
            template("wrapper.Dockerfile"),
            {
                "base_image": base_image,
                "wheel": wheel.name,
            },
        )
    )
    run_build(client, log, context=context, tag=tag, buildargs=buildargs)
