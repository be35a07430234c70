"""Creating tickets and numbering them, safely under concurrent delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.models import DEFAULT_PRIORITY, History, Queue, State, Ticket, TicketCounter
from tickets.numbers import format_number


def _insert_counter_row(session: Session, day: str, system_id: str) -> None:
    """Create the day's counter row unless a concurrent delivery already did."""
    session.execute(
        insert_ignoring_conflicts(session, TicketCounter, day=day, system_id=system_id, value=0)
    )


def insert_ignoring_conflicts(session: Session, table: Any, **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the session's dialect.

    The dialect modules are imported on demand: the PostgreSQL one alone costs
    the mail pipe a tenth of a second at start-up when it runs on SQLite.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).values(values).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).values(values).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover


def next_number(session: Session, system_id: str, today: dt.date | None = None) -> str:
    """Take the next ticket number of the day.

    The counter is bumped with a single ``UPDATE … RETURNING``, which locks the
    day's row until the caller commits: two deliveries can never get the same
    number, and a rolled-back delivery gives its number back.
    """
    day = today or dt.datetime.now(dt.UTC).date()
    key = f"{day:%Y%m%d}"
    bump = (
        update(TicketCounter)
        .where(TicketCounter.day == key, TicketCounter.system_id == system_id)
        .values(value=TicketCounter.value + 1)
        .returning(TicketCounter.value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        _insert_counter_row(session, key, system_id)
        value = session.execute(bump).scalar_one()
    return format_number(day, system_id, value)


def record(session: Session, ticket: Ticket, kind: str, actor: str, **detail: Any) -> History:
    """Add a history entry to ``ticket``: every change to a ticket leaves one."""
    entry = History(ticket_id=ticket.id, kind=kind, actor=actor, detail=detail)
    session.add(entry)
    return entry


def create_ticket(
    session: Session,
    *,
    queue: Queue,
    title: str,
    customer: str,
    system_id: str,
    actor: str = "system",
    priority: int = DEFAULT_PRIORITY,
) -> Ticket:
    """Open a new ticket in ``queue`` with a fresh number."""
    if not 1 <= priority <= 5:
        raise ValueError("priority must be between 1 and 5")
    ticket = Ticket(
        number=next_number(session, system_id),
        title=title[:500],
        queue=queue,
        customer=customer[:500],
        state=State.NEW.value,
        priority=priority,
    )
    session.add(ticket)
    session.flush()
    record(session, ticket, "created", actor, queue=queue.name, number=ticket.number)
    return ticket


def ticket_by_number(session: Session, number: str) -> Ticket | None:
    """Return the ticket with ``number``, or ``None``."""
    return session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()
