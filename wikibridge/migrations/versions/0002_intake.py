"""intake: attachments by hash, sanitised HTML, languages, routing policy and corrections

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:40:45.274808
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("compression", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
    )
    op.create_table(
        "routing_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_policy")),
    )
    with op.batch_alter_table("routing_policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_policy_active"), ["active"], unique=False)

    op.create_table(
        "routing_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("from_queue", sa.String(length=200), nullable=False),
        sa.Column("to_queue", sa.String(length=200), nullable=False),
        sa.Column("corrected_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_routing_correction_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_correction")),
    )
    with op.batch_alter_table("routing_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_correction_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("content_id", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_attachment_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["blob.sha256"], name=op.f("fk_attachment_sha256_blob")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachment_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        # Existing tickets predate rule tracking: they get an empty rule.
        batch_op.add_column(
            sa.Column("route_rule", sa.String(length=20), nullable=False, server_default="")
        )


def downgrade() -> None:

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("route_rule")
        batch_op.drop_column("language")

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("body_html")

    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_sha256"))
        batch_op.drop_index(batch_op.f("ix_attachment_article_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("routing_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_correction_ticket_id"))

    op.drop_table("routing_correction")
    with op.batch_alter_table("routing_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_policy_active"))

    op.drop_table("routing_policy")
    op.drop_table("blob")
