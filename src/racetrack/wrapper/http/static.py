"""Serve the files and directories declared by `static_endpoints()`, never anything outside them."""

from __future__ import annotations

import mimetypes
import os
import stat
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import (
    FileResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
)
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from racetrack.wrapper.contract.statics import StaticEndpoint

# Types Python's own table lacks (or gets only from /etc/mime.types, absent from slim images).
EXTRA_MIME_TYPES = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".toml": "application/toml",
    ".csv": "text/csv",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".parquet": "application/vnd.apache.parquet",
}
for _suffix, _type in EXTRA_MIME_TYPES.items():
    mimetypes.add_type(_type, _suffix)

INDEX_FILE = "index.html"


class StaticServer:
    """Serves one static endpoint: a single file, or files found under a directory (no escaping it);
    a directory request gets its index.html when there is one."""

    def __init__(self, endpoint: StaticEndpoint) -> None:
        self.endpoint = endpoint
        directory = endpoint.target if endpoint.is_dir else endpoint.target.parent
        self._files = StaticFiles(directory=directory, follow_symlink=False)

    async def response(self, subpath: str, scope: Scope) -> Response:
        """The response to a GET or HEAD of `subpath` below the endpoint ('' for itself); raises
        HTTPException (404 with a message saying what is missing)."""
        endpoint = self.endpoint
        if not endpoint.is_dir:
            if subpath:
                raise HTTPException(404, f"static endpoint {endpoint.path} is a file, with nothing under it")
            relative = endpoint.target.name
        elif "\x00" in subpath:  # os.stat would raise ValueError
            raise HTTPException(404, self._no_file(subpath))
        else:
            relative = os.path.normpath(os.path.join(*subpath.split("/"))) if subpath.strip("/") else "."
        full_path, stat_result = self._lookup(relative)
        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode) and endpoint.is_dir:
            if not scope["path"].endswith("/"):  # so that the index page's relative links resolve
                return RedirectResponse(quote(scope["path"]) + "/", 307)
            full_path, stat_result = self._lookup(os.path.join(relative, INDEX_FILE))
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise HTTPException(404, self._no_file(subpath))
        headers = Headers(scope=scope)
        if "range" in headers and "if-range" not in headers:  # else starlette answers in plain text
            check_range(headers["range"], stat_result.st_size)
        response = self._files.file_response(full_path, stat_result, scope)
        if endpoint.mimetype:
            response.headers["content-type"] = endpoint.mimetype
        return response

    def _lookup(self, relative: str) -> tuple[str, os.stat_result | None]:
        """StaticFiles.lookup_path, with a name too long or a symlink loop (OSError) as not found."""
        try:
            return self._files.lookup_path(relative)
        except OSError:
            return "", None

    def _no_file(self, subpath: str) -> str:
        if not self.endpoint.is_dir:
            return f"the file of static endpoint {self.endpoint.path} is gone from the job's directory"
        if not subpath.strip("/"):
            return f"static endpoint {self.endpoint.path} is a directory without {INDEX_FILE}; ask for a file"
        return f"no file {subpath!r} under static endpoint {self.endpoint.path}"


def check_range(value: str, size: int) -> None:
    """HTTPException 400 for a malformed Range header, 416 for a range outside the file's `size` bytes."""
    try:
        FileResponse._parse_range_header(value, size)
    except MalformedRangeHeader as exc:
        raise HTTPException(400, f"bad Range header {value!r}: {exc.content}") from None
    except RangeNotSatisfiable:
        raise HTTPException(
            416,
            f"Range {value!r} starts beyond the file's {size} bytes",
            {"Content-Range": f"bytes */{size}"},
        ) from None
