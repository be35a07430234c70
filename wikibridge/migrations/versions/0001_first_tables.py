"""first tables: queues, tickets, articles, raw mail, history, volunteers, sessions, page links

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 16:12:20.218449
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["queue.id"], name=op.f("fk_queue_parent_id_queue")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue")),
        sa.UniqueConstraint("name", name=op.f("uq_queue_name")),
    )
    op.create_table(
        "raw_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("compression", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_message")),
    )
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_message_sha256"), ["sha256"], unique=False)

    op.create_table(
        "ticket_counter",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("system_id", sa.String(length=2), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "system_id", name=op.f("pk_ticket_counter")),
    )
    op.create_table(
        "volunteer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("wiki_sub", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer")),
        sa.UniqueConstraint("username", name=op.f("uq_volunteer_username")),
    )
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("oauth_version", sa.String(length=4), nullable=False),
        sa.Column("handshake", sa.LargeBinary(), nullable=True),
        sa.Column("credentials", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteer.id"], name=op.f("fk_login_session_volunteer_id_volunteer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_session_volunteer_id"), ["volunteer_id"], unique=False
        )

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("customer", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_ticket_queue_id_queue")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_ticket_number")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_state"), ["state"], unique=False)

    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_type", sa.String(length=20), nullable=False),
        sa.Column("from_addr", sa.Text(), nullable=False),
        sa.Column("to_addr", sa.Text(), nullable=False),
        sa.Column("cc_addr", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["raw_id"], ["raw_message.id"], name=op.f("fk_article_raw_id_raw_message")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_article_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
        sa.UniqueConstraint("message_id", name=op.f("uq_article_message_id")),
    )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_history_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history")),
    )
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "page_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("wiki", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("linked_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_page_link_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_link")),
        sa.UniqueConstraint("ticket_id", "wiki", "title", name=op.f("uq_page_link_ticket_id")),
    )
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_link_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "page_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("login_session_id", sa.String(length=64), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["page_link.id"], name=op.f("fk_page_action_link_id_page_link")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_action")),
    )
    with op.batch_alter_table("page_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_action_link_id"), ["link_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("page_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_action_link_id"))

    op.drop_table("page_action")
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_link_ticket_id"))

    op.drop_table("page_link")
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_history_ticket_id"))

    op.drop_table("history")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_ticket_id"))

    op.drop_table("article")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_state"))
        batch_op.drop_index(batch_op.f("ix_ticket_queue_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_created_at"))

    op.drop_table("ticket")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_volunteer_id"))

    op.drop_table("login_session")
    op.drop_table("volunteer")
    op.drop_table("ticket_counter")
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_message_sha256"))

    op.drop_table("raw_message")
    op.drop_table("queue")
