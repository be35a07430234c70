"""answers: answer templates, queue sender and signature, outgoing mail state, pending time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_answer_template_queue_id_queue")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_template")),
    )
    with op.batch_alter_table("answer_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_template_queue_id"), ["queue_id"], unique=False)

    with op.batch_alter_table("article", schema=None) as batch_op:
        # Articles stored so far are incoming mail: no send state ("").
        batch_op.add_column(
            sa.Column("send_status", sa.String(length=10), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("send_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("send_error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("send_tried_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_article_send_status"), ["send_status"], unique=False)

    with op.batch_alter_table("queue", schema=None) as batch_op:
        # "" means: derived from the root queue's name and MAIL_DOMAIN.
        batch_op.add_column(
            sa.Column("email_address", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ticket_pending_until"), ["pending_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_pending_until"))
        batch_op.drop_column("pending_until")

    with op.batch_alter_table("queue", schema=None) as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("email_address")

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_send_status"))
        batch_op.drop_column("sent_at")
        batch_op.drop_column("send_tried_at")
        batch_op.drop_column("send_error")
        batch_op.drop_column("send_attempts")
        batch_op.drop_column("send_status")

    with op.batch_alter_table("answer_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_template_queue_id"))

    op.drop_table("answer_template")
