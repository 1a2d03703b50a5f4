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
    assert db.migrate(engine) == ("0001", "0003")
    with db.sessions(engine)() as session:
        row = session.scalars(select(Deployment)).one()
    assert (row.id, row.job_name, row.no_cache) == ("d1", "j", False)
    assert db.migrate(engine) == ("0003", "0003")  # nothing left to do


def test_the_migrated_schema_is_what_the_models_declare(tmp_path: Path) -> None:
    """Alembic's comparison of the migrated database with the server's and the gateway's models is empty."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    from racetrack.gateway.store import Base as GatewayBase
    from racetrack.server.models import Base

    engine = db.connect(f"sqlite:///{tmp_path / 'new.sqlite'}")
    db.migrate(engine)
    metadata = MetaData()
    for table in (*Base.metadata.tables.values(), *GatewayBase.metadata.tables.values()):
        table.to_metadata(metadata)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if d[0] != "remove_table" or d[1].name != "alembic_version"] == []
