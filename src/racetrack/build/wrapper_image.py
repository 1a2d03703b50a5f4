"""The wrapper base image: Python plus racetrack from a wheel of this source tree, built once and reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker

import racetrack
from racetrack.build.checkout import source_tree, template
from racetrack.build.context import text_digest, tree_digest
from racetrack.build.dockerfile import render
from racetrack.build.engine import BuildError, image_exists, run_build
from racetrack.build.logs import BuildLog

REPOSITORY = "racetrack/python3-wrapper"


def wrapper_tag(base_image_id: str) -> str:
    """Content-addressed: racetrack's version, a digest of its source, the base image and the template."""
    root = source_tree()
    digest = text_digest(
        tree_digest(root / "src" / "racetrack"),
        (root / "pyproject.toml").read_text(),
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
    wheel = build_wheel(source_tree(), context / "racetrack-build", log)
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


def build_wheel(root: Path, out: Path, log: BuildLog) -> Path:
    """`pip wheel --no-deps` of the checkout; the wheel's path."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in (result.stdout + result.stderr).splitlines():
        log.line(line)
    wheels = sorted(out.glob("racetrack-*.whl"))
    if result.returncode != 0 or not wheels:
        raise BuildError(log.failure_report(f"building racetrack's wheel from {root} failed"))
    return wheels[-1]
