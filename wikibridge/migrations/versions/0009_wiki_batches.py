"""wiki batches

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 18:43:36.489745
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wiki_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("wiki", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("login_session_id", sa.String(length=64), nullable=True),
        sa.Column("as_bot", sa.Boolean(), nullable=False),
        sa.Column("licence", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_wiki_batch_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wiki_batch")),
    )
    with op.batch_alter_table("wiki_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wiki_batch_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_wiki_batch_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("page_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("base_revision", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("undo_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_page_action_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_page_action_undo_of_id_page_action"),
            "page_action",
            ["undo_of_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_page_action_batch_id_wiki_batch"), "wiki_batch", ["batch_id"], ["id"]
        )

    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=20), server_default="typed", nullable=False)
        )
        batch_op.add_column(sa.Column("state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
        batch_op.drop_column("state")
        batch_op.drop_column("source")

    with op.batch_alter_table("page_action", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_page_action_batch_id_wiki_batch"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_page_action_undo_of_id_page_action"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_page_action_batch_id"))
        batch_op.drop_column("undo_of_id")
        batch_op.drop_column("base_revision")
        batch_op.drop_column("batch_id")

    with op.batch_alter_table("wiki_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wiki_batch_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_wiki_batch_status"))

    op.drop_table("wiki_batch")
