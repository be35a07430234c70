"""page writes on the wikis, not tied to a ticket

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wiki_write",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wiki", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("op", sa.String(length=30), nullable=False),
        sa.Column("section", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("login_session_id", sa.String(length=64), nullable=True),
        sa.Column("as_bot", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wiki_write")),
    )
    op.create_index(op.f("ix_wiki_write_purpose"), "wiki_write", ["purpose"], unique=False)
    op.create_index(op.f("ix_wiki_write_status"), "wiki_write", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wiki_write_status"), table_name="wiki_write")
    op.drop_index(op.f("ix_wiki_write_purpose"), table_name="wiki_write")
    op.drop_table("wiki_write")
