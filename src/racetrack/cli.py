"""The `racetrack` command line: parse arguments, call the modules that do the work."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape

from racetrack import __version__
from racetrack.manifest import (
    Manifest,
    ManifestError,
    MissingEnvFile,
    Problem,
    load_manifest,
    secret_build_env,
    secret_runtime_env,
)
from racetrack.protocol import JOB_PORT

if TYPE_CHECKING:  # the heavy build and deploy modules are imported by the commands that need them
    from racetrack.builder import BuiltImage
    from racetrack.terminal import PhaseDisplay

app = typer.Typer(
    name="racetrack",
    help="Turn a Python class with perform() into a production HTTP job.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

JobDir = Annotated[
    Path,
    typer.Argument(help="Job directory (with job.yaml or fatman.yaml) or a manifest file.", show_default=True)
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--extra", "-e", help="Override a manifest field: -e key.path=value (value parsed as YAML)."
    ),
]


class ConsoleLogHandler(logging.Handler):
    """Manifest notices on stderr, wrapped to the terminal's width like the rest of the output."""

    def emit(self, record: logging.LogRecord) -> None:
        err_console.print(escape(self.format(record)), highlight=False)


manifest_logger = logging.getLogger("racetrack.manifest")
manifest_logger.addHandler(ConsoleLogHandler())
manifest_logger.propagate = False


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a user-facing error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print racetrack's version and exit.")] = False,
) -> None:
    """Turn a Python class with perform() into a production HTTP job."""
    if version:
        console.print(__version__)
        raise typer.Exit(0)


@app.command("version")
def show_version() -> None:
    """Print racetrack's version (as `racetrack --version`; Racetrack's client has this command)."""
    console.print(f"racetrack {__version__}")


def report_problems(problems: list[Problem], where: str) -> typer.Exit:
    """Print each problem on its own line, then a summary; return the Exit to raise."""
    for problem in problems:
        err_console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    count = len(problems)
    return fail(f"{count} problem{'s' if count != 1 else ''} in {where}; see docs/manifest.md")


def load_job_manifest(path: Path, extra: list[str] | None) -> Manifest:
    """Load a job's manifest for a command; on bad input print every problem and exit 1."""
    try:
        return load_manifest(path, extra or ())
    except ManifestError as error:
        raise report_problems(error.problems, "the manifest") from None


@app.command()
def validate(path: JobDir = Path("."), extra: Overrides = None) -> None:
    """Check a manifest: print it normalized (defaults, extends and -e applied), or list every problem."""
    manifest = load_job_manifest(path, extra)
    problems: list[Problem] = []
    for read_secrets in (secret_build_env, secret_runtime_env):
        try:
            read_secrets(manifest)
        except MissingEnvFile as missing:
            for problem in missing.problems:
                err_console.print(f"warning: {escape(str(problem))}", highlight=False, soft_wrap=True)
        except ManifestError as error:
            problems += error.problems
    if problems:
        raise report_problems(problems, "the secret env files")
    typer.echo(yaml.safe_dump(manifest.data, sort_keys=False, allow_unicode=True), nl=False)


@app.command("run-local")
def run_local(
    path: JobDir = Path("."),
    port: Annotated[
        int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")
    ] = JOB_PORT,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    extra: Overrides = None,
) -> None:
    """Serve the job from this Python environment (no Docker), with runtime_env and secret env applied."""
    import os

    from racetrack.wrapper.http.server import ListenError, listen_socket, serve
    from racetrack.wrapper.local import job_urls, local_env
    from racetrack.wrapper.settings import settings_from_manifest

    manifest = load_job_manifest(path, extra)
    try:
        env = local_env(manifest)
    except ManifestError as error:  # a missing file (with its .dist hint) or a malformed one
        raise report_problems(error.problems, "the secret runtime env file") from None
    try:
        sock = listen_socket(host, port)
    except ListenError as error:
        raise fail(escape(str(error))) from None
    os.environ.update(env)
    name, version = escape(manifest.name), escape(manifest.version)
    console.print(f"Serving job [bold]{name}[/] {version} from {manifest.root}")
    for what, url in job_urls(host, port).items():
        console.print(f"  {what + ':':12} {url}", highlight=False, soft_wrap=True)
    serve(settings_from_manifest(manifest), host, port, sock)


# --- build: `racetrack build`, `racetrack build-logs`, `racetrack images bootstrap` (docs/building.md) ---

images_app = typer.Typer(help="Base images for job builds.", no_args_is_help=True)
app.add_typer(images_app, name="images")
SourceOption = Annotated[
    str, typer.Option("--source", help="git: clone git.remote at git.branch; local: the job directory.")
]
BaseImageOption = Annotated[
    str | None, typer.Option("--base-image", help="Python base image (default: the racetrack config's).")
]
NoCacheOption = Annotated[
    bool,
    typer.Option("--no-cache", help="Run every step of the job's own layers again (not the wrapper layer)."),
]


def build_with_progress(
    manifest: Manifest, source: str, base_image: str | None, display: PhaseDisplay, no_cache: bool = False
) -> BuiltImage:
    """Build the job's image, showing its phases (and with --verbose its output) on `display`."""
    from racetrack.builder import build_image

    return build_image(manifest, source, base_image, display, no_cache=no_cache)  # type: ignore[arg-type]


def check_source(source: str) -> None:
    if source not in ("git", "local"):
        raise fail(f"--source must be 'git' or 'local', not {escape(source)!r}")


@app.command()
def build(
    path: JobDir = Path("."),
    extra: Overrides = None,
    source: SourceOption = "git",
    base_image: BaseImageOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the image tag.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the full build output too.")] = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Build the job's Docker image (a no-op when nothing changed); prints the image tag."""
    from racetrack.builder import BuildError
    from racetrack.builder.config import ConfigError
    from racetrack.builder.source import manifest_drift

    check_source(source)
    manifest = load_job_manifest(path, extra)
    if source == "local" and (warning := manifest_drift(manifest)):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    from racetrack.terminal import PhaseDisplay

    try:
        with PhaseDisplay(err_console, verbose, quiet) as display:
            built = build_with_progress(manifest, source, base_image, display, no_cache)
    except (BuildError, ConfigError) as error:
        raise fail(escape(str(error))) from None
    except ManifestError as error:
        raise report_problems(error.problems, "the secret build env file") from None
    state = "up to date, nothing built" if built.cached else "built"
    err_console.print(f"{escape(built.tag)} ({state}); log: {escape(str(built.log_path))}", highlight=False)
    console.print(built.tag, highlight=False)


@app.command("build-logs")
def build_logs(
    path: JobDir = Path("."),
    extra: Overrides = None,
    list_all: Annotated[bool, typer.Option("--list", help="List the job's build logs instead.")] = False,
    remote: Annotated[
        str | None, typer.Option("--remote", help="A racetrack server: PATH may then be a job name.")
    ] = None,
    version: Annotated[str | None, typer.Option("--version", help="With --remote: the job version.")] = None,
    tail: Annotated[int, typer.Option("--tail", "-n", min=0, help="Only the last N lines (0: all).")] = 0,
) -> None:
    """Print the job's latest build log (kept by `racetrack build`, secrets redacted)."""
    if remote:
        from racetrack.server import remote_cli

        return remote_cli.build_logs(remote, path, version, tail)
    from racetrack.builder.logs import job_logs

    manifest = load_job_manifest(path, extra)
    logs = job_logs(manifest.name)
    if not logs:
        raise fail(f"no build logs for job {escape(manifest.name)!r} yet; run `racetrack build` first")
    if list_all:
        for log in logs:
            console.print(str(log), highlight=False, soft_wrap=True)
        return
    text = logs[-1].read_text()
    typer.echo("".join(text.splitlines(keepends=True)[-tail:]) if tail else text, nl=False)


@images_app.command("bootstrap")
def images_bootstrap(
    suite: Annotated[str, typer.Option(help="Debian suite to bootstrap.")] = "bookworm",
    mirror: Annotated[str | None, typer.Option(help="Debian mirror (default: the one apt uses).")] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when the configured base image is on the engine.")
    ] = False,
    make_default: Annotated[
        bool, typer.Option("--default/--no-default", help="Make it the racetrack config's base image.")
    ] = True,
) -> None:
    """Build a Python base image from Debian packages (no registry needed) and make it the default."""
    from racetrack.builder import BuildError, connect
    from racetrack.builder.bootstrap import ensure_base_image
    from racetrack.builder.config import ConfigError, config_path

    try:
        client = connect()
        with err_console.status("bootstrapping"):
            tag, built = ensure_base_image(client, suite, mirror, if_missing, make_default, _dim_line)
    except (BuildError, ConfigError) as error:
        raise fail(escape(str(error))) from None
    state = "built" if built else "already on the engine"
    default = f"; default base image in {config_path()}" if make_default else ""
    err_console.print(f"{escape(tag)} ({state}){escape(default)}", highlight=False, soft_wrap=True)


def _dim_line(line: str) -> None:
    err_console.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)


# --- deploy: `racetrack deploy`, `list`, `logs`, `call`, `delete` on a Docker engine (docs/deploying.md) ---

JobName = Annotated[str, typer.Argument(help="Job name (the manifest's `name`).", show_default=False)]
JobVersion = Annotated[
    str | None, typer.Option("--version", "-v", help="Job version or 'latest' (default: the highest SemVer).")
]
RemoteOption = Annotated[
    str | None, typer.Option("--remote", help="A racetrack server's URL or alias: act there, not locally.")
]


@app.command()
def deploy(
    path: JobDir = Path("."),
    extra: Overrides = None,
    source: SourceOption = "git",
    base_image: BaseImageOption = None,
    host_port: Annotated[
        int | None, typer.Option("--host-port", help="Host port to publish the job on (default: a free one).")
    ] = None,
    bind: Annotated[str, typer.Option("--bind", help="Host address to publish the port on.")] = "127.0.0.1",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for readiness.")] = 300,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a deployed name+version once the new container is ready.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Fail the deploy when a docs input example fails.")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the build's output too.")] = False,
    remote: RemoteOption = None,
    build_context: Annotated[
        str | None, typer.Option("--build-context", help="With --remote: local (send the files) or git.")
    ] = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Build the job's image, run it on the Docker engine, wait until it is ready and smoke check it."""
    if remote:
        from racetrack.server import remote_cli

        return remote_cli.deploy(load_job_manifest(path, extra), remote, force, build_context, no_cache)
    from racetrack.builder import BuildError
    from racetrack.builder.config import ConfigError
    from racetrack.deploy import DeployError, DeployOptions, StartFailed
    from racetrack.deploy import deploy as deploy_job
    from racetrack.terminal import PhaseDisplay, print_deployed, print_start_failure

    check_source(source)
    manifest = load_job_manifest(path, extra)

    display = PhaseDisplay(err_console, verbose)

    def build_job(manifest: Manifest) -> BuiltImage:
        built = build_with_progress(manifest, source, base_image, display, no_cache)
        state = "up to date, nothing built" if built.cached else "built"
        display.note(f"image {built.tag} ({state}); build log: {built.log_path}")
        return built

    options = DeployOptions(host_port=host_port, bind=bind, timeout=timeout, force=force, verify=verify)
    try:
        with display:
            deployed = deploy_job(manifest, build_job, options, display)
    except StartFailed as error:
        print_start_failure(err_console, error, manifest.name, manifest.version)
        raise typer.Exit(1) from None
    except (DeployError, BuildError, ConfigError) as error:
        raise fail(escape(str(error))) from None
    except ManifestError as error:
        raise report_problems(error.problems, "the secret env files") from None
    print_deployed(console, deployed)


@app.command("list")
def list_jobs(
    name: Annotated[str | None, typer.Argument(help="Only this job.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    remote: RemoteOption = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="With --remote, extra columns: job_type, infrastructure, deployed_by, updated_at, "
            "last_call_at, pub_url or all (repeatable).",
        ),
    ] = None,
) -> None:
    """Deployed jobs: name, version, status (starting/running/error/stopped), URL and age."""
    if remote:
        from racetrack.server import remote_cli

        return remote_cli.list_jobs(remote, name, as_json, columns)
    if columns:
        raise fail("--column applies to a server's jobs (--remote URL); the local list shows every column")
    import json
    from datetime import UTC, datetime

    from racetrack.deploy.jobs import job_rows
    from racetrack.terminal import jobs_listing

    rows = job_rows(_engine(), name)
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps([row.as_json(now) for row in rows], indent=2))
    elif not rows:
        err_console.print("no jobs deployed; `racetrack deploy DIR` deploys one", highlight=False)
    else:
        console.print(jobs_listing(rows, now))


@app.command()
def logs(
    name: JobName,
    version: JobVersion = None,
    tail: Annotated[int | None, typer.Option("--tail", "-n", min=0, help="Only the last N lines.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    remote: RemoteOption = None,
) -> None:
    """Print a deployed job's output (secret values redacted)."""
    if remote:
        from racetrack.server import remote_cli

        return remote_cli.logs(remote, name, version, tail, follow)
    from racetrack.deploy.logs import stream_lines

    container = _job_container(name, version)
    try:
        for line in stream_lines(container, tail, follow):
            typer.echo(line)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def call(
    name: JobName,
    endpoint: Annotated[
        str | None, typer.Argument(help="Endpoint: /perform (default), /explain, or a full /api/... path.")
    ] = None,
    payload: Annotated[
        str | None, typer.Argument(help="JSON or YAML object, @file, or @- for stdin (default: {}).")
    ] = None,
    version: JobVersion = None,
    curl: Annotated[bool, typer.Option("--curl", help="Print the equivalent curl command instead.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the result.")] = 300,
    remote: RemoteOption = None,
) -> None:
    """Call a deployed job's endpoint and print the JSON result."""
    import httpx

    from racetrack.deploy import calls

    if remote:
        from racetrack.server import remote_cli

        endpoint, payload = calls.split_arguments(endpoint, payload)
        body = calls.parse_payload(payload)
        return remote_cli.call(remote, name, calls.endpoint_path(endpoint), body, version, timeout, curl)
    from racetrack.deploy.registry import deployment_from
    from racetrack.terminal import print_call_response

    endpoint, payload = calls.split_arguments(endpoint, payload)
    try:
        body = calls.parse_payload(payload)
    except calls.PayloadError as error:
        raise fail(escape(str(error))) from None
    deployment = deployment_from(_job_container(name, version))
    if deployment.url is None:
        raise fail(f"{escape(name)} {escape(deployment.version)} publishes no port; deploy it again")
    url = deployment.url + calls.endpoint_path(endpoint)
    if curl:
        console.print(calls.curl_command(url, body), highlight=False, soft_wrap=True, markup=False)
        return
    try:
        response = httpx.post(url, json=body, timeout=timeout)
    except httpx.HTTPError as error:
        raise fail(
            f"{escape(name)} {escape(deployment.version)} did not answer at {url} ({escape(repr(error))}); "
            "`racetrack list` shows its status, `racetrack logs` its output"
        ) from None
    if not print_call_response(console, err_console, response):
        raise typer.Exit(1)


@app.command()
def delete(
    name: JobName,
    version: Annotated[
        str | None,
        typer.Option("--version", "-v", help="Job version or 'latest' (default: every version, asks first)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete all versions without asking.")] = False,
    remote: RemoteOption = None,
) -> None:
    """Stop and remove a deployed job version, or every version of the job (asks first)."""
    if remote:
        from racetrack.server import remote_cli

        return remote_cli.delete(remote, name, version)
    import sys

    from racetrack.deploy import DeployError
    from racetrack.deploy.jobs import containers_to_delete
    from racetrack.deploy.jobs import delete as delete_container

    try:
        containers = containers_to_delete(_engine(), name, version)
        if version is None and not yes:
            if not sys.stdin.isatty():
                raise fail(f"deleting every version of {escape(name)} needs confirmation: pass --yes")
            names = ", ".join(container.name for container in containers)
            typer.confirm(f"Delete every version of {name} ({names})?", abort=True)
        for container in containers:
            gone = delete_container(container)
            what = f"{gone.name} {gone.version} (container {gone.container_name})"
            console.print(f"deleted {escape(what)}", highlight=False)
    except DeployError as error:
        raise fail(escape(str(error))) from None


def _engine():  # noqa: ANN202 - docker is imported lazily, like every command's heavy dependency
    """The Docker engine, or exit with the message saying how to start one."""
    from racetrack.builder import BuildError, connect

    try:
        return connect()
    except BuildError as error:
        raise fail(escape(str(error))) from None


def _job_container(name: str, version: str | None):  # noqa: ANN202 - see _engine
    """The container of a deployed job version ('latest' or None: the highest), or exit saying what is."""
    from racetrack.deploy.registry import resolve_container
    from racetrack.deploy.versions import VersionNotFound

    try:
        return resolve_container(_engine(), name, version)
    except VersionNotFound as error:
        raise fail(escape(str(error))) from None


from racetrack.server.cli import register as _register_server  # noqa: E402 - after the local verbs

_register_server(app)

from racetrack.gateway.cli import register as _register_gateway  # noqa: E402 - after the local verbs

_register_gateway(app)

from racetrack.deploy.manifests_cli import manifests as _manifests  # noqa: E402 - after the local verbs

app.command("manifests")(_manifests)
