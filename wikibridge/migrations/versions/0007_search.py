"""full-text search over articles and ticket titles

Revision ID: 0007
Revises: 0006

Hand-written: the search objects are not in the models (SQLAlchemy cannot
describe FTS5 tables or expression indexes portably), so
``wikibridge/migrations/env.py`` hides every name starting with
``article_fts``, ``ticket_fts``, ``ix_article_fts`` or ``ix_ticket_fts`` from
autogenerate.

* SQLite: FTS5 tables with external content (``article_fts`` over
  ``article.subject``/``body``, ``ticket_fts`` over ``ticket.title``), kept up
  to date by triggers on insert and update, and filled from the existing rows.
* PostgreSQL: GIN indexes on ``to_tsvector('simple', ...)`` of the same
  columns; :mod:`tickets.search` repeats the exact expressions so they are used.
* Both: an index on ``ticket.customer`` ignoring case, for searches by address
  (``COLLATE NOCASE`` on SQLite, ``lower(customer)`` on PostgreSQL).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# unicode61 folds case for all of Unicode; "remove_diacritics 2" lets "Muller"
# find "Müller" as well.
TOKENIZE = "unicode61 remove_diacritics 2"

SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE article_fts USING fts5(
        subject, body, content='article', content_rowid='id', tokenize='{TOKENIZE}')""",
    """CREATE TRIGGER article_fts_ai AFTER INSERT ON article BEGIN
        INSERT INTO article_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
    """CREATE TRIGGER article_fts_au AFTER UPDATE OF subject, body ON article BEGIN
        INSERT INTO article_fts(article_fts, rowid, subject, body)
            VALUES ('delete', old.id, old.subject, old.body);
        INSERT INTO article_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
    "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
    f"""CREATE VIRTUAL TABLE ticket_fts USING fts5(
        title, content='ticket', content_rowid='id', tokenize='{TOKENIZE}')""",
    """CREATE TRIGGER ticket_fts_ai AFTER INSERT ON ticket BEGIN
        INSERT INTO ticket_fts(rowid, title) VALUES (new.id, new.title);
    END""",
    """CREATE TRIGGER ticket_fts_au AFTER UPDATE OF title ON ticket BEGIN
        INSERT INTO ticket_fts(ticket_fts, rowid, title) VALUES ('delete', old.id, old.title);
        INSERT INTO ticket_fts(rowid, title) VALUES (new.id, new.title);
    END""",
    "INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')",
    # Not lower(customer): SQLAlchemy warns on reflecting SQLite expression
    # indexes, before env.py's filter could hide it.
    "CREATE INDEX ix_ticket_fts_customer ON ticket (customer COLLATE NOCASE)",
]

SQLITE_DOWN = [
    "DROP INDEX ix_ticket_fts_customer",
    "DROP TRIGGER ticket_fts_au",
    "DROP TRIGGER ticket_fts_ai",
    "DROP TABLE ticket_fts",
    "DROP TRIGGER article_fts_au",
    "DROP TRIGGER article_fts_ai",
    "DROP TABLE article_fts",
]

POSTGRESQL_UP = [
    # The expressions must stay identical to tickets.search's, or the planner
    # cannot use the indexes.
    """CREATE INDEX ix_article_fts ON article
        USING gin (to_tsvector('simple', subject || ' ' || body))""",
    "CREATE INDEX ix_ticket_fts_title ON ticket USING gin (to_tsvector('simple', title))",
    "CREATE INDEX ix_ticket_fts_customer ON ticket (lower(customer))",
]

POSTGRESQL_DOWN = [
    "DROP INDEX ix_ticket_fts_customer",
    "DROP INDEX ix_ticket_fts_title",
    "DROP INDEX ix_article_fts",
]


def _statements(up: bool) -> list[str]:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == "postgresql":
        return POSTGRESQL_UP if up else POSTGRESQL_DOWN
    raise NotImplementedError(f"no full-text search for {dialect}")


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
