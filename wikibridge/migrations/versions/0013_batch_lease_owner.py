"""wiki batches name the runner holding their lease; cancelled batches say so

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:50:00

A runner whose lease ran out (it waited for pywikibot's process-wide lock)
went on writing outcomes after the sweep had handed its batch to another
runner. The lease now carries its owner, and only the owner renews it or
writes an outcome. A cancelled batch was stored as "done" with a message
"cancelled by ..."; it gets a status of its own, so lists of what waits or
ended early show it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) on both databases: no table copy.
    op.add_column("wiki_batch", sa.Column("lease_owner", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE wiki_batch SET status = 'cancelled' "
        "WHERE status = 'done' AND message LIKE 'cancelled by %'"
    )


def downgrade() -> None:
    op.execute("UPDATE wiki_batch SET status = 'done' WHERE status = 'cancelled'")
    with op.batch_alter_table("wiki_batch", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
