"""`racetrack gateway --server URL`: the /pub gateway on its own, so that several can run behind a
load balancer in front of one control plane."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from racetrack.gateway.config import DEFAULT_DATA_DIR, SECRET_ENV, GatewayConfig, read_secret

DEFAULT_PORT = 7105


def gateway(
    server: Annotated[
        str, typer.Option("--server", help="The control plane's base URL, e.g. http://127.0.0.1:7102")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = DEFAULT_PORT,
    secret_file: Annotated[
        Path | None,
        typer.Option(help=f"File holding the control plane's gateway secret (else ${SECRET_ENV})."),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Where the default SQLite task database lives.")
    ] = DEFAULT_DATA_DIR,
    database_url: Annotated[
        str | None, typer.Option(help="Async task database (SQLAlchemy URL); default sqlite in --data-dir.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds a job may take to start answering a call (then 504).")
    ] = 60.0,
    auth_cache_ttl: Annotated[
        float,
        typer.Option(help="Seconds an authorization decision is reused (revocations wait at most this)."),
    ] = 2.0,
    async_result_ttl: Annotated[float, typer.Option(help="Seconds a finished async task is kept.")] = 86400.0,
    async_max_result_bytes: Annotated[int, typer.Option(help="Largest async result kept.")] = 1 << 24,
    async_poll_wait: Annotated[float, typer.Option(help="Seconds a long poll waits before a 202.")] = 30.0,
    auth_stale_ttl: Annotated[
        float,
        typer.Option(help="Seconds a recent allow decision serves while the control plane is down (0: off)."),
    ] = 60.0,
    async_timeout: Annotated[float, typer.Option(help="Seconds an async call may run.")] = 7200.0,
    task_lease: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before another gateway retries a task.")
    ] = 15.0,
) -> None:
    """Serve the gateway: /pub/job/{name}/{version}/{path}, /pub/async/..., /pub/metrics."""
    import uvicorn

    from racetrack.gateway.app import gateway_app
    from racetrack.gateway.serving import gateway_protocol

    try:
        secret = read_secret(secret_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not server.startswith(("http://", "https://")):
        typer.echo(f"error: --server {server!r} needs its scheme, e.g. http://127.0.0.1:7102", err=True)
        raise typer.Exit(1)
    if not 0 < auth_cache_ttl <= 5:
        typer.echo(
            "error: --auth-cache-ttl must be in (0, 5] seconds: revocations must apply within 5 s", err=True
        )
        raise typer.Exit(1)
    config = GatewayConfig(
        server_url=server,
        gateway_secret=secret,
        timeout=timeout,
        auth_cache_ttl=auth_cache_ttl,
        database_url=database_url,
        data_dir=data_dir,
        async_result_ttl=async_result_ttl,
        async_max_result_bytes=async_max_result_bytes,
        async_poll_wait=async_poll_wait,
        task_lease=task_lease,
        auth_stale_ttl=auth_stale_ttl,
        async_timeout=async_timeout,
    )
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per control-plane question is noise
    logging.getLogger("racetrack.gateway").info(
        "gateway on http://%s:%d/pub, authorizing with %s", host, port, config.control_plane
    )
    app = gateway_app(config)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=gateway_protocol(app),  # httptools; job calls answered directly, head and body in one write
        ws="wsproto",
        access_log=False,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,  # the gateway extends X-Forwarded-* itself, from the peer it sees
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    app.command("gateway")(gateway)
