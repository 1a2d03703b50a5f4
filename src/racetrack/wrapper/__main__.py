"""`python -m racetrack.wrapper run|openapi ...`: serve a job, or print its OpenAPI document."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from racetrack.manifest import load_manifest
from racetrack.wrapper.job import load_job
from racetrack.wrapper.loader import LoadError
from racetrack.wrapper.server import DEFAULT_HOST, DEFAULT_PORT, serve
from racetrack.wrapper.settings import JobSettings, settings_from_env, settings_from_manifest


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m racetrack.wrapper", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve a job over HTTP")
    spec = commands.add_parser("openapi", help="load the job and print its OpenAPI document as JSON")
    for command in (run, spec):
        source = command.add_mutually_exclusive_group(required=True)
        source.add_argument("--manifest", type=Path, help="the job's fatman.yaml")
        source.add_argument("--entrypoint-path", help="the entrypoint .py file, relative to --root")
        command.add_argument("--entrypoint-class", help="entrypoint class (default: the one in the file)")
        command.add_argument("--root", type=Path, help="job root (default: current directory)")
        command.add_argument("--name", help="job name (default: $FATMAN_NAME or the manifest's)")
        command.add_argument("--version", help="job version (default: $FATMAN_VERSION or the manifest's)")
    run.add_argument("--host", default=DEFAULT_HOST)
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    return parser.parse_args(argv)


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
        settings = settings_from_manifest(load_manifest(args.manifest))
        overrides = {key: value for key, value in (("name", args.name), ("version", args.version)) if value}
        if args.entrypoint_class:
            overrides["entrypoint_class"] = args.entrypoint_class
        return settings if not overrides else type(settings)(**{**settings.__dict__, **overrides})
    return settings_from_env(args.entrypoint_path, args.entrypoint_class, args.name, args.version, args.root)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = settings_from_args(args)
    except Exception as exc:  # manifest errors carry their own user-facing message
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "openapi":
        return print_openapi(settings)
    serve(settings, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
