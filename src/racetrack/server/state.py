"""Everything a request handler needs, built once at start: settings, database, auth, secrets, target."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from racetrack.server import db
from racetrack.server.auth import USER, Auth
from racetrack.server.config import ServerConfig
from racetrack.server.infrastructure import Infrastructure, infrastructure
from racetrack.server.metrics import Metrics
from racetrack.server.models import Subject
from racetrack.server.secretbox import SecretBox, private_file

logger = logging.getLogger("racetrack.server")
ADMIN = "admin"


@dataclass
class State:
    config: ServerConfig
    engine: Engine
    sessions: sessionmaker[Session]
    auth: Auth
    box: SecretBox
    infra: Infrastructure
    gateway_secret: bytes
    metrics: Metrics = field(default_factory=Metrics)
    deployer: Any = None  # racetrack.server.deployments.Deployer, set by the app


def open_state(config: ServerConfig) -> State:
    """Create the data dir, migrate the database, create the admin on first start, read the secrets."""
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.connect(config.sqlalchemy_url)
    before, after = db.migrate(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        logger.info("database %s is at schema revision %s", where, after)
    else:
        logger.info("migrated database %s from revision %s to %s", where, before or "(empty)", after)
    sessions = db.sessions(engine)
    auth = Auth(sessions, config.auth_cache_seconds)
    ensure_admin(auth, sessions, config.data_dir)
    gateway_secret = private_file(config.data_dir / "gateway-secret", secrets.token_hex(32).encode()).strip()
    return State(
        config,
        engine,
        sessions,
        auth,
        SecretBox(config.data_dir),
        infrastructure(config.infrastructure, config.status_cache_seconds, config.target_options),
        gateway_secret,
    )


def ensure_admin(auth: Auth, sessions: sessionmaker[Session], data_dir: Path) -> None:
    """On an empty database: the admin user, whose token goes to DATA_DIR/admin-token (0600) only."""
    with sessions() as session:
        if session.scalar(select(Subject.id).where(Subject.kind == USER).limit(1)) is not None:
            return
    _, token = auth.create_subject(USER, ADMIN, is_staff=True)
    path = data_dir / "admin-token"
    path.unlink(missing_ok=True)
    private_file(path, (token + "\n").encode())
    logger.info("created the admin user; its token is in %s (readable by this user only)", path)
