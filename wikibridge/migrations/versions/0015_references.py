"""ticket references on the wikis, their scan cursors, and tickets known from an older system

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wiki_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wiki", sa.String(length=64), nullable=False),
        sa.Column("page_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("namespace", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("is_id", sa.Boolean(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("added_revision", sa.BigInteger(), nullable=True),
        sa.Column("added_by", sa.String(length=255), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gone_revision", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wiki_reference")),
    )
    with op.batch_alter_table("wiki_reference", schema=None) as batch_op:
        batch_op.create_index("ix_wiki_reference_number", ["number"], unique=False)
        batch_op.create_index("ix_wiki_reference_page", ["wiki", "title"], unique=False)
        batch_op.create_index(
            "uq_wiki_reference_live",
            ["wiki", "page_id", "kind", "ticket", "is_id"],
            unique=True,
            sqlite_where=sa.text("gone_at IS NULL"),
            postgresql_where=sa.text("gone_at IS NULL"),
        )
    op.create_table(
        "reference_cursor",
        sa.Column("wiki", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("wiki", "name", name=op.f("pk_reference_cursor")),
    )
    op.create_table(
        "known_ticket",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("old_id", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("permission_confirmed", sa.Boolean(), nullable=False),
        sa.Column("imported_from", sa.String(length=255), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_known_ticket")),
        sa.UniqueConstraint("old_id", name=op.f("uq_known_ticket_old_id")),
    )


def downgrade() -> None:
    op.drop_table("known_ticket")
    op.drop_table("reference_cursor")
    with op.batch_alter_table("wiki_reference", schema=None) as batch_op:
        batch_op.drop_index("uq_wiki_reference_live")
        batch_op.drop_index("ix_wiki_reference_page")
        batch_op.drop_index("ix_wiki_reference_number")
    op.drop_table("wiki_reference")
