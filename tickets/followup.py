"""Pending tickets coming back: reminders that fall due, and automatic closing.

A volunteer who answers and waits for the customer sets the ticket to
``pending reminder`` (or ``pending auto close``) with a date; it leaves the
working lists until then.  :func:`due_reminders` runs every minute.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import State, Ticket, utcnow
from tickets.tickets import record

PENDING_STATES = (State.PENDING_REMINDER.value, State.PENDING_AUTO_CLOSE.value)

#: States a volunteer may choose when answering (besides leaving it as it is).
NEXT_STATES = (
    State.OPEN.value,
    State.CLOSED_SUCCESSFUL.value,
    State.PENDING_REMINDER.value,
    State.PENDING_AUTO_CLOSE.value,
)


def change_state(
    session: Session,
    ticket: Ticket,
    state: str,
    actor: str,
    pending_until: dt.datetime | None = None,
    **detail: str,
) -> bool:
    """Set ``ticket``'s state (with its due time when pending); return whether it changed.

    :raises ValueError: a pending state without a due time, or a due time
        for another state, or an unknown state.
    """
    new = State(state)
    if new.value in PENDING_STATES:
        if pending_until is None:
            raise ValueError(f"{new.value} needs a date")
    elif pending_until is not None:
        raise ValueError(f"{new.value} takes no date")
    if ticket.state == new.value and _same_time(ticket.pending_until, pending_until):
        return False
    old = ticket.state
    ticket.state = new.value
    ticket.pending_until = pending_until
    record(
        session,
        ticket,
        "state",
        actor,
        old=old,
        new=new.value,
        pending_until=pending_until.isoformat() if pending_until else None,
        **detail,
    )
    return True


def _same_time(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return as_utc(a) == as_utc(b)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones, meaning UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def due_reminders(session: Session, now: dt.datetime | None = None) -> list[Ticket]:
    """Bring back pending tickets whose time has come; return them (the caller commits).

    ``pending reminder`` becomes ``open`` again, so the ticket reappears in
    its queue; ``pending auto close`` becomes ``closed successful``.  Rows are
    locked (PostgreSQL) and re-checked, so two workers running this at once
    change each ticket once.
    """
    now = now or utcnow()
    query = (
        select(Ticket)
        .where(Ticket.state.in_(PENDING_STATES), Ticket.pending_until <= now)
        .order_by(Ticket.pending_until, Ticket.id)
        .with_for_update(skip_locked=True)
    )
    changed: list[Ticket] = []
    for ticket in session.scalars(query):
        due = ticket.pending_until
        if ticket.state == State.PENDING_REMINDER.value:
            ticket.state = State.OPEN.value
            kind = "reminder due"
        else:
            ticket.state = State.CLOSED_SUCCESSFUL.value
            kind = "auto closed"
        ticket.pending_until = None
        record(session, ticket, kind, "system", due=due.isoformat() if due else None)
        changed.append(ticket)
    return changed
