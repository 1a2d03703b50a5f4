"""What our CLI's verbs do with --remote: Racetrack's client behaviour against a `racetrack server`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from racetrack.server.remote import RemoteError


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _say(text: str) -> None:
    typer.echo(text, err=True)


def deploy(
    manifest: Any, remote: str, force: bool, build_context: str | None, no_cache: bool = False
) -> None:
    from racetrack.server import client

    try:
        job = client.deploy(manifest, remote, force, build_context == "local", no_cache, _say)
    except RemoteError as error:
        raise _fail(str(error)) from None
    typer.echo(f'Job "{manifest.name}" has been deployed. Check out {job.get("pub_url")} to access your Job')


def list_jobs(remote: str, name: str | None, as_json: bool) -> None:
    from racetrack.server import client

    try:
        rows = [row for row in client.jobs(remote) if name is None or row["name"] == name]
    except RemoteError as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        _say("no jobs deployed")
        return
    width = max(len("NAME"), *(len(row["name"]) for row in rows))
    typer.echo(f"{'NAME':<{width}}  {'VERSION':<10}  STATUS")
    for row in rows:
        typer.echo(f"{row['name']:<{width}}  {row['version']:<10}  {row['status'].upper()}")


def logs(remote: str, name: str, version: str | None, tail: int | None) -> None:
    from racetrack.server import client

    try:
        typer.echo(client.logs(remote, name, version or "latest", 20 if tail is None else tail))
    except RemoteError as error:
        raise _fail(str(error)) from None


def build_logs(remote: str, name_or_path: Path, version: str | None, tail: int) -> None:
    from racetrack.server import client

    name = name_or_path.name if not name_or_path.exists() else _manifest_name(name_or_path)
    try:
        typer.echo(client.build_logs(remote, name, version or "latest", tail))
    except RemoteError as error:
        raise _fail(str(error)) from None


def _manifest_name(path: Path) -> str:
    from racetrack.manifest import ManifestError, load_manifest

    try:
        return load_manifest(path, notify=False).name
    except ManifestError:
        return path.name


def delete(remote: str, name: str, version: str | None) -> None:
    from racetrack.server import client

    if not version:
        raise _fail("with --remote, delete needs --version (an exact version)")
    try:
        client.delete(remote, name, version)
    except RemoteError as error:
        raise _fail(str(error)) from None
    _say(f'Job "{name}" v{version} has been deleted from {remote}')


def call(remote: str, name: str, path: str, body: Any, version: str | None, timeout: float) -> None:
    from racetrack.server import client

    try:
        result = client.call(remote, name, version or "latest", path, body, timeout)
    except RemoteError as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps(result, indent=4))
