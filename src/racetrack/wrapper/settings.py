"""What the wrapper needs to know about the job it serves, from arguments, environment and manifest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from racetrack.manifest import Manifest, PythonSettings
from racetrack.protocol import (
    ENV_DEPLOYED_BY_RACETRACK_VERSION,
    ENV_DEPLOYMENT_TIMESTAMP,
    ENV_FATMAN_NAME,
    ENV_FATMAN_VERSION,
    ENV_GIT_VERSION,
    ENV_JOB_DEPLOYMENT_TIMESTAMP,
    ENV_JOB_NAME,
    ENV_JOB_VERSION,
    ENV_PUB_URL,
    PUB_PREFIXES,
)

# Every environment variable the wrapper reads; each must be reserved in fatman.schema.json.
WRAPPER_ENV_VARS: tuple[str, ...] = (
    ENV_PUB_URL,
    ENV_JOB_NAME,
    ENV_JOB_VERSION,
    ENV_FATMAN_NAME,
    ENV_FATMAN_VERSION,
    ENV_GIT_VERSION,
    ENV_DEPLOYMENT_TIMESTAMP,
)


@dataclass(frozen=True)
class JobSettings:
    """Identity and entrypoint location of the served job; paths are relative to `root`."""

    entrypoint_path: str
    entrypoint_class: str | None = None
    name: str = "job"
    version: str = "0.0.1"
    root: Path = field(default_factory=Path.cwd)
    git_version: str = ""
    deployment_timestamp: str = ""
    pub_url: str = ""  # the gateway's address, for job-to-job calls (racetrack_job_wrapper.call_job)
    deployed_by: str = ""  # the Racetrack (or racetrack) version that deployed the job
    python: PythonSettings | None = None  # the manifest's jobtype_extra; None: the schema's defaults
    manifest_file: str = ""  # the manifest's file name (job.yaml, fatman.yaml); "": served from flags

    @property
    def runtime(self) -> PythonSettings:
        """Concurrency, queue, timeout, worker, body size and shutdown knobs (`jobtype_extra`)."""
        return self.python or PythonSettings(self.entrypoint_path, self.entrypoint_class)

    @property
    def public_prefix(self) -> str:
        """The path prefix the gateway serves this job under: `/pub/job/{name}/{version}`, as in Racetrack."""
        return f"{PUB_PREFIXES[0]}/{self.name}/{self.version}"

    @property
    def entrypoint_file(self) -> Path:
        return self.root / self.entrypoint_path


def settings_from_env(
    entrypoint_path: str,
    entrypoint_class: str | None = None,
    name: str | None = None,
    version: str | None = None,
    root: Path | None = None,
    env: Mapping[str, str] = os.environ,
    python: PythonSettings | None = None,
) -> JobSettings:
    """Settings from explicit values, falling back to the deployer's environment variables."""
    return JobSettings(
        entrypoint_path=entrypoint_path,
        entrypoint_class=entrypoint_class or None,
        name=name or _env_name(env) or Path(entrypoint_path).stem,
        version=version or _env_version(env) or "0.0.1",
        root=(root or Path.cwd()).resolve(),
        git_version=env.get(ENV_GIT_VERSION, ""),
        deployment_timestamp=env.get(ENV_DEPLOYMENT_TIMESTAMP) or env.get(ENV_JOB_DEPLOYMENT_TIMESTAMP, ""),
        pub_url=env.get(ENV_PUB_URL, ""),
        deployed_by=env.get(ENV_DEPLOYED_BY_RACETRACK_VERSION, ""),
        python=python,
    )


def settings_from_manifest(manifest: Manifest) -> JobSettings:
    """Settings for the job described by a loaded manifest (environment variables still win)."""
    settings = settings_from_env(
        entrypoint_path=manifest.python.entrypoint_path,
        entrypoint_class=manifest.python.entrypoint_class,
        name=_env_name(os.environ) or manifest.name,
        version=_env_version(os.environ) or manifest.version,
        root=manifest.root,
        python=manifest.python,
    )
    return replace(settings, manifest_file=manifest.path.name)


def setting_hint(manifest_file: str, *fields: str) -> str:
    """How a message names the settings to change: `jobtype_extra.a / jobtype_extra.b in job.yaml`."""
    names = " / ".join(f"jobtype_extra.{name}" for name in fields)
    return f"{names} in {manifest_file or 'the job manifest'}"


def _env_name(env: Mapping[str, str]) -> str:
    return env.get(ENV_JOB_NAME) or env.get(ENV_FATMAN_NAME) or ""


def _env_version(env: Mapping[str, str]) -> str:
    return env.get(ENV_JOB_VERSION) or env.get(ENV_FATMAN_VERSION) or ""
