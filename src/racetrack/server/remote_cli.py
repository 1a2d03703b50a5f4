"""What our CLI's verbs do with --remote: Racetrack's client behaviour against a `racetrack server`."""

from __future__ import annotations

import json
import time
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


LIST_COLUMNS = {  # Racetrack's `list -c` names: header and the JobDto field shown
    "job_type": ("JOB TYPE", "job_type_version"),
    "infrastructure": ("INFRASTRUCTURE", "infrastructure_target"),
    "deployed_by": ("DEPLOYED BY", "deployed_by"),
    "updated_at": ("UPDATED AT", "update_time"),
    "last_call_at": ("LAST CALL AT", "last_call_time"),
    "pub_url": ("PUB URL", "pub_url"),
}


def list_columns(names: list[str]) -> list[str]:
    """The `-c/--column` names, in table order ('all' is every one); unknown names fail, listing the known."""
    unknown = sorted(set(names) - {*LIST_COLUMNS, "all"})
    if unknown:
        raise _fail(f"unknown column {', '.join(unknown)}; columns are {', '.join(LIST_COLUMNS)} and all")
    return [column for column in LIST_COLUMNS if column in names or "all" in names]


def list_jobs(remote: str, name: str | None, as_json: bool, columns: list[str] | None = None) -> None:
    from racetrack.server import client

    shown = list_columns(columns or [])
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
    header = ["NAME", "VERSION", "STATUS", *(LIST_COLUMNS[column][0] for column in shown)]
    table = [header] + [
        [row["name"], row["version"], str(row["status"]).upper()]
        + [_cell(row.get(LIST_COLUMNS[column][1])) for column in shown]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    """A JobDto value as a table cell: timestamps as an age ('5m ago'), None as '-'."""
    from datetime import UTC, datetime

    from racetrack.deploy.jobs import age

    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return age(datetime.fromtimestamp(value, UTC)) + " ago"
    return str(value)


def logs(remote: str, name: str, version: str | None, tail: int | None, follow: bool = False) -> None:
    from racetrack.server import client

    try:
        text = client.logs(remote, name, version or "latest", 20 if tail is None else tail)
        typer.echo(text, nl=not text.endswith("\n") and bool(text))
        seen = text.splitlines()
        while follow:
            time.sleep(FOLLOW_INTERVAL)
            lines = client.logs(remote, name, version or "latest", FOLLOW_WINDOW).splitlines()
            for line in lines[_overlap(seen, lines) :]:
                typer.echo(line)
            seen = lines
    except RemoteError as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


FOLLOW_INTERVAL = 1.0  # seconds between two reads of the job's log tail
FOLLOW_WINDOW = 1000  # lines read each time; more new lines than that in one interval are skipped


def _overlap(before: list[str], after: list[str]) -> int:
    """How many leading lines of `after` are the trailing lines of `before` (already printed)."""
    for size in range(min(len(before), len(after)), 0, -1):
        if before[-size:] == after[:size]:
            return size
    return 0


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


def call(
    remote: str, name: str, path: str, body: Any, version: str | None, timeout: float, curl: bool = False
) -> None:
    from racetrack.server import client

    try:
        if curl:
            typer.echo(client.curl_command(remote, name, version or "latest", path, body))
            return
        result = client.call(remote, name, version or "latest", path, body, timeout)
    except RemoteError as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps(result, indent=4))
