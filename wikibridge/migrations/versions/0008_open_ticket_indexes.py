"""partial indexes for the working lists

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 17:43:57.838642
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


OPEN = sa.text("state NOT IN ('closed successful', 'closed unsuccessful', 'merged')")


def upgrade() -> None:
    # Plain CREATE INDEX, not a batch operation: on SQLite a batch would copy
    # the ticket table and lose the full-text triggers that 0007 put on it.
    op.create_index(
        "ix_ticket_open_created",
        "ticket",
        ["created_at", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index(
        "ix_ticket_open_queue",
        "ticket",
        ["queue_id", "created_at"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_open_queue", table_name="ticket")
    op.drop_index("ix_ticket_open_created", table_name="ticket")
