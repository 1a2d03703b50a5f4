"""Talking to a real `racetrack server` the way a client does: Lifecycle API calls, job directories, build
contexts and deploy requests polled to their end."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

from racetrack.protocol import AUTH_HEADER
from server_process import poll_until

FAKE_REMOTE = "https://example.invalid/team/jobs.git"  # never cloned: the build context is sent


class HasUrl(Protocol):
    url: str


def api(server: HasUrl, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    """`method` /lifecycle/api/v1`path` with `token` (if any)."""
    headers = {AUTH_HEADER: token} if token else {}
    return httpx.request(method, f"{server.url}/lifecycle/api/v1{path}", headers=headers, timeout=60, **kw)


def build_context(directory: Path) -> str:
    """The directory's files as Racetrack's client sends them: a base64 tar.gz."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=path.name)
    return base64.b64encode(buffer.getvalue()).decode()


def job_dir(where: Path, code: str, name: str, **fields: Any) -> Path:
    """A job directory: entrypoint.py holding `code` and a fatman.yaml naming it `name`, plus `fields`."""
    where.mkdir()
    (where / "entrypoint.py").write_text(code)
    manifest = {
        "name": name,
        "owner_email": "nobody@example.com",
        "jobtype": "python3:latest",
        "git": {"remote": FAKE_REMOTE},
        "jobtype_extra": {"entrypoint_path": "entrypoint.py"},
        **fields,
    }
    (where / "fatman.yaml").write_text(yaml.safe_dump(manifest))
    return where


def deploy_request(server: HasUrl, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST the deploy request and poll it to its end; the deployment's last state."""
    response = api(server, "POST", "/deploy", token, json=payload)
    assert response.status_code == 200, response.text
    deployment = response.json()["id"]

    def finished() -> dict[str, Any] | None:
        state = api(server, "GET", f"/deploy/{deployment}", token).json()
        return state if state["status"] != "in_progress" else None

    return poll_until(finished, timeout=600, what="the deployment finishing")
