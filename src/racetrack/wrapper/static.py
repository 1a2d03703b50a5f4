"""Serve the files and directories declared by `static_endpoints()`, never anything outside them."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from racetrack.wrapper.loader import LoadError


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


def normalize_path(path: str) -> str:
    """'/xrai', 'xrai' and 'xrai/' all become '/xrai'."""
    return "/" + path.strip("/")


class StaticServer:
    """Serves one static endpoint: a single file, or files found under a directory (no escaping it)."""

    def __init__(self, endpoint: StaticEndpoint) -> None:
        self.endpoint = endpoint
        directory = endpoint.target if endpoint.is_dir else endpoint.target.parent
        self._files = StaticFiles(directory=directory, follow_symlink=False)

    async def response(self, subpath: str, scope: Scope) -> Response:
        """The response for `subpath` below the endpoint ('' for itself); raises HTTPException."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        if not self.endpoint.is_dir:
            if subpath:
                raise HTTPException(404)
            relative = self.endpoint.target.name
        else:
            relative = os.path.normpath(os.path.join(*subpath.split("/"))) if subpath.strip("/") else ""
        full_path, stat_result = self._files.lookup_path(relative) if relative else ("", None)
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise HTTPException(404)
        response = self._files.file_response(full_path, stat_result, scope)
        if self.endpoint.mimetype:
            response.headers["content-type"] = self.endpoint.mimetype
        return response
