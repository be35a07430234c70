"""What a volunteer does to a ticket: take, lock, release, state, priority, merge, link.

Each change leaves a history entry; nothing is removed.  A locked ticket
belongs to its owner: others may read it but not answer it, so two volunteers
never answer the same mail at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.followup import PENDING_STATES, as_utc, change_state
from tickets.models import State, Ticket, TicketLink, Volunteer, utcnow
from tickets.tickets import record

SETTABLE_STATES = tuple(s.value for s in State if s is not State.MERGED)


class WorkflowError(ValueError):
    """The change cannot be made; the message says why, for the volunteer."""


def locked_by_other(ticket: Ticket, volunteer: Volunteer) -> bool:
    """Whether someone else holds the ticket's lock."""
    return ticket.locked and ticket.owner_id not in (None, volunteer.id)


def take(session: Session, ticket: Ticket, volunteer: Volunteer) -> None:
    """Become the owner and lock the ticket.

    :raises WorkflowError: when another volunteer holds the lock.
    """
    if locked_by_other(ticket, volunteer):
        owner = ticket.owner.username if ticket.owner else "someone"
        raise WorkflowError(f"{owner} is working on this ticket (locked).")
    ticket.owner_id = volunteer.id
    ticket.locked = True
    record(session, ticket, "locked", volunteer.username, owner=volunteer.username)


def release(session: Session, ticket: Ticket, volunteer: Volunteer, *, force: bool = False) -> None:
    """Unlock the ticket (its owner, or ``force`` for whoever may own the queue)."""
    if locked_by_other(ticket, volunteer) and not force:
        raise WorkflowError("Only the volunteer who locked the ticket can release it.")
    ticket.locked = False
    record(session, ticket, "unlocked", volunteer.username)


def parse_pending(text: str) -> dt.datetime | None:
    """The date of a pending state as a form sends it (``2026-12-01T09:30``); None if empty.

    :raises WorkflowError: when it is not a date.
    """
    if not text.strip():
        return None
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise WorkflowError("The date is not valid.") from exc


def set_state(
    session: Session,
    ticket: Ticket,
    state: str,
    actor: str,
    pending_until: dt.datetime | None = None,
) -> None:
    """Change the state; pending states need a due date in the future.

    A date sent along with a non-pending state is ignored (the form always
    has the field).  Closing a ticket releases its lock.
    """
    if state not in SETTABLE_STATES:
        raise WorkflowError(f"Unknown state {state!r}.")
    due = None
    if state in PENDING_STATES:
        if pending_until is None:
            raise WorkflowError("A pending state needs a date.")
        due = as_utc(pending_until)
        if due <= utcnow():
            raise WorkflowError("The pending date must be in the future.")
    try:
        change_state(session, ticket, state, actor, due)
    except ValueError as exc:
        raise WorkflowError(str(exc)) from exc
    if State(state).is_closed:
        ticket.locked = False


def set_priority(session: Session, ticket: Ticket, priority: int, actor: str) -> None:
    """Priority 1 (very low) to 5 (very high)."""
    if not 1 <= priority <= 5:
        raise WorkflowError("Priority goes from 1 to 5.")
    old = ticket.priority
    ticket.priority = priority
    record(session, ticket, "priority", actor, old=old, new=priority)


def merge(session: Session, ticket: Ticket, into: Ticket, actor: str) -> None:
    """Merge ``ticket`` into ``into``: its articles stay where they are, it points there.

    Nothing moves and nothing is deleted; the merged ticket is closed as
    ``merged`` and names its target, and later replies to it land on the target.
    """
    if into.id == ticket.id:
        raise WorkflowError("A ticket cannot be merged into itself.")
    if into.state == State.MERGED.value:
        raise WorkflowError(f"Ticket {into.number} is itself merged; merge into its target.")
    ticket.merged_into_id = into.id
    ticket.state = State.MERGED.value
    ticket.locked = False
    record(session, ticket, "merged", actor, into=into.number)
    record(session, into, "merged-in", actor, source=ticket.number)


def resolve_merged(session: Session, ticket: Ticket) -> Ticket:
    """Follow merges to the ticket that now holds the conversation."""
    seen = set()
    while ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        target = session.get(Ticket, ticket.merged_into_id)
        if target is None:
            break
        ticket = target
    return ticket


def link(session: Session, ticket: Ticket, other: Ticket, actor: str) -> bool:
    """Link two tickets; return whether a new link was made."""
    if other.id == ticket.id:
        raise WorkflowError("A ticket cannot be linked to itself.")
    a, b = sorted((ticket.id, other.id))
    exists = session.scalars(
        select(TicketLink).where(TicketLink.source_id == a, TicketLink.target_id == b)
    ).first()
    if exists:
        return False
    session.add(TicketLink(source_id=a, target_id=b, created_by=actor))
    record(session, ticket, "linked", actor, other=other.number)
    record(session, other, "linked", actor, other=ticket.number)
    return True


def linked_tickets(session: Session, ticket: Ticket) -> list[Ticket]:
    """Tickets linked to ``ticket``."""
    rows = session.scalars(
        select(TicketLink).where(
            (TicketLink.source_id == ticket.id) | (TicketLink.target_id == ticket.id)
        )
    )
    ids = [r.target_id if r.source_id == ticket.id else r.source_id for r in rows]
    return list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)))) if ids else []
