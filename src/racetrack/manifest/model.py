"""Typed view of a validated manifest. Field rules live in fatman.schema.json, not here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GitSource:
    remote: str
    branch: str | None = None
    directory: str = "."


@dataclass(frozen=True)
class PythonSettings:
    entrypoint_path: str
    entrypoint_class: str | None = None
    requirements_path: str | None = None


@dataclass(frozen=True)
class Resources:
    cpu_min: str | None = None
    cpu_max: str | None = None
    memory_min: str | None = None
    memory_max: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A loaded, merged, validated manifest; `data` is the normalized mapping it was built from."""

    name: str
    owner_email: str
    lang: str
    git: GitSource
    python: PythonSettings
    version: str = "0.0.1"
    system_dependencies: tuple[str, ...] = ()
    build_env: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, str] = field(default_factory=dict)
    secret_build_env_file: str | None = None
    secret_runtime_env_file: str | None = None
    public_endpoints: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    resources: Resources = field(default_factory=Resources)
    path: Path = Path("fatman.yaml")
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The job's root directory: where the manifest sits; relative paths resolve from here."""
        return self.path.parent
