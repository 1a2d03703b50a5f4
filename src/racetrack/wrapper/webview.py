"""Mount the entrypoint's `webview_app(base_url)` (WSGI or ASGI) and the job's `static/` directory."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from racetrack.wrapper.static import StaticEndpoint, StaticServer

WEBVIEW_PATH = "/webview"


class Webview:
    """The user's web app, seeing request paths under `base_url` whatever prefix the request came in with."""

    def __init__(self, app: ASGIApp, base_url: str, static_dir: Path | None) -> None:
        self.app = app
        self.base_url = base_url
        self.static = (
            StaticServer(StaticEndpoint(WEBVIEW_PATH + "/static", static_dir)) if static_dir else None
        )

    async def __call__(self, subpath: str, scope: Scope, receive: Receive, send: Send) -> None:
        path = self.base_url + subpath
        child = {**scope, "path": path, "raw_path": path.encode(), "root_path": ""}
        await self.app(child, receive, send)


def build_webview(entrypoint: object, base_url: str, root: Path) -> Webview | None:
    """Call `webview_app(base_url)` if the entrypoint has it; None when it has none or returns None."""
    factory = getattr(entrypoint, "webview_app", None)
    if factory is None:
        return None
    app = factory(base_url)
    if app is None:
        return None
    static_dir = root / "static"
    asgi_app: ASGIApp = app if is_asgi_app(app) else WSGIMiddleware(app)
    return Webview(asgi_app, base_url, static_dir if static_dir.is_dir() else None)


def is_asgi_app(app: Any) -> bool:
    """ASGI apps are async callables; WSGI apps (Flask, Django) are plain callables."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)
