"""`racetrack server`: open the state (migrating the database) and serve the app with uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from racetrack.server.config import ServerConfig

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run(config: ServerConfig) -> None:
    import uvicorn

    from racetrack.gateway.serving import gateway_protocol
    from racetrack.server.app import create_app
    from racetrack.server.listen import bind, plan
    from racetrack.server.state import open_state

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for noisy in ("alembic", "httpx", "docker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config, hosts = plan(config)
    try:
        sockets = [bind(host, config.port) for host in hosts]
    except OSError as error:
        raise SystemExit(f"error: {error}; choose another --host/--port") from None
    state = open_state(config)
    app = create_app(state)
    logging.getLogger("racetrack.server").info(
        "racetrack server: Lifecycle API at %s, gateway at %s (jobs call it at %s), data in %s, "
        "infrastructure %s",
        config.lifecycle_url,
        config.pub_url,
        config.jobs_pub_url,
        Path(config.data_dir),
        state.infra.name,
    )
    # httptools, each response's head and body in one write; /pub job calls answered by the protocol itself
    protocol = gateway_protocol(app.pub)
    server = uvicorn.Server(
        uvicorn.Config(app, http=protocol, log_level="info", access_log=True, log_config=None)
    )
    server.run(sockets=sockets)
    if state.deployer.active:
        logging.getLogger("racetrack.server").warning(
            "stopping with %d deployment(s) unfinished; the next start marks them failed",
            state.deployer.active,
        )
        logging.shutdown()
        os._exit(0)  # build threads cannot be interrupted; the database already says what was cut off
