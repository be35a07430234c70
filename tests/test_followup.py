"""Pending tickets come back when due: reminders reopen, auto close closes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tickets.followup import change_state, due_reminders
from tickets.models import History, State
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of

from .helpers import new_ticket

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_due_reminders(app):
    first, second, later = (new_ticket(app, subject=f"Photo {n}") for n in range(3))
    with new_session(app) as db:
        for number, state, until in [
            (first, State.PENDING_REMINDER, NOW - dt.timedelta(minutes=1)),
            (second, State.PENDING_AUTO_CLOSE, NOW - dt.timedelta(days=1)),
            (later, State.PENDING_REMINDER, NOW + dt.timedelta(minutes=1)),
        ]:
            ticket = ticket_by_number(db, number)
            assert ticket is not None
            assert change_state(db, ticket, state.value, "Alice", until)
        db.commit()

    with new_session(app) as db:
        changed = due_reminders(db, NOW)
        db.commit()
        assert sorted(t.number for t in changed) == sorted([first, second])
    with new_session(app) as db:
        states = {n: ticket_by_number(db, n) for n in (first, second, later)}
        assert states[first].state == State.OPEN.value  # type: ignore[union-attr]
        assert states[first].pending_until is None  # type: ignore[union-attr]
        assert states[second].state == State.CLOSED_SUCCESSFUL.value  # type: ignore[union-attr]
        assert states[later].state == State.PENDING_REMINDER.value  # type: ignore[union-attr]
        kinds = [h.kind for h in db.scalars(select(History))]
        assert kinds.count("reminder due") == 1 and kinds.count("auto closed") == 1
        # Nothing is due twice.
        assert due_reminders(db, NOW) == []


def test_change_state_validates():
    from tickets.models import Ticket

    ticket = Ticket(number="1", state=State.OPEN.value)
    with pytest.raises(ValueError):
        change_state(None, ticket, State.PENDING_REMINDER.value, "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        change_state(None, ticket, State.OPEN.value, "a", NOW)  # type: ignore[arg-type]


def test_periodic_job_runs(app):
    number = new_ticket(app)
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        change_state(db, ticket, State.PENDING_REMINDER.value, "Alice", NOW.replace(year=2020))
        db.commit()
    with app.app_context():
        jobs_of(app).followup_due.call_local()  # type: ignore[attr-defined]
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None and ticket.state == State.OPEN.value
