"""Gateway test helpers: the test job, a websocket upstream, starting jobs and gateways as real processes."""

from __future__ import annotations

import contextlib
import socket
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fake_control_plane import FakeControlPlane
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Request, TextMessage

from racetrack.protocol import ENV_GATEWAY_TOKEN, gateway_token
from server_process import ServerProcess, job_server

SECRET = b"gateway-test-secret"
ALICE, BOB, ADMIN, CHAIN = "alice-token", "bob-token", "admin-token", "chain-family-token"

JOB = """
import os, time
from pathlib import Path


class Job:
    def perform(self, x: float, y: float) -> float:
        return x + y

    def auxiliary_endpoints(self):
        return {"/whoami": self.whoami, "/pid": self.pid, "/stream": self.stream, "/slow": self.slow,
                "/wait": self.wait, "/big": self.big}

    def whoami(self) -> dict:
        headers = self.request_context.get().headers
        return {k: headers.get(k) for k in ("x-request-tracing-id", "x-caller-name", "x-forwarded-for",
                "x-forwarded-host", "x-racetrack-auth", "cookie")} | {
                "gateway_token": bool(headers.get("x-racetrack-gateway-token"))}

    def big(self, size: int) -> str:
        return "x" * size

    def pid(self) -> int:
        return os.getpid()

    def stream(self, flag: str):
        yield "first"
        deadline = time.monotonic() + 10
        while not Path(flag).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        yield "second" if Path(flag).exists() else "buffered"

    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "late"

    def wait(self, flag: str) -> dict:
        deadline = time.monotonic() + 30
        while not Path(flag).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"flag": Path(flag).exists(), "pid": os.getpid()}

    def webview_app(self, base_url: str):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html")])
            return [f"<p>webview at {base_url}</p>".encode()]
        return app
"""

CHAIN_JOB = """
from racetrack_job_wrapper import async_job_call, call_job, call_job_coroutine


class Job:
    def perform(self, x: float, y: float) -> float:
        return call_job(self, "adder", "/api/v1/perform", {"x": x, "y": y}, version="1.x")

    def auxiliary_endpoints(self):
        return {"/trace": self.trace, "/queued": self.queued, "/awaited": self.awaited}

    def trace(self) -> dict:
        return call_job(self, "adder", "/api/v1/whoami", {}, version="1.2.0")

    def queued(self, path: str, body: dict, timeout: float = 30) -> dict:
        return async_job_call(self, "adder", path, body, version="1.x", timeout=timeout)

    async def awaited(self, x: float, y: float) -> dict:
        total = await call_job_coroutine(self, "adder", "/api/v1/perform", {"x": x, "y": y})
        seen = await call_job_coroutine(self, "adder", "/api/v1/whoami", {}, version="1.2.0")
        return {"total": total, "seen": seen}
"""

WS_WEBVIEW_JOB = """
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


class Job:
    def perform(self) -> str:
        return "ok"

    def webview_app(self, base_url: str):
        async def echo(socket: WebSocket) -> None:
            await socket.accept()
            await socket.send_text(f"hello {socket.headers.get('x-caller-name')} at {base_url}")
            try:
                while True:
                    text = await socket.receive_text()
                    if text == "bye":
                        await socket.close(code=1000)
                        return
                    await socket.send_text(text.upper())
            except WebSocketDisconnect:
                pass

        return Starlette(routes=[WebSocketRoute("/echo", echo)])
"""

WS_UPSTREAM = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute


async def ready(request):
    return PlainTextResponse("ok")


async def echo(websocket):
    await websocket.accept()
    caller = websocket.headers.get("x-caller-name")
    await websocket.send_text(f"hello {caller}")
    while True:
        text = await websocket.receive_text()
        if text == "bye":
            await websocket.close(code=1000)
            return
        await websocket.send_text(text.upper())


app = Starlette(routes=[Route("/ready", ready), WebSocketRoute("/pub/job/ws/1.0.0/socket", echo)])
"""


@dataclass
class Stack:
    control: FakeControlPlane
    gateway: ServerProcess
    jobs: dict[str, list[ServerProcess]]
    tmp: Path
    chain: ServerProcess | None = None


def start_job(
    tmp: Path, name: str, version: str, code: str = JOB, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[ServerProcess]:
    root = tmp / f"{name}-{version}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "entrypoint.py").write_text(textwrap.dedent(code))
    env = {ENV_GATEWAY_TOKEN: gateway_token(SECRET, name, version), **(env or {})}
    args = ["--entrypoint-path", "entrypoint.py", "--root", str(root), "--name", name, "--version", version]
    return job_server(args, env)


def gateway_command(control_url: str, data_dir: Path, *extra: str) -> tuple[str, ...]:
    return (
        sys.executable,
        "-m",
        "racetrack",
        "gateway",
        "--server",
        control_url,
        "--data-dir",
        str(data_dir),
        *extra,
    )


@contextlib.contextmanager
def run_gateway(control_url: str, data_dir: Path, *extra: str) -> Iterator[ServerProcess]:
    secret = data_dir / "gateway-secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(SECRET)
    command = gateway_command(control_url, data_dir, "--secret-file", str(secret), *extra)
    with job_server([], command=command, wait_path="/pub/live") as gateway:
        yield gateway


@contextlib.contextmanager
def run_gateway_with_secret(
    control_url: str, data_dir: Path, secret: Path, *extra: str
) -> Iterator[ServerProcess]:
    """A gateway using an existing secret file (a real control plane's)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    command = gateway_command(control_url, data_dir, "--secret-file", str(secret), *extra)
    with job_server([], command=command, wait_path="/pub/live") as gateway:
        yield gateway


def ws_talk(url: str, path: str, token: str, messages: list[str]) -> list[str]:
    """A minimal websocket client (wsproto over a socket): send `messages`, return what came back."""
    host, port = url.removeprefix("http://").split(":")
    ws = WSConnection(ConnectionType.CLIENT)
    received: list[str] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            ws.send(
                Request(
                    host=f"{host}:{port}", target=path, extra_headers=[(b"x-racetrack-auth", token.encode())]
                )
            )
        )
        pending = list(messages)
        while True:
            data = sock.recv(65536)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, (AcceptConnection, TextMessage)):
                    if isinstance(event, TextMessage):
                        received.append(event.data)
                    if pending:
                        sock.sendall(ws.send(Message(data=pending.pop(0))))
                elif isinstance(event, CloseConnection):
                    received.append(f"closed {event.code}")
                    return received
            if not data:
                return received


@contextlib.contextmanager
def burst_upstream() -> Iterator[str]:
    """A websocket upstream that answers the handshake, a message and its close in one write (as a busy
    job's bytes arrive together); its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                ws = WSConnection(ConnectionType.SERVER)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                ws.receive_data(request)
                [event] = [e for e in ws.events() if isinstance(e, Request)]
                health = event.target.endswith("/health")
                if health:
                    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                    continue
                burst = ws.send(AcceptConnection()) + ws.send(Message(data="hello"))
                connection.sendall(burst + ws.send(CloseConnection(code=1000)))
                with contextlib.suppress(OSError):
                    connection.recv(65536)  # the close reply

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
