"""Render the Dockerfile templates (racetrack/builder/templates) for one job."""

from __future__ import annotations

import json
import re
import shlex

from racetrack.builder.distribution import template
from racetrack.builder.engine import BuildError
from racetrack.manifest import Manifest
from racetrack.phases import Phase

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_APT_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+:=~_-]*$")
STAGE_PHASES = {"system": Phase.SYSTEM_PACKAGES, "requirements": Phase.REQUIREMENTS, "job": Phase.JOB_CODE}
JOB_VENV = "python -m venv --without-pip /opt/job/venv"


def render(text: str, values: dict[str, str]) -> str:
    """Fill `{{ name }}` placeholders; every placeholder must have a value."""

    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(value, text)


def job_dockerfile(manifest: Manifest, wrapper_image: str) -> str:
    """The job's Dockerfile on `wrapper_image`."""
    return render(
        template("job.Dockerfile"),
        {
            "wrapper_image": wrapper_image,
            "build_env": env_lines(manifest.build_env, manifest, "build_env", "ARG"),
            "system_packages": apt_step(manifest),
            "requirements": requirements_steps(manifest.python.requirements_path),
            "runtime_env": env_lines(manifest.runtime_env, manifest, "runtime_env", "ENV"),
        },
    )


def env_lines(env: dict[str, str], manifest: Manifest, field: str, instruction: str) -> str:
    """ENV (or ARG) instructions with values quoted so Docker takes them literally (no $ expansion)."""
    lines = []
    for key, value in env.items():
        if "\n" in value or "\r" in value:
            raise BuildError(
                f"{manifest.path}: {field}.{key} holds a line break; env values must be one line"
            )
        quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        lines.append(f'{instruction} {key}="{quoted}"')
    return "\n".join(lines)


def apt_step(manifest: Manifest) -> str:
    packages = list(manifest.system_dependencies)
    for name in packages:
        if not _APT_PACKAGE.match(name):
            raise BuildError(
                f"{manifest.path}: system_dependencies has {name!r}, which is not a Debian package name "
                "(like 'libgomp1' or 'curl=7.88.1-10')"
            )
    if not packages:
        return ""
    return (
        "RUN apt-get -q update \\\n"
        " && DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \\\n"
        f"    {' '.join(packages)} \\\n"
        " && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin"
    )


def requirements_steps(requirements_path: str | None) -> str:
    """Create the job venv and install requirements into it with the secret build env (only the file is
    copied first, so code changes keep this layer cached). The venv gets no pip or setuptools: a throwaway
    pip, left behind in the requirements stage, installs into it (PIP_PYTHON names the target)."""
    if not requirements_path:
        return f"RUN {JOB_VENV}"
    inside = f"/src/job/{requirements_path}"
    return (
        f"COPY {json.dumps(['job/' + requirements_path, inside])}\n"
        f"RUN {JOB_VENV} \\\n"
        " && python -m venv /opt/racetrack-build/pip \\\n"
        " && cd /src/job \\\n"
        " && PIP_PYTHON=/opt/job/venv/bin/python python /opt/racetrack-build/secret_exec.py \\\n"
        "    /opt/racetrack-build/pip/bin/pip install --no-cache-dir --progress-bar off \\\n"
        f"    -r {shlex.quote(inside)}"
    )
