"""Initial tables: subjects, tokens, permissions, deployments, jobs, public endpoints."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("password_hash", sa.String(256)),
        sa.Column("is_staff", sa.Boolean, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.UniqueConstraint("kind", "name"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject_id", sa.Integer, sa.ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("revoked", sa.Float),
    )
    op.create_index("ix_tokens_subject_id", "tokens", ["subject_id"])
    op.create_index("ix_tokens_prefix", "tokens", ["prefix"])
    op.create_table(
        "permissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject_id", sa.Integer, sa.ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("job_name", sa.String(256)),
        sa.Column("job_version", sa.String(256)),
        sa.Column("endpoint", sa.String(1024)),
    )
    op.create_index("ix_permissions_subject_id", "permissions", ["subject_id"])
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(128)),
        sa.Column("error", sa.Text),
        sa.Column("warnings", sa.Text),
        sa.Column("job_name", sa.String(256), nullable=False),
        sa.Column("job_version", sa.String(256), nullable=False),
        sa.Column("deployed_by", sa.String(256), nullable=False),
        sa.Column("manifest_yaml", sa.Text, nullable=False),
        sa.Column("image_name", sa.String(512)),
        sa.Column("infrastructure_target", sa.String(32), nullable=False),
        sa.Column("force", sa.Boolean, nullable=False),
        sa.Column("build_from", sa.String(8), nullable=False),
        sa.Column("build_logs", sa.Text),
        sa.Column("secrets", sa.LargeBinary),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("update_time", sa.Float, nullable=False),
    )
    op.create_index("ix_deployments_status", "deployments", ["status"])
    op.create_index("ix_deployments_job_name", "deployments", ["job_name"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.String(256), nullable=False),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("manifest_yaml", sa.Text, nullable=False),
        sa.Column("image_tag", sa.String(512), nullable=False),
        sa.Column("deployed_by", sa.String(256), nullable=False),
        sa.Column("infrastructure_target", sa.String(32), nullable=False),
        sa.Column("build_logs", sa.Text),
        sa.Column("secrets", sa.LargeBinary),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("update_time", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_index("ix_jobs_name", "jobs", ["name"])
    op.create_table(
        "public_endpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_name", sa.String(256), nullable=False),
        sa.Column("job_version", sa.String(256), nullable=False),
        sa.Column("endpoint", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("update_time", sa.Float, nullable=False),
        sa.UniqueConstraint("job_name", "job_version", "endpoint"),
    )


def downgrade() -> None:
    for table in ("public_endpoints", "jobs", "deployments", "permissions", "tokens", "subjects"):
        op.drop_table(table)
