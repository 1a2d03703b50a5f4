"""`python -m racetrack.wrapper run|openapi ...`: serve a job, or print its OpenAPI document."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from racetrack.manifest import load_manifest
from racetrack.wrapper.contract.loader import LoadError
from racetrack.wrapper.flags import RUNTIME_FIELDS, runtime_flags
from racetrack.wrapper.http.connections import ConnectionLimits
from racetrack.wrapper.http.server import DEFAULT_HOST, DEFAULT_PORT, ListenError, serve
from racetrack.wrapper.http.surface import load_job
from racetrack.wrapper.settings import JobSettings, settings_from_env, settings_from_manifest


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m racetrack.wrapper", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve a job over HTTP")
    spec = commands.add_parser("openapi", help="load the job and print its OpenAPI document as JSON")
    for command in (run, spec):
        source = command.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--manifest", type=Path, help="the job's manifest (job.yaml or fatman.yaml) or its directory"
        )
        source.add_argument("--entrypoint-path", help="the entrypoint .py file, relative to --root")
        command.add_argument("--entrypoint-class", help="entrypoint class (default: the one in the file)")
        command.add_argument("--root", type=Path, help="job root (default: current directory)")
        command.add_argument("--name", help="job name (default: $FATMAN_NAME or the manifest's)")
        command.add_argument("--version", help="job version (default: $FATMAN_VERSION or the manifest's)")
    run.add_argument("--host", default=DEFAULT_HOST)
    run.add_argument("--port", type=_in_range(int, 1, "--port", 65535), default=DEFAULT_PORT)
    edge = run.add_argument_group("connections", "limits of the HTTP edge")
    edge.add_argument(
        "--max-header-bytes",
        type=_in_range(int, 1024, "--max-header-bytes"),
        default=ConnectionLimits.max_head_bytes,
        help="largest request line and headers; larger ones get 431",
    )
    edge.add_argument(
        "--head-timeout",
        type=_in_range(float, 0.1, "--head-timeout"),
        default=ConnectionLimits.head_timeout,
        help="seconds a connection may take to send a request's line and headers (then 408)",
    )
    edge.add_argument(
        "--max-connections",
        type=_in_range(int, 0, "--max-connections"),
        default=0,
        help="open connections; beyond it idle ones are closed, else calls get 503 (0: from ulimit -n)",
    )
    knobs = run.add_argument_group(
        "runtime",
        "override the manifest's jobtype_extra settings (or their defaults), within its schema's bounds",
    )
    for flag in runtime_flags():
        knobs.add_argument(flag.flag, dest=flag.field, type=flag.parse, help=flag.help)
    return parser.parse_args(argv)


def _in_range(
    kind: Callable[[str], float], minimum: float, flag: str, maximum: float | None = None
) -> Callable[[str], float]:
    """An argparse type: `kind(text)`, refused below `minimum` or above `maximum`."""

    def parse(text: str) -> float:
        value = kind(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} must be at least {minimum}, got {text}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{flag} must be at most {maximum}, got {text}")
        return value

    return parse


def print_openapi(settings: JobSettings) -> int:
    """Load the job like the server does and print its OpenAPI document; exit 1 with the load error."""
    try:
        with contextlib.redirect_stdout(sys.stderr):  # user prints must not corrupt the JSON on stdout
            job = load_job(settings)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(job.openapi, indent=2) + "\n")
    return 0


def settings_from_args(args: argparse.Namespace) -> JobSettings:
    if args.manifest is not None:
        settings = settings_from_manifest(load_manifest(args.manifest, notify=False))
        overrides = {key: value for key, value in (("name", args.name), ("version", args.version)) if value}
        if args.entrypoint_class:
            overrides["entrypoint_class"] = args.entrypoint_class
        settings = dataclasses.replace(settings, **overrides)
    else:
        settings = settings_from_env(
            args.entrypoint_path, args.entrypoint_class, args.name, args.version, args.root
        )
    knobs = {name: value for name in RUNTIME_FIELDS if (value := getattr(args, name, None)) is not None}
    return dataclasses.replace(settings, python=dataclasses.replace(settings.runtime, **knobs))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = settings_from_args(args)
    except Exception as exc:  # manifest errors carry their own user-facing message
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "openapi":
        return print_openapi(settings)
    try:
        limits = ConnectionLimits(args.max_header_bytes, args.head_timeout, args.max_connections)
        return serve(settings, args.host, args.port, limits=limits)
    except ListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
