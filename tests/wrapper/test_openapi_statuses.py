"""Every status a documented route answers is declared for it in /openapi.json (errors as ErrorBody)."""

from __future__ import annotations

import re
from collections import defaultdict
from functools import partial
from pathlib import Path

from starlette.testclient import TestClient
from wrapper_helpers import make_app

from racetrack.manifest import PythonSettings

JOB = """
from starlette.responses import PlainTextResponse

class Job:
    def perform(self, x: int) -> int:
        if x < 0:
            raise ValueError("x must not be negative")
        if x == 13:
            raise RuntimeError("unlucky")
        return x

    def auxiliary_endpoints(self):
        return {"/double": self.double}

    def double(self, x: int) -> int:
        return 2 * x

    def static_endpoints(self):
        return {"/notes": "notes.txt", "/site": "site/"}

    def webview_app(self, base_url):
        async def app(scope, receive, send):
            status = 404 if scope["path"].endswith("/missing") else 200
            await PlainTextResponse("webview", status)(scope, receive, send)
        return app
"""

BROKEN_JOB = """
class Job:
    def __init__(self):
        raise OSError("no model")

    def perform(self):
        pass
"""


def _write_job(root: Path) -> None:
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<p>index</p>")
    (root / "notes.txt").write_text("some notes")


def _observe(client: TestClient, seen: dict[tuple[str, str], set[int]], method: str, url: str, **kw) -> None:
    response = client.request(method, url, **kw)
    seen[(method.lower(), url)].add(response.status_code)
    if response.status_code >= 400 and not url.startswith("/api/v1/webview") and url != "/health":
        assert set(response.json()) == {"error", "type", "details", "request_id"}, (method, url)


def test_every_status_a_route_answers_is_declared(tmp_path: Path) -> None:
    _write_job(tmp_path)
    app = make_app(tmp_path, JOB, python=PythonSettings("entrypoint.py", max_body_bytes=1000))
    client = TestClient(app, follow_redirects=False)
    paths = client.get("/openapi.json").json()["paths"]
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    see = partial(_observe, client, seen)
    for x in (1, -1, 13):
        see("POST", "/api/v1/perform", json={"x": x})
    see("POST", "/api/v1/perform", json={"x": "nope"})
    see("GET", "/api/v1/perform")
    see("POST", "/api/v1/double", json={"x": 2})
    see("POST", "/api/v1/perform", content=b"x" * 2000, headers={"content-type": "application/json"})
    for method in ("GET", "POST"):
        see(method, "/api/v1/parameters")
        see(method, "/api/v1/notes")
        see(method, "/health")
        see(method, "/live")
        see(method, "/ready")
        see(method, "/metrics")
    etag = client.get("/api/v1/notes").headers["etag"]
    see("GET", "/api/v1/notes", headers={"if-none-match": etag})
    see("GET", "/api/v1/notes", headers={"range": "bytes=0-3"})
    see("GET", "/api/v1/notes", headers={"range": "bytes=500-"})
    see("GET", "/api/v1/notes", headers={"range": "lines=1"})
    for path in ("", "/", "/index.html", "/missing.html"):
        see("GET", "/api/v1/site" + path)
    see("GET", "/api/v1/webview/page")
    see("GET", "/api/v1/webview/missing")
    see("GET", "/api/v1/webview/page", content=b"x" * 2000)
    app.drain.begin()  # shutting down: everything but the probes answers 503
    for method, url in list(seen):
        see(method.upper(), url)
    failing = tmp_path / "failing"
    failing.mkdir()
    broken = TestClient(make_app(failing, BROKEN_JOB))
    for url in ("/live", "/ready", "/health", "/api/v1/parameters"):
        _observe(broken, seen, "GET", url)

    observed_codes = set()
    for (method, url), statuses in seen.items():
        template = _template_for(url, paths)
        operation = paths[template].get(method)
        if operation is None:  # e.g. GET /api/v1/perform: the documented operation declares the 405
            (operation,) = paths[template].values()
            assert statuses <= {405, 503}, (method, url, statuses)
        declared = operation["responses"]
        missing = {str(status) for status in statuses} - set(declared)
        assert not missing, f"{method.upper()} {url} ({template}) answered {missing}, not declared"
        observed_codes |= statuses
    assert {200, 206, 304, 307, 400, 404, 405, 413, 416, 422, 500, 503} <= observed_codes


def _template_for(url: str, paths: dict) -> str:
    if url in paths:
        return url
    for template in paths:
        pattern = re.escape(template).replace(re.escape("/{path}"), "(/.*)?")
        if "{" in template and re.fullmatch(pattern, url):
            return template
    raise AssertionError(f"{url} matches no documented route")
