"""Racetrack's client config (~/.racetrack/config.yaml) and requests to a remote Lifecycle API with it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from racetrack.protocol import AUTH_HEADER

DEFAULT_LIFECYCLE_URL = "http://127.0.0.1:7002"


class RemoteError(Exception):
    """The remote is unknown, unreachable, or answered an error."""


def config_path() -> Path:
    return Path(os.environ.get("RACETRACK_CLIENT_CONFIG") or Path.home() / ".racetrack" / "config.yaml")


def load() -> dict[str, Any]:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RemoteError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise RemoteError(f"{path}: expected a mapping (lifecycle_url, user_auths, ...)")
    return data


def save(data: dict[str, Any]) -> Path:
    """Write the config (0600, as Racetrack's client does)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        yaml.safe_dump(data, file, sort_keys=False)
    os.chmod(path, 0o600)
    return path


def resolve(remote: str | None, data: dict[str, Any] | None = None) -> str:
    """Alias -> URL; no scheme -> https://; no path -> /lifecycle (Racetrack's client rules)."""
    data = load() if data is None else data
    url = remote or data.get("lifecycle_url") or DEFAULT_LIFECYCLE_URL
    url = (data.get("lifecycle_url_aliases") or {}).get(url, url)
    if "://" not in url:
        url = "https://" + url
    if urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + "/lifecycle"
    return url.rstrip("/")


def token_for(url: str, data: dict[str, Any]) -> str | None:
    return (data.get("user_auths") or {}).get(url)


def request(method: str, remote: str | None, path: str, body: Any = None, token: str | None = None) -> Any:
    """Call the remote's Lifecycle API with the stored token; its JSON answer, or RemoteError."""
    import httpx

    data = load()
    url = resolve(remote, data)
    token = token or token_for(url, data)
    headers = {AUTH_HEADER: token} if token else {}
    try:
        response = httpx.request(method, url + path, json=body, headers=headers, timeout=60)
    except httpx.HTTPError as error:
        raise RemoteError(
            f"{url} did not answer ({error}); check the URL with `racetrack get remote`"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        raise RemoteError(f"{url}{path} answered {response.status_code} without JSON") from None
    if response.status_code >= 400:
        message = answer.get("error") if isinstance(answer, dict) else answer
        hint = f"; log in with `racetrack login TOKEN --remote {url}`" if response.status_code == 401 else ""
        raise RemoteError(f"{url}: {response.reason_phrase}: {message}{hint}")
    return answer
