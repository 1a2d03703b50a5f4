"""Run a JobApp with uvicorn (uvloop when installed, httptools with the wrapper's connection limits),
draining gracefully on SIGTERM."""

from __future__ import annotations

import errno
import importlib.util
import os
import socket

from racetrack.protocol import JOB_PORT
from racetrack.wrapper.http.app import JobApp
from racetrack.wrapper.http.connections import ConnectionLimits, protocol_class
from racetrack.wrapper.runtime import shutdown
from racetrack.wrapper.settings import JobSettings
from racetrack.wrapper.telemetry.logs import configure_logging

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = JOB_PORT


class ListenError(Exception):
    """The server cannot listen on the host and port it was given (the message says what to pass)."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` as uvicorn binds one; ListenError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is already in use; pass --port with a free one"
            ) from None
        reason = exc.strerror or str(exc)
        raise ListenError(
            f"cannot listen on {host} port {port}: {reason}; pass another --host or --port"
        ) from None
    return sock


def websocket_protocol() -> str:
    """uvicorn's `ws=` option: wsproto when installed, so websocket handshakes reach an ASGI webview
    (JobApp refuses them elsewhere); it is only reached through an upgrade, so plain HTTP pays nothing.
    Without it, an Upgrade header is ignored and the request served as plain HTTP."""
    return "wsproto" if importlib.util.find_spec("wsproto") is not None else "none"


def serve(
    settings: JobSettings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    sock: socket.socket | None = None,
    limits: ConnectionLimits = ConnectionLimits(),
) -> int:
    """Serve the job until SIGTERM/SIGINT, with the job root as working directory; returns the exit code.

    Listens on `sock` if given, else binds `host:port` first (ListenError before anything is loaded).
    """
    configure_logging()  # LOG_LEVEL, LOG_STRUCTURED
    sock = sock or listen_socket(host, port)
    os.chdir(settings.root)
    app = JobApp(settings)
    return shutdown.serve(
        app,
        app.drain,
        host=host,
        port=port,
        sockets=[sock],
        shutdown_grace=settings.runtime.shutdown_grace,
        loop="auto",
        http=protocol_class(limits),
        ws=websocket_protocol(),
    )
