"""Async tasks in a database (SQLAlchemy 2, tables of the gateway's own), so they outlive a gateway."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Float, Integer, LargeBinary, String, Text, create_engine, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ONGOING, COMPLETED, FAILED, CANCELLED = "ongoing", "completed", "failed", "cancelled"


class Base(DeclarativeBase):
    pass


class TaskRecord(Base):
    __tablename__ = "gateway_async_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    job_name: Mapped[str] = mapped_column(String(256))
    job_version: Mapped[str] = mapped_column(String(256))
    endpoint: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)  # path and query sent to the job
    request_headers: Mapped[str] = mapped_column(Text)  # JSON [[name, value]], no credentials
    request_body: Mapped[bytes] = mapped_column(LargeBinary)
    owner: Mapped[str | None] = mapped_column(String(512), nullable=True)  # caller name; None: open endpoint
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_content_type: Mapped[str | None] = mapped_column(String(256), nullable=True)
    result_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float, index=True)


@dataclass(frozen=True)
class Task:
    id: str
    status: str
    job_name: str
    job_version: str
    endpoint: str
    method: str
    target: str
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    owner: str | None
    attempts: int
    note: str | None
    error: str | None
    result_status: int | None
    result_content_type: str | None
    result_body: bytes | None
    created_at: float

    @classmethod
    def of(cls, row: TaskRecord) -> Task:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in json.loads(row.request_headers)]
        return cls(
            row.id,
            row.status,
            row.job_name,
            row.job_version,
            row.endpoint,
            row.method,
            row.target,
            headers,
            row.request_body,
            row.owner,
            row.attempts,
            row.note,
            row.error,
            row.result_status,
            row.result_content_type,
            row.result_body,
            row.created_at,
        )


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    if url.startswith(("postgresql://", "postgres://")):  # psycopg 3 is the driver installed, not psycopg2
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


class TaskStore:
    """Plain blocking calls; the service runs them in threads."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)

    def create(self, record: TaskRecord) -> Task:
        with Session(self.engine) as session, session.begin():
            session.add(record)
            session.flush()
            return Task.of(record)

    def get(self, task_id: str) -> Task | None:
        with Session(self.engine) as session:
            row = session.get(TaskRecord, task_id)
            return Task.of(row) if row is not None and row.expires_at > time.time() else None

    def finish(
        self,
        task_id: str,
        status: str,
        keep_for: float,
        result_status: int | None = None,
        content_type: str | None = None,
        body: bytes | None = None,
        error: str | None = None,
    ) -> bool:
        """Record the outcome unless the task was cancelled meanwhile; whether it was recorded."""
        now = time.time()
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(TaskRecord)
                .where(TaskRecord.id == task_id, TaskRecord.status == ONGOING)
                .values(
                    status=status,
                    result_status=result_status,
                    result_content_type=content_type,
                    result_body=body,
                    error=error,
                    updated_at=now,
                    expires_at=now + keep_for,
                    lease_owner=None,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def cancel(self, task_id: str, keep_for: float) -> bool:
        now = time.time()
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(TaskRecord)
                .where(TaskRecord.id == task_id, TaskRecord.status == ONGOING)
                .values(
                    status=CANCELLED,
                    updated_at=now,
                    expires_at=now + keep_for,
                    lease_owner=None,
                    error="cancelled by the caller (DELETE /pub/async/task/{id})",
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete(self, task_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(TaskRecord, task_id)
            if row is not None:
                session.delete(row)

    def renew(self, task_ids: list[str], owner: str, until: float) -> set[str]:
        """Extend this gateway's leases; returns the ids no longer ongoing (cancelled elsewhere)."""
        if not task_ids:
            return set()
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(TaskRecord)
                .where(TaskRecord.id.in_(task_ids), TaskRecord.status == ONGOING)
                .values(lease_owner=owner, lease_until=until)
            )
            ongoing = session.scalars(
                select(TaskRecord.id).where(TaskRecord.id.in_(task_ids), TaskRecord.status == ONGOING)
            ).all()
        return set(task_ids) - set(ongoing)

    def claim_orphans(self, owner: str, lease: float) -> list[Task]:
        """Take over ongoing tasks whose gateway stopped renewing their lease (one claimer per task)."""
        now = time.time()
        claimed: list[Task] = []
        with Session(self.engine) as session:
            ids = session.scalars(
                select(TaskRecord.id).where(TaskRecord.status == ONGOING, TaskRecord.lease_until < now)
            ).all()
        for task_id in ids:
            with Session(self.engine) as session, session.begin():
                result = session.execute(
                    update(TaskRecord)
                    .where(
                        TaskRecord.id == task_id, TaskRecord.status == ONGOING, TaskRecord.lease_until < now
                    )
                    .values(
                        lease_owner=owner,
                        lease_until=now + lease,
                        attempts=TaskRecord.attempts + 1,
                        updated_at=now,
                    )
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    row = session.get(TaskRecord, task_id)
                    assert row is not None
                    claimed.append(Task.of(row))
        return claimed

    def purge_expired(self) -> int:
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(select(TaskRecord).where(TaskRecord.expires_at < time.time())).all()
            for row in rows:
                session.delete(row)
            return len(rows)

    def count_by_state(self) -> dict[str, int]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(TaskRecord.status, func.count())
                .where(TaskRecord.expires_at > time.time())
                .group_by(TaskRecord.status)
            ).all()
        return {status: count for status, count in rows}

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def close(self) -> None:
        self.engine.dispose()
