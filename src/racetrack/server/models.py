"""The control plane's tables (SQLAlchemy 2); migrations/ creates and evolves them."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Subject(Base):
    """Who calls: a user, an ESC (external service consumer) or a job family."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("kind", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # user | esc | job_family
    name: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[float] = mapped_column(Float)


class Token(Base):
    """An access token, stored as the sha256 of its (high-entropy) secret; `prefix` names it."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[float] = mapped_column(Float)
    revoked: Mapped[float | None] = mapped_column(Float, nullable=True)


class Permission(Base):
    """`subject` may do `scope` on `job_name` (all jobs when null), at `endpoint` prefix (all when null)."""

    __tablename__ = "permissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    job_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    job_version: Mapped[str | None] = mapped_column(String(256), nullable=True)
    endpoint: Mapped[str | None] = mapped_column(String(1024), nullable=True)


class Deployment(Base):
    """One deploy request and how it went; `secrets` holds the client's secret vars, encrypted."""

    __tablename__ = "deployments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # in_progress | done | failed
    phase: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_name: Mapped[str] = mapped_column(String(256), index=True)
    job_version: Mapped[str] = mapped_column(String(256))
    deployed_by: Mapped[str] = mapped_column(String(256))
    deployer_kind: Mapped[str] = mapped_column(String(16), default="user")  # user | esc | job_family
    manifest_yaml: Mapped[str] = mapped_column(Text)
    image_name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    infrastructure_target: Mapped[str] = mapped_column(String(32))
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    build_from: Mapped[str] = mapped_column(String(8))  # local | git
    no_cache: Mapped[bool] = mapped_column(Boolean, default=False)  # the client's --no-cache
    build_logs: Mapped[str | None] = mapped_column(Text, nullable=True)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    create_time: Mapped[float] = mapped_column(Float)
    update_time: Mapped[float] = mapped_column(Float)


class Job(Base):
    """A deployed job version; runtime secrets stay encrypted so that the job can be started again."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), index=True)
    version: Mapped[str] = mapped_column(String(256))
    deployment_id: Mapped[str] = mapped_column(String(36))
    manifest_yaml: Mapped[str] = mapped_column(Text)
    image_tag: Mapped[str] = mapped_column(String(512))
    deployed_by: Mapped[str] = mapped_column(String(256))
    infrastructure_target: Mapped[str] = mapped_column(String(32))
    build_logs: Mapped[str | None] = mapped_column(Text, nullable=True)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    create_time: Mapped[float] = mapped_column(Float)
    update_time: Mapped[float] = mapped_column(Float)


class PublicEndpoint(Base):
    """A job version's `public_endpoints` entry: pending until an admin approves (or rejects) it."""

    __tablename__ = "public_endpoints"
    __table_args__ = (UniqueConstraint("job_name", "job_version", "endpoint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_name: Mapped[str] = mapped_column(String(256))
    job_version: Mapped[str] = mapped_column(String(256))
    endpoint: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    update_time: Mapped[float] = mapped_column(Float)
