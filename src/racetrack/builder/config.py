"""racetrack's user configuration file: the default base image and git credentials for private repos."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV = "RACETRACK_CONFIG"
DEFAULT_BASE_IMAGE = "python:3.11-slim"


class ConfigError(Exception):
    """The racetrack config file cannot be read or has a field of the wrong shape."""


@dataclass(frozen=True)
class GitCredentials:
    """Username and password (or token) used for https git remotes on `host` ("*" matches any)."""

    host: str
    username: str
    password: str


@dataclass(frozen=True)
class RacetrackConfig:
    path: Path
    base_image: str = DEFAULT_BASE_IMAGE
    git_credentials: tuple[GitCredentials, ...] = ()
    from_environment: bool = True  # RACETRACK_GIT_USERNAME/PASSWORD; off when a client sent its own

    def credentials_for(self, host: str) -> GitCredentials | None:
        """Credentials for a git host: the environment first (unless turned off), then the entries."""
        username, password = (
            os.environ.get("RACETRACK_GIT_USERNAME"),
            os.environ.get("RACETRACK_GIT_PASSWORD"),
        )
        if self.from_environment and username and password:
            return GitCredentials("*", username, password)
        return next((c for c in self.git_credentials if c.host in (host, "*")), None)


def config_path() -> Path:
    """$RACETRACK_CONFIG, else $XDG_CONFIG_HOME/racetrack/config.yaml (~/.config by default)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "racetrack" / "config.yaml"


def load_config(path: Path | None = None) -> RacetrackConfig:
    """Read the config file; a missing file means all defaults."""
    path = path or config_path()
    data = _read(path)
    base_image = data.get("base_image", DEFAULT_BASE_IMAGE)
    if not isinstance(base_image, str) or not base_image:
        raise ConfigError(f"{path}: base_image must be an image name such as {DEFAULT_BASE_IMAGE!r}")
    entries = data.get("git_credentials") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: git_credentials must be a list of {{host, username, password}} entries")
    credentials = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in _CREDENTIAL_KEYS):
            raise ConfigError(f"{path}: git_credentials[{index}] needs text fields host, username, password")
        credentials.append(GitCredentials(*(entry[k] for k in _CREDENTIAL_KEYS)))
    return RacetrackConfig(path, base_image, tuple(credentials))


def save_setting(key: str, value: Any, path: Path | None = None) -> Path:
    """Set one top-level field in the config file, keeping the others; the file is private (0600)."""
    path = path or config_path()
    data = _read(path)
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


_CREDENTIAL_KEYS = ("host", "username", "password")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read racetrack config {path}: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings (e.g. base_image: ...)")
    return data
