"""Ticket lists: what a queue view shows, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

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


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list shows: the defaults are Znuny's (open tickets, oldest first)."""

    #: One state, or "" for every state that is not closed (the working list).
    state: str = ""
    owner_id: int | None = None
    locked: bool | None = None
    language: str | None = None
    #: "age" (oldest first), "-age" (newest first), "priority" (highest first), "-priority".
    sort: str = "age"


#: Each sort as (column, descending) pairs, ending in the id so the order is total.
SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "age": ((Ticket.created_at, False), (Ticket.id, False)),
    "-age": ((Ticket.created_at, True), (Ticket.id, True)),
    "priority": ((Ticket.priority, True), (Ticket.created_at, False), (Ticket.id, False)),
    "-priority": ((Ticket.priority, False), (Ticket.created_at, False), (Ticket.id, False)),
}


def page_of(
    session: Session,
    query: Select[Any],
    sort: tuple[tuple[Any, bool], ...],
    total: int,
    page: int,
    per_page: int,
) -> list[Ticket]:
    """Rows ``page`` of ``query`` in the order ``sort``, of ``total`` rows in all.

    A database skips an OFFSET row by row, so a page deep in a long list
    costs as many rows as lie before it. Pages in the second half are read
    from the end instead, in the reverse order, and turned round: the last
    page costs what the first does, and no page more than the middle one.
    """
    start = (page - 1) * per_page
    if start >= total:
        return []
    end = min(start + per_page, total)
    if total - end < start:
        backwards = [column.asc() if desc else column.desc() for column, desc in sort]
        rows = session.scalars(query.order_by(*backwards).offset(total - end).limit(end - start))
        return list(rows)[::-1]
    forwards = [column.desc() if desc else column.asc() for column, desc in sort]
    return list(session.scalars(query.order_by(*forwards).offset(start).limit(per_page)))


def open_tickets(
    session: Session,
    queue_ids: list[int],
    page: int = 1,
    per_page: int = 25,
    filters: TicketFilter | None = None,
) -> TicketPage:
    """The tickets of the given queues that match ``filters``, a page at a time."""
    f = filters or TicketFilter()
    where: list[Any] = [Ticket.queue_id.in_(queue_ids)]
    if f.state:
        where.append(Ticket.state == f.state)
    else:
        where.append(Ticket.state.not_in(CLOSED))
    if f.owner_id is not None:
        where.append(Ticket.owner_id == f.owner_id)
    if f.locked is not None:
        where.append(Ticket.locked.is_(f.locked))
    if f.language:
        where.append(Ticket.language == f.language)
    total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    page = max(1, page)
    query = select(Ticket).where(*where).options(selectinload(Ticket.queue))
    rows = page_of(session, query, SORTS.get(f.sort, SORTS["age"]), total, page, per_page)
    return TicketPage(rows, total, page, per_page)


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last, and a few around ``page``; None is a gap."""
    wanted = {1, pages, *range(page - around, page + around + 1)}
    shown: list[int | None] = []
    previous = 0
    for n in sorted(x for x in wanted if 1 <= x <= pages):
        if previous and n - previous > 1:
            shown.append(None)
        shown.append(n)
        previous = n
    return shown


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
