"""The files and directories a job declares in `static_endpoints()`, checked against its root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.contract.paths import normalize_path


@dataclass(frozen=True)
class StaticEndpoint:
    """A URL path (relative to /api/v1) backed by one file or, recursively, one directory."""

    path: str
    target: Path
    mimetype: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.target.is_dir()


def build_static_endpoints(spec: object, root: Path) -> list[StaticEndpoint]:
    """Check the `static_endpoints()` mapping; missing files and bad entries raise LoadError."""
    if not isinstance(spec, dict):
        raise LoadError(f"static_endpoints() must return a dict of path -> file, got {type(spec).__name__}")
    endpoints = []
    for path, value in spec.items():
        filename, mimetype = value if isinstance(value, tuple) and len(value) == 2 else (value, None)
        where = f"static endpoint {path!r}"
        if not isinstance(path, str) or not isinstance(filename, str | os.PathLike):
            raise LoadError(
                f"{where}: expected 'path': 'file' or 'path': ('file', 'mimetype'), got {value!r}"
            )
        target = (root / filename).resolve()
        if not target.is_relative_to(root.resolve()):
            raise LoadError(
                f"{where}: {filename} is outside the job root {root}; serve files of the job only"
            )
        if not target.exists():
            raise LoadError(
                f"{where}: {filename} does not exist (paths are relative to the job root {root})",
                "FileNotFoundError",
            )
        if target.is_dir() and mimetype:
            raise LoadError(f"{where}: a mimetype can be given for a file only; {filename} is a directory")
        endpoints.append(StaticEndpoint(normalize_path(path), target, mimetype))
    return endpoints
