"""What the wrapper needs to know about the job it serves, from arguments, environment and manifest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from racetrack.manifest import Manifest, PythonSettings

# Every environment variable the wrapper reads; each must be reserved in fatman.schema.json.
WRAPPER_ENV_VARS: tuple[str, ...] = (
    "PUB_URL",
    "FATMAN_NAME",
    "FATMAN_VERSION",
    "GIT_VERSION",
    "DEPLOYMENT_TIMESTAMP",
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
    pub_url: str = ""
    python: PythonSettings | None = None  # the manifest's `python:` section; None: the schema's defaults

    @property
    def runtime(self) -> PythonSettings:
        """Concurrency, queue, timeout, worker, body size and shutdown knobs (`python:` in fatman.yaml)."""
        return self.python or PythonSettings(self.entrypoint_path, self.entrypoint_class)

    @property
    def public_prefix(self) -> str:
        """The URL prefix a gateway serves this job under (`PUB_URL`, else Racetrack's default)."""
        return (self.pub_url or f"/pub/fatman/{self.name}/{self.version}").rstrip("/")

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
        name=name or env.get("FATMAN_NAME") or Path(entrypoint_path).stem,
        version=version or env.get("FATMAN_VERSION") or "0.0.1",
        root=(root or Path.cwd()).resolve(),
        git_version=env.get("GIT_VERSION", ""),
        deployment_timestamp=env.get("DEPLOYMENT_TIMESTAMP", ""),
        pub_url=env.get("PUB_URL", ""),
        python=python,
    )


def settings_from_manifest(manifest: Manifest) -> JobSettings:
    """Settings for the job described by a loaded fatman.yaml (environment variables still win)."""
    return settings_from_env(
        entrypoint_path=manifest.python.entrypoint_path,
        entrypoint_class=manifest.python.entrypoint_class,
        name=os.environ.get("FATMAN_NAME") or manifest.name,
        version=os.environ.get("FATMAN_VERSION") or manifest.version,
        root=manifest.root,
        python=manifest.python,
    )
