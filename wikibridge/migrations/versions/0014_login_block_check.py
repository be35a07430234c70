"""when a login's wiki block check is due, and why a login ended

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00

A volunteer blocked on the wiki after logging in must not keep working until
the session's 12 hours are over: each login remembers when its next block
check is due, and a login ended for a block says so, so the login page can
tell the volunteer why.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "login_session", sa.Column("block_check_due", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("login_session", sa.Column("ended_because", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.drop_column("ended_because")
        batch.drop_column("block_check_due")
