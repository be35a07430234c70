"""one index for a customer's tickets, newest first

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:20:00

The zoom lists the customer's other tickets, newest first, and search finds
tickets by sender; both compare addresses without regard to case. 0007's
index held the address only, so the zoom's exact comparison read the whole
ticket table (12 ms at 100,000 tickets, growing with it). This index holds the
address as both compare it and the creation time, so either is one index range.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Expression indexes the models cannot describe (env.py hides the prefix);
# the expressions must stay those of tickets.search.same_customer.
UP = {
    "sqlite": [
        "CREATE INDEX ix_ticket_customer_created ON ticket (customer COLLATE NOCASE, created_at)",
        "DROP INDEX ix_ticket_fts_customer",
    ],
    "postgresql": [
        "CREATE INDEX ix_ticket_customer_created ON ticket (lower(customer), created_at)",
        "DROP INDEX ix_ticket_fts_customer",
    ],
}
DOWN = {
    "sqlite": [
        "CREATE INDEX ix_ticket_fts_customer ON ticket (customer COLLATE NOCASE)",
        "DROP INDEX ix_ticket_customer_created",
    ],
    "postgresql": [
        "CREATE INDEX ix_ticket_fts_customer ON ticket (lower(customer))",
        "DROP INDEX ix_ticket_customer_created",
    ],
}


def _run(statements: dict[str, list[str]]) -> None:
    dialect = op.get_context().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"no customer index for {dialect}")
    for statement in statements[dialect]:
        op.execute(statement)


def upgrade() -> None:
    _run(UP)


def downgrade() -> None:
    _run(DOWN)
