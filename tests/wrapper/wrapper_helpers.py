"""Helpers for wrapper tests: in-process apps for detail, real server processes for the real thing."""

from __future__ import annotations

import http.client
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from racetrack.wrapper.http.app import JobApp
from racetrack.wrapper.settings import JobSettings
from server_process import ServerProcess, job_server

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


@contextmanager
def sample_server(name: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
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
