"""workspace: tickets per queue and state, kept exact by triggers

Revision ID: 0025
Revises: 0020

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
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0020"
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


POSTGRESQL_UP = [
    _pg_function("queue_state_count_ai", _PG_INSERTED),
    _pg_function("queue_state_count_au", _PG_UPDATED),
    _pg_function("queue_state_count_ad", _PG_DELETED),
    _pg_trigger("queue_state_count_ai", "INSERT", "NEW TABLE AS new_rows"),
    _pg_trigger("queue_state_count_au", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    _pg_trigger("queue_state_count_ad", "DELETE", "OLD TABLE AS old_rows"),
]

POSTGRESQL_DOWN = [
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
