"""Run a JobApp with uvicorn (uvloop + httptools when installed)."""

from __future__ import annotations

import logging
import os

import uvicorn

from racetrack.wrapper.app import JobApp
from racetrack.wrapper.settings import JobSettings

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 7000


def uvicorn_config(app: JobApp, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The server settings; access logging is left to the runtime's logs module."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="auto",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        server_header=False,
    )


def serve(settings: JobSettings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the job until interrupted, with the job root as working directory."""
    if not logging.getLogger().handlers:  # the runtime's logs module may have configured logging already
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    os.chdir(settings.root)
    app = JobApp(settings)
    uvicorn.Server(uvicorn_config(app, host, port)).run()
