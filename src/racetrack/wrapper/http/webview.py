"""Mount the entrypoint's `webview_app(base_url)` (WSGI or ASGI) and the job's `static/` directory."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import quote

from a2wsgi import WSGIMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from racetrack.wrapper.contract.paths import WEBVIEW_PATH
from racetrack.wrapper.contract.statics import StaticEndpoint
from racetrack.wrapper.http.static import StaticServer


class Webview:
    """The user's web app, seeing request paths under `base_url` whatever prefix the request came in with."""

    def __init__(self, app: ASGIApp, base_url: str, static_dir: Path | None, asgi: bool = False) -> None:
        self.app = app
        self.base_url = base_url
        self.asgi = asgi  # only an ASGI app can take websockets
        # As Racetrack mounts it: an ASGI app (FastAPI, Starlette) routes on paths relative to its
        # root_path; a WSGI app (Flask) sees the whole path, base_url included, in PATH_INFO.
        self.root_path = base_url if asgi else ""
        self._raw_base = quote(base_url).encode()
        self.static = (
            StaticServer(StaticEndpoint(WEBVIEW_PATH + "/static", static_dir)) if static_dir else None
        )

    async def __call__(self, subpath: str, scope: Scope, receive: Receive, send: Send) -> None:
        path = self.base_url + subpath
        raw_path = self._raw_base + raw_suffix(scope, subpath)
        child = {**scope, "path": path, "raw_path": raw_path, "root_path": self.root_path}
        await self.app(child, receive, send)


def raw_suffix(scope: Scope, subpath: str) -> bytes:
    """The request's raw (still percent-encoded) path from where the decoded `subpath` starts, so that the
    app sees `%2F` and `%2e%2e` as the client sent them."""
    raw: bytes | None = scope.get("raw_path")
    head = quote(scope["path"][: len(scope["path"]) - len(subpath)]).encode()
    if raw is not None and raw.startswith(head):
        return raw[len(head) :]
    return quote(subpath).encode()  # no raw path, or an oddly encoded prefix: re-encode the decoded one


def build_webview(entrypoint: object, base_url: str, root: Path) -> Webview | None:
    """Call `webview_app(base_url)` if the entrypoint has it; None when it has none or returns None."""
    factory = getattr(entrypoint, "webview_app", None)
    if factory is None:
        return None
    app = factory(base_url)
    if app is None:
        return None
    static_dir = root / "static"
    asgi = is_asgi_app(app)
    asgi_app: ASGIApp = app if asgi else WSGIMiddleware(app)
    return Webview(asgi_app, base_url, static_dir if static_dir.is_dir() else None, asgi)


def is_asgi_app(app: Any) -> bool:
    """ASGI apps are async callables; WSGI apps (Flask, Django) are plain callables."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)
