"""training: sample messages, practice tickets, feedback on answers, held grants

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 13:27:49.267784
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("from_name", sa.String(length=255), nullable=False),
        sa.Column("from_address", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sample")),
    )
    op.create_table(
        "held_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("rights", sa.String(length=200), nullable=False),
        sa.Column("held_by", sa.String(length=255), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=255), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_held_grant_queue_id_queue")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteer.id"], name=op.f("fk_held_grant_volunteer_id_volunteer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_grant")),
    )
    with op.batch_alter_table("held_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_grant_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_held_grant_volunteer_id"), ["volunteer_id"], unique=False
        )

    op.create_table(
        "training_sample_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.String(length=255), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["training_sample.id"],
            name=op.f("fk_training_sample_version_sample_id_training_sample"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sample_version")),
    )
    with op.batch_alter_table("training_sample_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_sample_version_sample_id"), ["sample_id"], unique=False
        )

    op.create_table(
        "practice_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["training_sample.id"],
            name=op.f("fk_practice_ticket_sample_id_training_sample"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_practice_ticket_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
            name=op.f("fk_practice_ticket_volunteer_id_volunteer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_ticket")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_practice_ticket_ticket_id")),
    )
    with op.batch_alter_table("practice_ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practice_ticket_sample_id"), ["sample_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practice_ticket_volunteer_id"), ["volunteer_id"], unique=False
        )

    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_answer_feedback_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_answer_feedback_ticket_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["volunteer.id"], name=op.f("fk_answer_feedback_trainee_id_volunteer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_feedback")),
    )
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_answer_feedback_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_answer_feedback_ticket_id"), ["ticket_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_answer_feedback_trainee_id"), ["trainee_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_feedback_trainee_id"))
        batch_op.drop_index(batch_op.f("ix_answer_feedback_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_answer_feedback_article_id"))

    op.drop_table("answer_feedback")
    with op.batch_alter_table("practice_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_ticket_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_practice_ticket_sample_id"))

    op.drop_table("practice_ticket")
    with op.batch_alter_table("training_sample_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_sample_version_sample_id"))

    op.drop_table("training_sample_version")
    with op.batch_alter_table("held_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_grant_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_held_grant_queue_id"))

    op.drop_table("held_grant")
    op.drop_table("training_sample")
