"""Typed view of a validated manifest. Field rules live in fatman.schema.json, not here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GitSource:
    remote: str
    branch: str | None = None
    directory: str = "."


@dataclass(frozen=True)
class PythonSettings:
    """The `jobtype_extra` section (`python` in older manifests)."""

    entrypoint_path: str
    entrypoint_class: str | None = None
    requirements_path: str | None = None
    max_concurrency: int = 8
    max_queue: int = 64
    request_timeout: float = 300
    endpoint_timeouts: dict[str, float] = field(default_factory=dict)
    workers: int = 0
    max_body_bytes: int = 16777216
    shutdown_grace: float = 30
    home_page: str | None = None

    def timeout_for(self, endpoint: str) -> float:
        """Seconds a call to `endpoint` (e.g. "/perform") may take."""
        return self.endpoint_timeouts.get(endpoint, self.request_timeout)


@dataclass(frozen=True)
class Resources:
    cpu_min: str | None = None
    cpu_max: str | None = None
    memory_min: str | None = None
    memory_max: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A loaded, merged, validated manifest; `data` is the normalized mapping it was built from.

    `notices`: informational lines about it (old field names, unused Racetrack settings, public endpoints).
    """

    name: str
    owner_email: str
    jobtype: str
    git: GitSource
    python: PythonSettings
    version: str = "0.0.1"
    system_dependencies: tuple[str, ...] = ()
    build_env: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, str] = field(default_factory=dict)
    secret_build_env_file: str | None = None
    secret_runtime_env_file: str | None = None
    public_endpoints: tuple[str, ...] = ()
    labels: dict[str, Any] = field(default_factory=dict)
    replicas: int = 1
    resources: Resources = field(default_factory=Resources)
    image_type: str = "docker"
    infrastructure_target: str | None = None
    path: Path = Path("fatman.yaml")
    data: dict[str, Any] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The job's root directory: where the manifest sits; relative paths resolve from here."""
        return self.path.parent

    @property
    def lang(self) -> str:
        """The job type under its old name."""
        return self.jobtype

    @property
    def jobtype_extra(self) -> PythonSettings:
        """The job type settings under their current name (`manifest.python` is the same object)."""
        return self.python

    def label_strings(self) -> dict[str, str]:
        """`labels` as text, for places that take only strings (Docker labels): non-strings as JSON."""
        return {key: value if isinstance(value, str) else _json(value) for key, value in self.labels.items()}

    @classmethod
    def from_data(cls, data: dict[str, Any], path: Path, notices: tuple[str, ...] = ()) -> Manifest:
        """Build the typed view of schema-valid, defaults-applied `data` read from `path`."""
        nested = {"git", "jobtype_extra", "resources"}
        plain = {key: value for key, value in data.items() if key not in nested}
        for key in ("system_dependencies", "public_endpoints"):
            plain[key] = tuple(plain.get(key, ()))
        resources = {key: str(value) for key, value in data.get("resources", {}).items()}
        settings = {f.name for f in fields(PythonSettings)}  # Racetrack's unused build keys stay in `data`
        python = {key: value for key, value in data["jobtype_extra"].items() if key in settings}
        return cls(
            **plain,
            git=GitSource(**data["git"]),
            python=PythonSettings(**python),
            resources=Resources(**resources),
            path=path,
            data=data,
            notices=notices,
        )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
