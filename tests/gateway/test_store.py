"""The async task store on SQLite and on a real PostgreSQL: create, lease take-over, finish, cancel, purge."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from racetrack.gateway.store import CANCELLED, COMPLETED, ONGOING, TaskRecord, TaskStore

POSTGRES_URL = os.environ.get(
    "RACETRACK_TEST_POSTGRES_URL", "postgresql://racetrack:racetrack@127.0.0.1:5432/postgres"
)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tasks.db'}"
        yield TaskStore(url)
        return
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except Exception as error:  # noqa: BLE001 - any failure means no PostgreSQL here
        if os.environ.get("CI") == "true":
            pytest.fail(f"no PostgreSQL at {POSTGRES_URL} although CI=true: {error}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} ({error}); run scripts/setup/postgres.sh")
    name = f"racetrack_gw_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"  # as users pass it: postgresql://...
        task_store = TaskStore(url)
        yield task_store
        task_store.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def record(lease_until: float, owner: str | None = "User alice") -> TaskRecord:
    now = time.time()
    return TaskRecord(
        id=str(uuid.uuid4()), status=ONGOING, job_name="adder", job_version="1.2.0",
        endpoint="/api/v1/perform",
        method="POST", target="/pub/job/adder/1.2.0/api/v1/perform", request_headers='[["accept", "*/*"]]',
        request_body=b'{"x": 1}', owner=owner, attempts=1, created_at=now, updated_at=now,
        expires_at=now + 3600, lease_owner="gw-a", lease_until=lease_until,
    )  # fmt: skip


def test_lifecycle_of_a_task(store: TaskStore) -> None:
    live = store.create(record(time.time() + 3600))
    orphan = store.create(record(time.time() - 1))
    assert live.request_headers == [(b"accept", b"*/*")] and live.owner == "User alice"
    claimed = store.claim_orphans("gw-b", lease=30)
    assert [t.id for t in claimed] == [orphan.id] and claimed[0].attempts == 2
    assert store.claim_orphans("gw-c", lease=30) == []  # one claimer per task
    assert store.renew([live.id, orphan.id], "gw-b", time.time() + 30) == set()
    assert store.finish(orphan.id, COMPLETED, 60, 200, "application/json", b"2")
    done = store.get(orphan.id)
    assert done is not None and done.status == COMPLETED and done.result_body == b"2"
    assert store.cancel(live.id, 60)
    assert not store.finish(live.id, COMPLETED, 60, 200, "application/json", b"late")  # cancelled stays so
    assert store.renew([live.id], "gw-a", time.time() + 30) == {live.id}
    assert store.get(live.id).status == CANCELLED  # type: ignore[union-attr]
    assert store.count_by_state() == {"completed": 1, "cancelled": 1}
    store.finish(store.create(record(time.time() + 60)).id, COMPLETED, -1)  # kept for no time at all
    assert store.purge_expired() == 1
    assert store.ping()
