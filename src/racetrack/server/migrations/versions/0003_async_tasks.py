"""The gateway's async tasks, in the server's database (racetrack.gateway.store.TaskRecord)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "gateway_async_tasks"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_name", sa.String(256), nullable=False),
        sa.Column("job_version", sa.String(256), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("request_headers", sa.Text, nullable=False),
        sa.Column("request_body", sa.LargeBinary, nullable=False),
        sa.Column("owner", sa.String(512)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("result_status", sa.Integer),
        sa.Column("result_content_type", sa.String(256)),
        sa.Column("result_body", sa.LargeBinary),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float, nullable=False),
    )
    for column in ("status", "expires_at", "lease_until"):
        op.create_index(f"ix_{TABLE}_{column}", TABLE, [column])


def downgrade() -> None:
    op.drop_table(TABLE)
