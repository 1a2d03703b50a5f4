"""The CLI verbs of the control plane: `racetrack server` and `racetrack admin ...` (against a remote)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from racetrack.server.config import DEFAULT_PORT, ServerConfig, default_data_dir

admin_app = typer.Typer(
    help="Administer a racetrack server: users, ESCs, grants, tokens.", no_args_is_help=True
)
users_app = typer.Typer(help="Users of a racetrack server.", no_args_is_help=True)
escs_app = typer.Typer(help="External service consumers (machine callers).", no_args_is_help=True)
admin_app.add_typer(users_app, name="users")
admin_app.add_typer(escs_app, name="escs")
Remote = Annotated[
    str | None, typer.Option("--remote", help="Server URL or alias (default: the configured remote).")
]


def server(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where the server keeps its data.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="postgresql://user:pass@host/db (default: SQLite in DATA_DIR)."),
    ] = None,
    infrastructure: Annotated[
        str, typer.Option(help="Where jobs run: docker, swarm (a Swarm manager) or kubernetes (kubeconfig).")
    ] = "docker",
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="How clients reach this server (default http://HOST:PORT)."),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="kubernetes: the namespace jobs go to (default: the context's)."),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option("--registry", help="kubernetes: push job images there, e.g. registry.example.com/team."),
    ] = None,
    job_pub_url: Annotated[
        str | None,
        typer.Option(
            "--job-pub-url",
            help="How jobs reach this server's gateway, their PUB_URL (default: the Docker bridge address).",
        ),
    ] = None,
    max_parallel: Annotated[
        int, typer.Option("--max-parallel", min=1, help="Deployments built at once.")
    ] = 2,
    max_context_bytes: Annotated[
        int, typer.Option("--max-context-bytes", min=1, help="Largest build context, decompressed.")
    ] = ServerConfig.max_context_bytes,
    async_result_ttl: Annotated[
        float, typer.Option("--async-result-ttl", min=1, help="Seconds a finished async task is kept.")
    ] = ServerConfig.async_result_ttl,
    async_max_result_bytes: Annotated[
        int, typer.Option("--async-max-result-bytes", min=1, help="Largest async result kept.")
    ] = ServerConfig.async_max_result_bytes,
) -> None:
    """Run the control plane in the foreground: the Lifecycle API under /lifecycle, the gateway under /pub."""
    from racetrack.server.infrastructure import InfrastructureUnavailable, preflight
    from racetrack.server.serve import run

    config = ServerConfig(
        data_dir=(data_dir or default_data_dir()).expanduser().resolve(),
        database_url=database_url,
        host=host,
        port=port,
        infrastructure=infrastructure,
        namespace=namespace,
        registry=registry,
        public_url=public_url,
        job_pub_url=job_pub_url,
        max_parallel_deployments=max_parallel,
        max_context_bytes=max_context_bytes,
        async_result_ttl=async_result_ttl,
        async_max_result_bytes=async_max_result_bytes,
    )
    try:
        preflight(infrastructure, config.target_options)
    except InfrastructureUnavailable as error:
        raise _fail(str(error)) from None
    run(config)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _post(remote: str | None, path: str, body: dict[str, Any]) -> Any:
    from racetrack.server.remote import RemoteError, request

    try:
        return request("POST", remote, path, body)
    except RemoteError as error:
        raise _fail(str(error)) from None


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password (for `login --username`).")
    ] = False,
    remote: Remote = None,
) -> None:
    """Create a user; prints only its token on stdout (shown once)."""
    body: dict[str, Any] = {"username": name}
    if password:
        body["password"] = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    result = _post(remote, "/api/v1/users", body)
    typer.echo(f"created user {name}; its token follows (shown once)", err=True)
    typer.echo(result["token"])


@escs_app.command("create")
def escs_create(name: Annotated[str, typer.Argument(help="The ESC's name.")], remote: Remote = None) -> None:
    """Create an external service consumer; prints only its token on stdout (shown once)."""
    result = _post(remote, "/api/v1/escs", {"name": name})
    typer.echo(f"created ESC {name}; its token follows (shown once)", err=True)
    typer.echo(result["token"])


@admin_app.command("grant")
def grant(
    subject: Annotated[str, typer.Argument(help="user:NAME, esc:NAME or job_family:NAME.")],
    scope: Annotated[
        str,
        typer.Argument(
            help="read_job, deploy_job, deploy_new_family, delete_job, call_job, "
            "call_admin_api or full_access."
        ),
    ],
    job: Annotated[str | None, typer.Option("--job", help="Only this job (default: every job).")] = None,
    version: Annotated[str | None, typer.Option("--version", help="Only this version of --job.")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Only this endpoint path prefix.")
    ] = None,
    remote: Remote = None,
) -> None:
    """Grant SUBJECT the SCOPE (on --job)."""
    body = {"subject": subject, "scope": scope, "job": job, "version": version, "endpoint": endpoint}
    _post(remote, "/api/v1/auth/grant", body)
    typer.echo(f"granted {scope} to {subject}" + (f" on {job}" if job else " on every job"), err=True)


@admin_app.command("revoke")
def revoke(
    token_prefix: Annotated[str, typer.Argument(help="The token, or its first 8 to 12 characters.")],
    remote: Remote = None,
) -> None:
    """Revoke a token: it stops working everywhere within 5 seconds."""
    _post(remote, "/api/v1/auth/revoke", {"token_prefix": token_prefix})
    typer.echo(f"revoked the token starting with {token_prefix[:12]}", err=True)


@admin_app.command("public-endpoints")
def public_endpoints(
    action: Annotated[str | None, typer.Argument(help="approve or reject (default: list).")] = None,
    name: Annotated[str | None, typer.Argument(help="Job name.")] = None,
    version: Annotated[str | None, typer.Argument(help="Job version.")] = None,
    endpoint: Annotated[str | None, typer.Argument(help="The endpoint, as in public_endpoints.")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Only requests waiting for a decision.")] = False,
    remote: Remote = None,
) -> None:
    """List public endpoint requests, or approve/reject one: `approve NAME VERSION ENDPOINT`."""
    from racetrack.server.remote import RemoteError, request

    if action is None:
        try:
            rows = request("GET", remote, "/api/v1/public-endpoints" + ("?status=pending" if pending else ""))
        except RemoteError as error:
            raise _fail(str(error)) from None
        for row in rows:
            typer.echo(f"{row['job_name']}\t{row['job_version']}\t{row['endpoint']}\t{row['status']}")
        if not rows:
            typer.echo("no public endpoint requests" + (" pending" if pending else ""), err=True)
        return
    if action not in ("approve", "reject") or not (name and version and endpoint):
        raise _fail("use `public-endpoints approve NAME VERSION ENDPOINT` or `public-endpoints reject ...`")
    _post(remote, f"/api/v1/public-endpoints/{name}/{version}/{action}", {"endpoint": endpoint})
    typer.echo(f"{action}d {endpoint} of {name} {version}", err=True)


# --- Racetrack's client config verbs: login, logout, set, get (~/.racetrack/config.yaml) ---

set_app = typer.Typer(
    help="Set the remote, an alias or git credentials in ~/.racetrack/config.yaml.", no_args_is_help=True
)
get_app = typer.Typer(help="Show the remote, the gateway URL or the config.", no_args_is_help=True)


def _config() -> dict[str, Any]:
    from racetrack.server.remote import RemoteError, load

    try:
        return load()
    except RemoteError as error:
        raise _fail(str(error)) from None


def login(
    token: Annotated[
        str | None, typer.Argument(help="Your token (from the admin).", show_default=False)
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="Log in with a password instead.")
    ] = None,
    remote: Remote = None,
) -> None:
    """Check a token (or a username and password) against the server and store the token for it."""
    from racetrack.server.remote import RemoteError, request, resolve, save

    data = _config()
    url = resolve(remote, data)
    try:
        if username is not None:
            password = typer.prompt("password", hide_input=True)
            answer = request("POST", url, "/api/v1/users/login", {"username": username, "password": password})
            token = answer["token"]
        elif not token:
            raise _fail("give a token (racetrack login TOKEN --remote URL) or --username NAME")
        else:
            answer = request("GET", url, "/api/v1/users/validate_user_auth", token=token)
    except RemoteError as error:
        raise _fail(f"authentication error: {error}") from None
    data.setdefault("user_auths", {})[url] = token
    save(data)
    typer.echo(f"logged in as {answer['username']} to {url}", err=True)


def logout(remote: Remote = None) -> None:
    """Forget the stored token of the remote."""
    from racetrack.server.remote import resolve, save

    data = _config()
    url = resolve(remote, data)
    if (data.get("user_auths") or {}).pop(url, None) is None:
        raise _fail(f"not logged in to {url}")
    save(data)
    typer.echo(f"logged out from {url}", err=True)


@set_app.command("remote")
def set_remote(url_or_alias: Annotated[str, typer.Argument(help="Server URL or alias.")]) -> None:
    """Make this the default remote."""
    from racetrack.server.remote import resolve, save

    data = _config()
    data["lifecycle_url"] = url_or_alias
    path = save(data)
    typer.echo(f"default remote is {resolve(None, data)} (in {path})", err=True)


@set_app.command("alias")
def set_alias(
    alias: Annotated[str, typer.Argument(help="Short name.")],
    url: Annotated[str, typer.Argument(help="Server URL.")],
) -> None:
    """Name a remote: `--remote ALIAS` then means URL."""
    from racetrack.server.remote import save

    data = _config()
    data.setdefault("lifecycle_url_aliases", {})[alias] = url
    save(data)
    typer.echo(f"alias {alias} -> {url}", err=True)


@set_app.command("credentials")
def set_credentials(
    repo_url: Annotated[str, typer.Argument(help="Git repository (or host) URL.")],
    username: Annotated[str, typer.Argument(help="Git username.")],
    token: Annotated[str, typer.Argument(help="Git password or access token.")],
) -> None:
    """Store git credentials the server uses to clone this repository on deploy."""
    from racetrack.server.remote import save

    data = _config()
    data.setdefault("git_credentials", {})[repo_url] = {"username": username, "password": token}
    save(data)
    typer.echo(f"git credentials stored for {repo_url}", err=True)


@get_app.command("remote")
def get_remote(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the URL only.")] = False,
) -> None:
    """The default remote's Lifecycle URL."""
    from racetrack.server.remote import resolve

    url = resolve(None, _config())
    typer.echo(url if quiet else f"Current remote is {url}")


@get_app.command("pub")
def get_pub(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the URL only.")] = False,
    remote: Remote = None,
) -> None:
    """The remote's gateway URL (its external_pub_url)."""
    from racetrack.server.remote import RemoteError, request

    try:
        url = request("GET", remote, "/api/v1/info")["external_pub_url"]
    except RemoteError as error:
        raise _fail(str(error)) from None
    typer.echo(url if quiet else f"Current Pub address is {url}")


@get_app.command("auth-token")
def get_auth_token(remote: Remote = None) -> None:
    """Print the token stored for the remote (only the token, on stdout, for scripts)."""
    from racetrack.server.remote import resolve, token_for

    data = _config()
    url = resolve(remote, data)
    token = token_for(url, data)
    if not token:
        raise _fail(f"not logged in to {url}; run racetrack login TOKEN --remote {url}")
    typer.echo(token)


@get_app.command("config")
def get_config() -> None:
    """The client config, tokens and passwords masked."""
    import yaml

    data = _config()
    for url in data.get("user_auths") or {}:
        data["user_auths"][url] = "***"
    for repo in data.get("git_credentials") or {}:
        data["git_credentials"][repo]["password"] = "***"
    typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


def register(app: typer.Typer) -> None:
    """Add the control plane's commands to the `racetrack` CLI."""
    app.command("server")(server)
    app.add_typer(admin_app, name="admin")
    app.command("login")(login)
    app.command("logout")(logout)
    app.add_typer(set_app, name="set")
    app.add_typer(get_app, name="get")
