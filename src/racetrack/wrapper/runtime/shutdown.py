"""Graceful shutdown: on SIGTERM stop taking calls, let calls in flight finish within a grace period, exit 0.

First SIGTERM (or SIGINT): `/ready` answers 503 and new calls get 503 `shutting_down` while the server keeps
listening (a load balancer may still send traffic until it sees /ready fail); once no request is in flight
uvicorn closes. A second signal, or the end of `shutdown_grace`, stops at once. Either way the process
exits 0: the platform asked it to stop and it did; calls cut off by the grace period are logged.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from racetrack.protocol import JOB_PORT

logger = logging.getLogger(__name__)


@dataclass
class Drain:
    """Shutdown state shared by the app and the server: draining flag and requests in flight."""

    draining: bool = False
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def begin(self) -> None:
        self.draining = True
        if self.in_flight == 0:
            self.idle.set()

    def enter(self) -> None:
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        if self.draining and self.in_flight == 0:
            self.idle.set()


class GracefulServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM/SIGINT drains (see module docstring) instead of closing at once."""

    def __init__(self, config: uvicorn.Config, drain: Drain, shutdown_grace: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.shutdown_grace = shutdown_grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drainer: asyncio.Task[None] | None = None

    async def serve(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Unlike uvicorn's, records no signal to re-raise after serving: we exit 0 ourselves.
        if self.drain.draining or self._loop is None:
            if not self.force_exit:
                logger.warning("second %s: stopping now", signal.Signals(sig).name)
            self.should_exit = self.force_exit = True
            return
        self._loop.call_soon_threadsafe(self._begin_drain, sig)

    def _begin_drain(self, sig: int) -> None:
        if self.drain.draining:
            return
        logger.info(
            "%s received: refusing new calls, waiting up to %g s for %d in flight",
            signal.Signals(sig).name,
            self.shutdown_grace,
            self.drain.in_flight,
        )
        self.drain.begin()
        self._drainer = asyncio.ensure_future(self._wait_drained())

    async def _wait_drained(self) -> None:
        loop = asyncio.get_running_loop()
        grace_ends = loop.time() + self.shutdown_grace
        try:
            await asyncio.wait_for(self.drain.idle.wait(), self.shutdown_grace)
            # uvicorn then waits for its remaining tasks (probes, scrapes): only for what is left of the grace
            self.config.timeout_graceful_shutdown = max(0.0, grace_ends - loop.time())
        except TimeoutError:
            logger.warning(
                "shutdown_grace of %g s is over with %d request(s) still in flight: stopping them",
                self.shutdown_grace,
                self.drain.in_flight,
            )
            self.force_exit = True
        self.should_exit = True


def serve(
    app: ASGIApp,
    drain: Drain,
    *,
    host: str = "0.0.0.0",
    port: int = JOB_PORT,
    sockets: list[socket.socket] | None = None,
    shutdown_grace: float = 30.0,
    **uvicorn_options: Any,
) -> int:
    """Run `app` with uvicorn until SIGTERM/SIGINT, draining gracefully; returns the exit code (0).

    `app` counts its requests in flight on `drain` and refuses new calls once `drain.draining` is set.
    `sockets`: already bound sockets to listen on instead of binding `host:port`.
    """
    options: dict[str, Any] = {
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "timeout_graceful_shutdown": shutdown_grace,
        **uvicorn_options,
    }
    server = GracefulServer(uvicorn.Config(app, host=host, port=port, **options), drain, shutdown_grace)
    server.run(sockets)
    if server.force_exit:
        # Threads still running abandoned calls would block interpreter exit: run the atexit hooks
        # (log flushing, killing worker processes) and leave now.
        atexit._run_exitfuncs()
        os._exit(0)
    return 0
