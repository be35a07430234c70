"""workflow: owner and lock, merges, ticket links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:29:02.257501
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ticket_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["ticket.id"], name=op.f("fk_ticket_link_source_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["ticket.id"], name=op.f("fk_ticket_link_target_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_link")),
        sa.UniqueConstraint("source_id", "target_id", name=op.f("uq_ticket_link_source_id")),
    )
    with op.batch_alter_table("ticket_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_link_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_link_target_id"), ["target_id"], unique=False)

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        # Existing tickets start unlocked.
        batch_op.add_column(
            sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_owner_id_volunteer"), "volunteer", ["owner_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_merged_into_id_ticket"), "ticket", ["merged_into_id"], ["id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_merged_into_id_ticket"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_ticket_owner_id_volunteer"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_ticket_owner_id"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("locked")
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("ticket_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_link_target_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_link_source_id"))

    op.drop_table("ticket_link")
