"""Websockets: an ASGI webview takes them (served by `racetrack run-local`, a real server process); every
other path, a WSGI webview, a draining job and a call without the gateway credential refuse them cleanly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import websocket
from starlette.testclient import TestClient, WebSocketDenialResponse
from wrapper_helpers import make_app

from racetrack.protocol import ENV_GATEWAY_TOKEN, GATEWAY_TOKEN_HEADER
from server_process import job_server

JOB = Path(__file__).parent / "jobs" / "webview-ws"
RUN_LOCAL = (str(Path(sys.executable).parent / "racetrack"), "run-local")
BASE = "/pub/job/webview-ws/0.0.1/api/v1/webview"

FLASK_UI_JOB = """
from flask import Flask


class Job:
    def perform(self) -> int:
        return 1

    def webview_app(self, base_url: str):
        app = Flask(__name__)
        app.add_url_rule("/", "page", lambda: "WSGI page")
        return app
"""


def refusal(url: str) -> tuple[int, dict]:
    """The status and JSON body a websocket handshake to `url` is refused with."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=10)
    return refused.value.status_code, json.loads(refused.value.resp_body)


def denial(client: TestClient, path: str, headers: dict[str, str] | None = None) -> WebSocketDenialResponse:
    """The denial response an in-process websocket handshake to `path` gets."""
    with pytest.raises(WebSocketDenialResponse) as denied:  # noqa: SIM117 - the denial comes on entering
        with client.websocket_connect(path, headers=headers or {}):
            pass
    return denied.value


def test_webview_websocket_echoes_and_other_paths_refuse_with_an_error_body() -> None:
    with job_server([str(JOB)], command=RUN_LOCAL) as server:
        ws_url = "ws" + server.url.removeprefix("http")
        for prefix in ("", "/pub/job/webview-ws/0.0.1"):
            socket = websocket.create_connection(f"{ws_url}{prefix}/api/v1/webview/echo", timeout=10)
            try:
                assert socket.recv() == f"path {BASE}/echo root {BASE}"
                for text in ("hello", "again"):
                    socket.send(text)
                    assert socket.recv() == f"echo: {text}"
            finally:
                socket.close()
        assert f'new WebSocket("{BASE}/echo")' in server.client.get("/api/v1/webview/").text
        for path in ("/api/v1/perform", "/nowhere", "/api/v1/webview/static/app.js"):
            status, body = refusal(ws_url + path)
            assert status == 400 and body["type"] == "websocket_not_supported", body
            assert "only an ASGI webview_app() does, under /api/v1/webview/" in body["error"]
        assert server.client.post("/api/v1/perform", json={"x": 3}).json() == 3
        assert "WEBSOCKET /api/v1/webview/echo 101" in server.output()


def test_wsgi_webview_draining_job_and_missing_gateway_credential_refuse(tmp_path: Path, monkeypatch) -> None:
    flask = TestClient(make_app(tmp_path / "flask", FLASK_UI_JOB))
    wsgi = denial(flask, "/api/v1/webview/")
    assert wsgi.status_code == 400 and "is a WSGI app" in wsgi.json()["error"]

    monkeypatch.setenv(ENV_GATEWAY_TOKEN, "secret")
    app = make_app(tmp_path / "asgi", (JOB / "job.py").read_text())
    client = TestClient(app)
    no_token = denial(client, "/api/v1/webview/echo")
    assert no_token.status_code == 401 and no_token.json()["type"] == "unauthorized"
    with client.websocket_connect("/api/v1/webview/echo", headers={GATEWAY_TOKEN_HEADER: "secret"}) as ws:
        assert ws.receive_text().startswith("path ")
        ws.send_text("hi")
        assert ws.receive_text() == "echo: hi"
    app.drain.begin()
    draining = denial(client, "/api/v1/webview/echo", {GATEWAY_TOKEN_HEADER: "secret"})
    assert draining.status_code == 503 and draining.json()["type"] == "shutting_down"
