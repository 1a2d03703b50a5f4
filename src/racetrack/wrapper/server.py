"""Run a JobApp with uvicorn (uvloop + httptools when installed), draining gracefully on SIGTERM."""

from __future__ import annotations

import os

from racetrack.wrapper import shutdown
from racetrack.wrapper.app import JobApp
from racetrack.wrapper.logs import configure_logging
from racetrack.wrapper.settings import JobSettings

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 7000


def serve(settings: JobSettings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve the job until SIGTERM/SIGINT, with the job root as working directory; returns the exit code."""
    configure_logging()  # LOG_LEVEL, LOG_STRUCTURED
    os.chdir(settings.root)
    app = JobApp(settings)
    return shutdown.serve(
        app,
        app.drain,
        host=host,
        port=port,
        shutdown_grace=settings.runtime.shutdown_grace,
        loop="auto",
        http="auto",
    )
