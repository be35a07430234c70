"""Auditing ticket references: mistyped, forged, or pointing at tickets that confirm nothing.

Every live reference is checked against the desk's tickets and the known
tickets of an older system. Problems, in the order a row reports them:

- ``malformed``: not a ticket number (or old id) at all, or a failing check digit;
- ``unknown-number``: a well-formed number no ticket here or in the import has;
- ``unknown-id``: an old-system id the import does not map to a number;
- ``not-permission``: a permission or pending template citing a ticket outside
  the permission queues;
- ``closed-unsuccessful``: a permission template citing a ticket closed as
  unsuccessful (no valid permission);
- ``not-linked``: a permission template citing a ticket of this desk whose
  history never linked that page;
- ``added-by-outsider``: the reference was added by an account that is no
  volunteer with access to the permission queues (only for references whose
  author is known, see ``added_by``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets import numbers
from tickets.access import QueueGrant, is_admin
from tickets.models import PageLink, Queue, State, Ticket, Volunteer
from tickets.references import (
    PENDING,
    TEMPLATE,
    KnownTicket,
    WikiReference,
    is_permission_queue,
)

PROBLEMS = (
    "malformed",
    "unknown-number",
    "unknown-id",
    "not-permission",
    "closed-unsuccessful",
    "not-linked",
    "added-by-outsider",
)


@dataclass(frozen=True)
class Finding:
    """One problem with one reference."""

    problem: str
    reference: WikiReference
    detail: str


def permission_volunteers(session: Session) -> set[str]:
    """Usernames of volunteers who may work the permission queues (and every administrator)."""
    names: set[str] = set()
    for volunteer in session.scalars(select(Volunteer)):
        if is_admin(volunteer):
            names.add(volunteer.username)
    grants = session.execute(
        select(Volunteer.username, Queue.name)
        .join(QueueGrant, QueueGrant.volunteer_id == Volunteer.id)
        .join(Queue, Queue.id == QueueGrant.queue_id)
        .where(QueueGrant.revoked_at.is_(None))
    )
    names.update(user for user, queue in grants if is_permission_queue(queue))
    return names


def _chunks(items: list[WikiReference], size: int = 500) -> Iterator[list[WikiReference]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def audit(session: Session, wikis: Iterable[str] | None = None) -> Iterator[Finding]:
    """Every problem of every live reference (of ``wikis``), page by page."""
    query = select(WikiReference).where(WikiReference.gone_at.is_(None))
    if wikis is not None:
        query = query.where(WikiReference.wiki.in_(list(wikis)))
    rows = list(session.scalars(query.order_by(WikiReference.wiki, WikiReference.title)))
    insiders = permission_volunteers(session)
    for chunk in _chunks(rows):
        cited = {r.number for r in chunk if r.number}
        desk = {
            t.number: t for t in session.scalars(select(Ticket).where(Ticket.number.in_(cited)))
        }
        old = {
            k.number: k
            for k in session.scalars(select(KnownTicket).where(KnownTicket.number.in_(cited)))
        }
        linked = {
            (str(number), str(wiki), str(title))
            for number, wiki, title in session.execute(
                select(Ticket.number, PageLink.wiki, PageLink.title)
                .join(PageLink, PageLink.ticket_id == Ticket.id)
                .where(Ticket.number.in_(list(desk)))
            )
        }
        for row in chunk:
            number = row.number or ""
            yield from _findings(row, desk.get(number), old.get(number), linked, insiders)


def _findings(
    row: WikiReference,
    ticket: Ticket | None,
    known: KnownTicket | None,
    linked: set[tuple[str, str, str]],
    insiders: set[str],
) -> Iterator[Finding]:
    if row.is_id:
        if not row.ticket.isdigit():
            yield Finding("malformed", row, f"{row.ticket!r} is no ticket id")
            return
        if row.number is None:
            yield Finding("unknown-id", row, f"no known ticket has the old id {row.ticket}")
            return
    elif not numbers.is_valid(row.ticket):
        yield Finding("malformed", row, f"{row.ticket!r} is no valid ticket number")
        return
    if ticket is None and known is None:
        yield Finding("unknown-number", row, f"no ticket has the number {row.number}")
        return
    if row.kind in (TEMPLATE, PENDING):
        queue = ticket.queue.name if ticket is not None else (known.queue if known else "")
        if not is_permission_queue(queue):
            yield Finding("not-permission", row, f"the ticket is in {queue or 'no queue'}")
        if ticket is not None and ticket.state == State.CLOSED_UNSUCCESSFUL.value:
            yield Finding("closed-unsuccessful", row, "the ticket was closed as unsuccessful")
        if (
            ticket is not None
            and row.kind == TEMPLATE
            and (ticket.number, row.wiki, row.title) not in linked
        ):
            yield Finding("not-linked", row, "the ticket's history never linked this page")
    if (
        row.kind in (TEMPLATE, PENDING)
        and row.added_by is not None
        and row.added_by not in insiders
    ):
        yield Finding(
            "added-by-outsider",
            row,
            f"added by {row.added_by}, who has no access to the permission queues",
        )
