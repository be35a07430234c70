"""intake: Message-IDs may repeat; redeliveries known by content; envelope beside the bytes

Real mail reuses Message-IDs, so ``article.message_id`` is no longer unique;
``raw_message.content_sha256`` (unique) recognises a redelivery instead, and
is filled in here for the mail already stored.  ``raw_message.envelope_to``
keeps the envelope recipients the LMTP listener used to write into the bytes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import hashlib
import re
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_TRANSPORT = (b"received", b"return-path", b"delivered-to", b"x-original-to")
_LINE_END = re.compile(rb"\r\n?")


def _digest(raw: bytes) -> str:
    # A frozen copy of tickets.mail.content_digest as of this revision: a
    # migration must compute what it computed then, whatever the code becomes.
    text = _LINE_END.sub(b"\n", raw)
    end = text.find(b"\n\n")
    head, body = (text, b"") if end < 0 else (text[: end + 1], text[end + 1 :])
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower() if b":" in line else None
        dropping = name in _TRANSPORT
        if not dropping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + body.rstrip(b"\n")).hexdigest()


def _backfill() -> None:
    """Give every stored incoming message its content digest, a batch at a time."""
    bind = op.get_bind()
    raw = sa.table(
        "raw_message",
        sa.column("id", sa.Integer),
        sa.column("compression", sa.String),
        sa.column("data", sa.LargeBinary),
        sa.column("content_sha256", sa.String),
    )
    article = sa.table(
        "article",
        sa.column("raw_id", sa.Integer),
        sa.column("sender_type", sa.String),
        sa.column("channel", sa.String),
    )
    seen: set[str] = set()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(raw.c.id, raw.c.compression, raw.c.data)
            .join(article, article.c.raw_id == raw.c.id)
            .where(
                raw.c.id > last,
                article.c.sender_type == "customer",
                article.c.channel == "email",
            )
            .order_by(raw.c.id)
            .limit(500)
        ).all()
        if not rows:
            return
        for row in rows:
            data = zlib.decompress(row.data) if row.compression == "zlib" else row.data
            digest = _digest(data)
            # Two stored messages that differ only in transport headers (no
            # Message-ID, delivered twice): both stay, the first keeps the key.
            if digest not in seen:
                seen.add(digest)
                bind.execute(raw.update().where(raw.c.id == row.id).values(content_sha256=digest))
        last = rows[-1].id


# The full-text triggers of 0007_search: recreating ``article`` on SQLite
# drops them with the old table, so they are made again (frozen copies).
_SQLITE_ARTICLE_TRIGGERS = [
    """CREATE TRIGGER article_fts_ai AFTER INSERT ON article BEGIN
        INSERT INTO article_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
    """CREATE TRIGGER article_fts_au AFTER UPDATE OF subject, body ON article BEGIN
        INSERT INTO article_fts(article_fts, rowid, subject, body)
            VALUES ('delete', old.id, old.subject, old.body);
        INSERT INTO article_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
]


def _article_message_id(unique: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite cannot drop a table's own UNIQUE constraint: the table is copied
    # (env.py turns foreign keys off around migrations and checks them after).
    with op.batch_alter_table("article", schema=None, recreate="always" if sqlite else "auto") as b:
        if unique:
            b.drop_index(b.f("ix_article_message_id"))
            b.create_unique_constraint("uq_article_message_id", ["message_id"])
        else:
            b.drop_constraint("uq_article_message_id", type_="unique")
            b.create_index(b.f("ix_article_message_id"), ["message_id"], unique=False)
    if sqlite:
        for statement in _SQLITE_ARTICLE_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: copying raw_message is not needed (and
    # its rows are the bulk of the database).
    op.add_column("raw_message", sa.Column("content_sha256", sa.String(length=64), nullable=True))
    op.add_column("raw_message", sa.Column("envelope_to", sa.JSON(), nullable=True))
    _article_message_id(unique=False)
    _backfill()
    # After the backfill: filling a unique index row by row costs more.
    op.create_index(
        op.f("ix_raw_message_content_sha256"), "raw_message", ["content_sha256"], unique=True
    )


def downgrade() -> None:
    # Only possible while no Message-ID is stored twice; nothing is deleted to make it so.
    _article_message_id(unique=True)
    op.drop_index(op.f("ix_raw_message_content_sha256"), table_name="raw_message")
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.drop_column("envelope_to")
        batch_op.drop_column("content_sha256")
