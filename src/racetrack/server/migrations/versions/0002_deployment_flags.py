"""Deployments remember the client's --no-cache and what kind of subject deployed them."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.add_column(sa.Column("no_cache", sa.Boolean, nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("deployer_kind", sa.String(16), nullable=False, server_default="user"))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.drop_column("no_cache")
        table.drop_column("deployer_kind")
