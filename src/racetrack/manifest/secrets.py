"""Secret variables from .env files (Docker Compose syntax) named by the manifest; never from the image."""

from __future__ import annotations

import io
import os
from pathlib import Path

from dotenv.parser import parse_stream

from racetrack.manifest.model import Manifest
from racetrack.manifest.problems import FieldPath, Location, ManifestError, Problem, display_path, read_text
from racetrack.manifest.source import Origin
from racetrack.manifest.validation import schema_problems


class MissingEnvFile(ManifestError):
    """A secret env file named by the manifest does not exist on this machine."""


def read_env_file(path: Path) -> dict[str, str]:
    """Variables of a .env file (comments, KEY=VALUE, KEY = "quoted", export KEY=...), taken literally."""
    return _read_env(path)[0]


def secret_build_env(manifest: Manifest) -> dict[str, str]:
    """Variables from `secret_build_env_file`; empty when the manifest sets none."""
    return _secret_env(manifest, "secret_build_env_file", "build_env")


def secret_runtime_env(manifest: Manifest) -> dict[str, str]:
    """Variables from `secret_runtime_env_file` (reserved names refused); empty when none is set."""
    return _secret_env(manifest, "secret_runtime_env_file", "runtime_env")


def _secret_env(manifest: Manifest, field: str, env_field: str) -> dict[str, str]:
    name = getattr(manifest, field)
    if not name:
        return {}
    path = manifest.root / os.path.expanduser(name)
    if not path.is_file():
        dist = path.with_name(path.name + ".dist")
        if dist.is_file():
            hint = f"copy {display_path(dist)} to {display_path(path)} and fill in the values"
        else:
            hint = "create it with KEY=VALUE lines, or remove the field"
        message = f"{display_path(path)!r} does not exist; {hint}"
        raise MissingEnvFile([Problem(display_path(manifest.path), message, field)])
    values, origins = _read_env(path)
    problems = schema_problems(values, origins, Location(display_path(path)), f"/properties/{env_field}")
    if problems:
        raise ManifestError(problems)
    return values


def _read_env(path: Path) -> tuple[dict[str, str], dict[FieldPath, Origin]]:
    """Variables and the line each was set on; problems never quote a line, as it may hold a secret."""
    shown = display_path(path)
    text = read_text(path)
    values: dict[str, str] = {}
    origins: dict[FieldPath, Origin] = {}
    problems: list[Problem] = []
    for binding in parse_stream(io.StringIO(text)):
        where = Location(shown, binding.original.line, 1)
        if binding.error:
            problems.append(Problem.at(where, "not a KEY=VALUE line; quote values with spaces, quotes or #"))
        elif binding.key is not None and binding.value is None:
            problems.append(Problem.at(where, "has no value: write KEY=VALUE", (binding.key,)))
        elif binding.key is not None:
            values[binding.key] = binding.value or ""
            origins[(binding.key,)] = Origin(where, where)
    if problems:
        raise ManifestError(problems)
    return values, origins
