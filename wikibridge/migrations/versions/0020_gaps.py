"""gaps: the queues an administrator approved, some or all of those applied for

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approved_queues", sa.JSON(), nullable=False, server_default="[]")
        )
    # Until now an approval approved every queue applied for.
    op.execute("UPDATE application SET approved_queues = queues WHERE status = 'approved'")


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("approved_queues")
