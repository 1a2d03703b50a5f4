"""Alembic migrations on a real SQLite database: an older schema upgrades with its rows kept."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from racetrack.server import db
from racetrack.server.models import Deployment


def test_a_0001_database_upgrades_and_keeps_its_deployments(tmp_path: Path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO deployments (id, status, job_name, job_version, deployed_by, manifest_yaml,"
                " infrastructure_target, force, build_from, create_time, update_time) VALUES"
                " ('d1', 'done', 'j', '1.0.0', 'alice', 'name: j', 'docker', 0, 'git', 1, 1)"
            )
        )
    assert db.migrate(engine) == ("0001", "0002")
    with db.sessions(engine)() as session:
        row = session.scalars(select(Deployment)).one()
    assert (row.id, row.job_name, row.no_cache) == ("d1", "j", False)
    assert db.migrate(engine) == ("0002", "0002")  # nothing left to do
