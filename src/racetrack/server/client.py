"""Our CLI's remote mode: the verbs of Racetrack's client (deploy, list, logs, build-logs, delete, call)
against a `racetrack server`, with the same payloads and the same config file."""

from __future__ import annotations

import base64
import io
import tarfile
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from racetrack.manifest import Manifest, secret_build_env, secret_runtime_env
from racetrack.protocol import AUTH_HEADER
from racetrack.server.remote import RemoteError, load, request, resolve, token_for

POLL_CAP = 3.0  # seconds between status polls at most, as Racetrack's client
DEPLOY_TIMEOUT = 3600.0


def build_context(manifest: Manifest) -> str:
    """base64 tar.gz of the job's files (.gitignore/.dockerignore applied, secret env files left out)."""
    from racetrack.builder.source import local_source

    source = local_source(manifest)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in source.files:
            tar.add(source.root / name, arcname=name, recursive=False)
    return base64.b64encode(buffer.getvalue()).decode()


def git_credentials(remote_url: str, config: dict[str, Any]) -> dict[str, str] | None:
    """The stored credentials for the job's git remote: exact URL, then without query, scheme+host, host."""
    stored = config.get("git_credentials") or {}
    parts = urlsplit(remote_url)
    for key in (
        remote_url,
        f"{parts.scheme}://{parts.netloc}{parts.path}",
        f"{parts.scheme}://{parts.netloc}",
        parts.netloc,
    ):
        if key in stored:
            return {"username": stored[key]["username"], "password": stored[key]["password"]}
    return None


def deploy(
    manifest: Manifest,
    remote: str | None,
    force: bool,
    local_context: bool,
    no_cache: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Send the deploy request, print each new phase, return the deployed job (or raise RemoteError)."""
    payload = {
        "manifest": {key: value for key, value in manifest.data.items() if key != "extends"},
        "git_credentials": git_credentials(manifest.git.remote, load()),
        "secret_vars": {"build_env": secret_build_env(manifest), "runtime_env": secret_runtime_env(manifest)},
        "build_context": build_context(manifest) if local_context else None,
        "force": force,
        "build_flags": ["--no-cache"] if no_cache else [],
    }
    deployment_id = request("POST", remote, "/api/v1/deploy", payload)["id"]
    say(f"deployment {deployment_id} requested")
    deadline, wait, phase, warnings = time.monotonic() + DEPLOY_TIMEOUT, 0.5, None, None
    while time.monotonic() < deadline:
        status = request("GET", remote, f"/api/v1/deploy/{deployment_id}")
        if status.get("warnings") and status["warnings"] != warnings:
            warnings = status["warnings"]
            say(f"warning: {warnings}")
        if status["status"] == "failed":
            raise RemoteError(f"deployment error: {status['error']}")
        if status["status"] == "done":
            return status["job"] or {}
        if status.get("phase") and status["phase"] != phase:
            phase = status["phase"]
            say(f"deployment in progress: {phase}...")
        time.sleep(wait)
        wait = min(wait * 1.6, POLL_CAP)
    raise RemoteError(f"deployment {deployment_id} did not finish within {DEPLOY_TIMEOUT:g} s")


def jobs(remote: str | None) -> list[dict[str, Any]]:
    return request("GET", remote, "/api/v1/job")  # type: ignore[no-any-return]


def job(remote: str | None, name: str, version: str) -> dict[str, Any]:
    return request("GET", remote, f"/api/v1/job/{name}/{version}")  # type: ignore[no-any-return]


def logs(remote: str | None, name: str, version: str, tail: int) -> str:
    return request("GET", remote, f"/api/v1/job/{name}/{version}/logs?tail={tail}")["logs"]  # type: ignore[no-any-return]


def build_logs(remote: str | None, name: str, version: str, tail: int) -> str:
    answer = request("GET", remote, f"/api/v1/job/{name}/{version}/build-logs?tail={tail}")
    return answer["logs"]  # type: ignore[no-any-return]


def delete(remote: str | None, name: str, version: str) -> None:
    request("DELETE", remote, f"/api/v1/job/{name}/{version}")


def call(remote: str | None, name: str, version: str, path: str, body: Any, timeout: float) -> Any:
    """POST `body` to the job through the server's gateway, with the stored token."""
    import httpx

    config = load()
    url = resolve(remote, config)
    found = job(remote, name, version)
    token = token_for(url, config)
    try:
        response = httpx.post(
            found["pub_url"] + path, json=body, timeout=timeout, headers={AUTH_HEADER: token} if token else {}
        )
    except httpx.HTTPError as error:
        raise RemoteError(f"{found['pub_url']} did not answer: {error}") from None
    if response.status_code >= 400:
        raise RemoteError(
            f"{name} {found['version']} answered {response.status_code}: {response.text[:2000]}"
        )
    return response.json()


def curl_command(remote: str | None, name: str, version: str, path: str, body: Any) -> str:
    """The curl command doing the call through the gateway; `racetrack get auth-token` supplies the token."""
    import shlex

    from racetrack.deploy.calls import curl_command as local_curl

    found = job(remote, name, version)
    url = resolve(remote, load())
    auth = f'-H "{AUTH_HEADER}: $(racetrack get auth-token --remote {shlex.quote(url)})"'
    return f"{local_curl(found['pub_url'] + path, body)} {auth}"
