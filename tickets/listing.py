"""Ticket lists: what a queue view shows, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.models import Queue, State, Ticket

CLOSED = [State.CLOSED_SUCCESSFUL.value, State.CLOSED_UNSUCCESSFUL.value, State.MERGED.value]


@dataclass(frozen=True)
class TicketPage:
    """One page of a ticket list."""

    tickets: list[Ticket]
    total: int
    page: int
    per_page: int

    @property
    def first(self) -> int:
        """1-based position of the first ticket shown (0 when empty)."""
        return 0 if not self.tickets else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        """1-based position of the last ticket shown."""
        return self.first + len(self.tickets) - 1 if self.tickets else 0

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def summary(self) -> str:
        """Znuny's line: ``Tickets: 1-25 of 312 - Page:``."""
        return f"Tickets: {self.first}-{self.last} of {self.total} - Page:"


def open_tickets(
    session: Session, queue_ids: list[int], page: int = 1, per_page: int = 25
) -> TicketPage:
    """The open tickets of the given queues, oldest first."""
    where = [Ticket.queue_id.in_(queue_ids), Ticket.state.not_in(CLOSED)]
    total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    page = max(1, page)
    rows = session.scalars(
        select(Ticket)
        .where(*where)
        .order_by(Ticket.created_at, Ticket.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return TicketPage(list(rows), total, page, per_page)


def open_counts(session: Session) -> dict[int, int]:
    """Open tickets per queue id."""
    rows = session.execute(
        select(Ticket.queue_id, func.count())
        .where(Ticket.state.not_in(CLOSED))
        .group_by(Ticket.queue_id)
    )
    return {queue_id: count for queue_id, count in rows}


def subtree_ids(queues: list[Queue], root: Queue) -> list[int]:
    """Ids of ``root`` and every queue below it."""
    prefix = root.name + "::"
    return [q.id for q in queues if q.id == root.id or q.name.startswith(prefix)]
