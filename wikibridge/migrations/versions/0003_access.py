"""access: roles, per-queue grants, interface language

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:17:27.166945
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "queue_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("rights", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=255), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_queue_grant_queue_id_queue")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteer.id"], name=op.f("fk_queue_grant_volunteer_id_volunteer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_grant")),
    )
    with op.batch_alter_table("queue_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_grant_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_queue_grant_volunteer_id"), ["volunteer_id"], unique=False
        )

    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        # Existing volunteers stay plain volunteers until an administrator says otherwise.
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="volunteer")
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade() -> None:

    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("role")

    with op.batch_alter_table("queue_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_grant_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_queue_grant_queue_id"))

    op.drop_table("queue_grant")
