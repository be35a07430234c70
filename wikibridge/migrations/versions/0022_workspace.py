"""workspace: tickets per queue and state, kept exact by triggers

Revision ID: 0022
Revises: 0021

The queue tree shows open tickets per queue on every view; counting them
took ~60 ms at a million tickets each time one changed.  ``queue_state_count``
holds the count per (queue, state), filled here from the existing tickets and
then moved by triggers in the same transaction as every insert, move, state
change or delete of a ticket, whatever code (or bulk load) makes it:

* SQLite: row triggers (an upsert adds, an update subtracts).
* PostgreSQL: statement triggers with transition tables, so a ``COPY`` or a
  mass update costs one grouped upsert, not one per row.  Rows are upserted
  in key order so that two transactions lock the counters in the same order.

A count whose tickets all left stays as a row with 0 (nothing is deleted).
Triggers are not reflected by autogenerate, so env.py need not hide them.

PostgreSQL only: ``ticket_search``, one narrow row per ticket (its id, queue,
age, and the words of its title and every article as one ``tsvector``, kept
out of line) with a GIN index on the words.  Searching for words at a million
tickets read ~20,000 matching articles from the heap to learn their tickets,
then every matching ticket to learn its queue and age (~230 ms); now the
index finds the tickets, an index on the age lets a search read the newest
ones first (tickets.search counts up to 1,000), and one table answers the rest.  Kept by
statement triggers on ``ticket`` and ``article``; filled here.  Hidden from
autogenerate by env.py (``ticket_search``): SQLite searches its FTS5 tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FILL = """INSERT INTO queue_state_count (queue_id, state, tickets)
    SELECT queue_id, state, count(*) FROM ticket GROUP BY queue_id, state"""

SQLITE_UP = [
    """CREATE TRIGGER queue_state_count_ai AFTER INSERT ON ticket BEGIN
        INSERT INTO queue_state_count (queue_id, state, tickets)
            VALUES (new.queue_id, new.state, 1)
            ON CONFLICT (queue_id, state) DO UPDATE SET tickets = tickets + 1;
    END""",
    """CREATE TRIGGER queue_state_count_au AFTER UPDATE OF queue_id, state ON ticket
    WHEN old.queue_id IS NOT new.queue_id OR old.state IS NOT new.state BEGIN
        UPDATE queue_state_count SET tickets = tickets - 1
            WHERE queue_id = old.queue_id AND state = old.state;
        INSERT INTO queue_state_count (queue_id, state, tickets)
            VALUES (new.queue_id, new.state, 1)
            ON CONFLICT (queue_id, state) DO UPDATE SET tickets = tickets + 1;
    END""",
    """CREATE TRIGGER queue_state_count_ad AFTER DELETE ON ticket BEGIN
        UPDATE queue_state_count SET tickets = tickets - 1
            WHERE queue_id = old.queue_id AND state = old.state;
    END""",
]

SQLITE_DOWN = [
    "DROP TRIGGER queue_state_count_ad",
    "DROP TRIGGER queue_state_count_au",
    "DROP TRIGGER queue_state_count_ai",
]

# Adds each (queue_id, state, delta) row of ``deltas`` to its counter; a
# missing counter is created (only ever with a positive delta: a ticket that
# leaves a pair was counted in it).
_PG_APPLY = """
        INSERT INTO queue_state_count AS c (queue_id, state, tickets)
            SELECT queue_id, state, delta FROM ({deltas}) AS d
            WHERE delta <> 0 ORDER BY queue_id, state
        ON CONFLICT (queue_id, state) DO UPDATE SET tickets = c.tickets + EXCLUDED.tickets;
"""

_PG_INSERTED = "SELECT queue_id, state, count(*) AS delta FROM new_rows GROUP BY queue_id, state"
_PG_DELETED = "SELECT queue_id, state, -count(*) AS delta FROM old_rows GROUP BY queue_id, state"
_PG_UPDATED = """SELECT queue_id, state, sum(delta) AS delta FROM (
                SELECT o.queue_id, o.state, -1 AS delta
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.queue_id <> n.queue_id OR o.state <> n.state
                UNION ALL
                SELECT n.queue_id, n.state, 1
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.queue_id <> n.queue_id OR o.state <> n.state
            ) AS moved GROUP BY queue_id, state"""


def _pg_function(name: str, deltas: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN{_PG_APPLY.format(deltas=deltas)}        RETURN NULL;
    END $$"""


def _pg_trigger(name: str, event: str, tables: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON ticket REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


# The words of a ticket: its title and every article, in article order.
_PG_WORDS = """to_tsvector('simple', t.title) || coalesce((
        SELECT to_tsvector('simple', string_agg(a.subject || ' ' || a.body, ' ' ORDER BY a.id))
        FROM article a WHERE a.ticket_id = t.id), '')"""

SEARCH_TABLE = [
    # The foreign key lets a ticket's delete (and the tests' TRUNCATE … CASCADE)
    # take its row along. toast_tuple_target: the words go out of line, so the rows the index
    # points at stay small (~60 bytes) and the table stays in memory.
    """CREATE TABLE ticket_search (
        ticket_id integer PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
        queue_id integer NOT NULL,
        created_at timestamp with time zone NOT NULL,
        words tsvector NOT NULL
    ) WITH (toast_tuple_target = 128)""",
    f"""INSERT INTO ticket_search (ticket_id, queue_id, created_at, words)
        SELECT t.id, t.queue_id, t.created_at, {_PG_WORDS} FROM ticket t""",  # noqa: S608 - our SQL
    "CREATE INDEX ix_ticket_search_words ON ticket_search USING gin (words)",
    # The newest matches first: a window of ages ANDed with the words' index.
    "CREATE INDEX ix_ticket_search_created ON ticket_search (created_at, ticket_id)",
]

_PG_SEARCH_FUNCTIONS = {
    "ticket_search_ticket_ai": """
        INSERT INTO ticket_search (ticket_id, queue_id, created_at, words)
            SELECT n.id, n.queue_id, n.created_at, to_tsvector('simple', n.title)
            FROM new_rows n;""",
    "ticket_search_ticket_au": f"""
        UPDATE ticket_search s SET queue_id = n.queue_id, created_at = n.created_at
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE s.ticket_id = n.id
            AND (o.queue_id <> n.queue_id OR o.created_at <> n.created_at);
        UPDATE ticket_search s SET words = {_PG_WORDS}
            FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN ticket t ON t.id = n.id
            WHERE s.ticket_id = n.id AND o.title <> n.title;""",  # noqa: S608 - our SQL
    # A new article adds its words; the rest is read only on rare edits.
    "ticket_search_article_ai": """
        UPDATE ticket_search s SET words = s.words || n.words
            FROM (SELECT ticket_id,
                    to_tsvector('simple', string_agg(subject || ' ' || body, ' ' ORDER BY id))
                        AS words
                  FROM new_rows GROUP BY ticket_id) n
            WHERE s.ticket_id = n.ticket_id;""",
    "ticket_search_article_au": f"""
        UPDATE ticket_search s SET words = {_PG_WORDS}
            FROM ticket t
            WHERE t.id = s.ticket_id AND t.id IN (
                SELECT o.ticket_id FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.ticket_id <> n.ticket_id OR o.subject <> n.subject
                    OR o.body <> n.body
                UNION
                SELECT n.ticket_id FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.ticket_id <> n.ticket_id);""",  # noqa: S608 - our SQL
    "ticket_search_article_ad": f"""
        UPDATE ticket_search s SET words = {_PG_WORDS}
            FROM ticket t
            WHERE t.id = s.ticket_id AND t.id IN (SELECT ticket_id FROM old_rows);""",  # noqa: S608 - our SQL
}

_PG_SEARCH_TRIGGERS = {
    "ticket_search_ticket_ai": ("INSERT", "ticket", "NEW TABLE AS new_rows"),
    "ticket_search_ticket_au": ("UPDATE", "ticket", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "ticket_search_article_ai": ("INSERT", "article", "NEW TABLE AS new_rows"),
    "ticket_search_article_au": (
        "UPDATE",
        "article",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    "ticket_search_article_ad": ("DELETE", "article", "OLD TABLE AS old_rows"),
}


def _pg_search_statements() -> list[str]:
    made = list(SEARCH_TABLE)
    for name, body in _PG_SEARCH_FUNCTIONS.items():
        made.append(
            f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN{body}
        RETURN NULL;
    END $$"""
        )
        event, table, tables = _PG_SEARCH_TRIGGERS[name]
        made.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return made


POSTGRESQL_UP = [
    _pg_function("queue_state_count_ai", _PG_INSERTED),
    _pg_function("queue_state_count_au", _PG_UPDATED),
    _pg_function("queue_state_count_ad", _PG_DELETED),
    _pg_trigger("queue_state_count_ai", "INSERT", "NEW TABLE AS new_rows"),
    _pg_trigger("queue_state_count_au", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    _pg_trigger("queue_state_count_ad", "DELETE", "OLD TABLE AS old_rows"),
    *_pg_search_statements(),
    # Migration 0007's word indexes: ticket_search answers instead.
    "DROP INDEX ix_article_fts",
    "DROP INDEX ix_ticket_fts_title",
]

POSTGRESQL_DOWN = [
    *(
        f"DROP TRIGGER {name} ON {table}"
        for name, (_event, table, _tables) in _PG_SEARCH_TRIGGERS.items()
    ),
    *(f"DROP FUNCTION {name}()" for name in _PG_SEARCH_FUNCTIONS),
    "DROP TABLE ticket_search",
    """CREATE INDEX ix_article_fts ON article
        USING gin (to_tsvector('simple', subject || ' ' || body))""",
    "CREATE INDEX ix_ticket_fts_title ON ticket USING gin (to_tsvector('simple', title))",
    "DROP TRIGGER queue_state_count_ad ON ticket",
    "DROP TRIGGER queue_state_count_au ON ticket",
    "DROP TRIGGER queue_state_count_ai ON ticket",
    "DROP FUNCTION queue_state_count_ad()",
    "DROP FUNCTION queue_state_count_au()",
    "DROP FUNCTION queue_state_count_ai()",
]


def _statements(up: bool) -> list[str]:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == "postgresql":
        return POSTGRESQL_UP if up else POSTGRESQL_DOWN
    raise NotImplementedError(f"no ticket count triggers for {dialect}")


def upgrade() -> None:
    op.create_table(
        "queue_state_count",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("tickets", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_queue_state_count_queue_id_queue")
        ),
        sa.PrimaryKeyConstraint("queue_id", "state", name=op.f("pk_queue_state_count")),
    )
    # Counted and triggered in one transaction (Alembic's, on both
    # databases), so no ticket change falls between the two.
    if op.get_context().dialect.name == "postgresql":
        op.execute("LOCK TABLE ticket IN SHARE MODE")
    op.execute(FILL)
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
    op.drop_table("queue_state_count")
