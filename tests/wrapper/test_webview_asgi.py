"""An ASGI (Starlette) `webview_app` served by a real wrapper process: pages, bodies, static/, raw paths."""

from __future__ import annotations

import json
from pathlib import Path

from wrapper_helpers import raw_get, write_job

from server_process import job_server

STARLETTE_UI_JOB = """
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route


class Job:
    def perform(self, x: int) -> int:
        return x

    def webview_app(self, base_url: str):
        async def page(request):
            return HTMLResponse(f'<link href="{base_url}/static/app.css"><p>ASGI page</p>')

        async def echo(request):
            return JSONResponse({"got": await request.json()})

        async def raw(request):
            scope = request.scope
            return JSONResponse({"raw_path": scope["raw_path"].decode(), "path": scope["path"]})

        # routes relative to the webview's root, as Racetrack mounts an ASGI webview
        routes = [Route("/", page), Route("/echo", echo, methods=["POST"]), Route("/raw/{rest:path}", raw)]
        return Starlette(routes=routes)
"""

BASE = "/pub/job/asgi-ui/0.0.1/api/v1/webview"


def test_starlette_webview_through_a_real_server(tmp_path: Path) -> None:
    write_job(tmp_path, STARLETTE_UI_JOB)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("body { color: teal; }")
    args = ["--entrypoint-path", "entrypoint.py", "--root", str(tmp_path), "--name", "asgi-ui"]
    with job_server(args) as server:
        client = server.client
        page = client.get("/api/v1/webview/")
        assert page.status_code == 200 and "ASGI page" in page.text
        assert f'href="{BASE}/static/app.css"' in page.text
        assert client.get("/pub/job/asgi-ui/latest/api/v1/webview/").text == page.text
        assert client.post("/api/v1/webview/echo", json={"a": [1, 2]}).json() == {"got": {"a": [1, 2]}}
        css = client.get(f"{BASE}/static/app.css")
        assert (
            css.status_code == 200
            and "teal" in css.text
            and css.headers["content-type"].startswith("text/css")
        )
        assert client.get("/api/v1/webview/nothing-here").status_code == 404  # the app's own 404
        assert "x-request-tracing-id" in page.headers
        # the app sees the path as the client encoded it: %2F and %2e%2e are not decoded for it
        status, body = raw_get(client, "/api/v1/webview/raw/a%2Fb/%2e%2e/c")
        assert status == 200, body
        seen = json.loads(body)
        assert seen["raw_path"] == f"{BASE}/raw/a%2Fb/%2e%2e/c"
        assert seen["path"] == f"{BASE}/raw/a/b/../c"
