"""Helpers for wrapper tests: in-process apps for detail, real server processes for the real thing."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from racetrack.wrapper.app import JobApp
from racetrack.wrapper.settings import JobSettings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample"


def write_job(directory: Path, code: str, filename: str = "entrypoint.py") -> Path:
    """Write an entrypoint module (dedented) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_text(textwrap.dedent(code))
    return directory


def make_app(directory: Path, code: str | None = None, **settings: object) -> JobApp:
    """A JobApp for the job in `directory` (writing `code` first), loaded synchronously."""
    if code is not None:
        write_job(directory, code)
    app = JobApp(JobSettings(entrypoint_path="entrypoint.py", root=directory, name="job", **settings))
    app.load()
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running wrapper process: an HTTP client for it and the file its output goes to."""

    client: httpx.Client
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def job_server(
    args: list[str],
    env: dict[str, str] | None = None,
    wait_path: str = "/ready",
    command: list[str] | None = None,
) -> Iterator[Server]:
    """Run a real wrapper server process on a free port until the block ends."""
    port = free_port()
    base = command or [sys.executable, "-m", "racetrack.wrapper", "run"]
    log = Path(tempfile.mkstemp(prefix="job-server-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*base, *args, "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30), process, log)
    try:
        wait_for(server, wait_path)
        yield server
    finally:
        server.client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


def wait_for(server: Server, path: str, status: int = 200, deadline: float = 60) -> httpx.Response:
    """Poll `path` until it answers `status`; fail with the server's output if it dies or never does."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited with {server.process.returncode}:\n{server.output()}")
        try:
            response = server.client.get(path)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"server never answered {status} on {path}:\n{server.output()}")


@contextmanager
def sample_server(name: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A real server for sample/<name>, started as the Docker image starts it."""
    with job_server(["--manifest", str(SAMPLES / name / "fatman.yaml")], env) as server:
        yield server


def raw_get(client: httpx.Client, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (httpx would normalize `..` segments away)."""
    connection = http.client.HTTPConnection(client.base_url.host, client.base_url.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
