"""Ticket lists: what a queue view shows, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from tickets.models import Queue, QueueStateCount, State, Ticket

CLOSED = [State.CLOSED_SUCCESSFUL.value, State.CLOSED_UNSUCCESSFUL.value, State.MERGED.value]


def is_open() -> ColumnElement[bool]:
    """The condition of the partial open-ticket indexes (``OPEN_TICKETS_SQL``).

    The states are written into the SQL, not bound: SQLite uses a partial
    index only when the query states the index's own condition, values
    included (counting the open tickets of 100,000: 2 ms instead of 124).
    """
    states: BindParameter[list[str]] = bindparam(
        "closed_states", CLOSED, expanding=True, literal_execute=True
    )
    return Ticket.state.not_in(states)


@dataclass(frozen=True)
class TicketPage:
    """One page of a ticket list."""

    tickets: list[Ticket]
    total: int
    page: int
    per_page: int
    #: Whether more than ``total`` tickets match (a search stops counting there).
    more: bool = False

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


def nearest_page(page: int, total: int, per_page: int) -> int:
    """``page`` moved into the pages ``total`` tickets fill: below 1 is 1, past the end the last.

    Every paginated list uses this, so any number in ``?page=`` shows a page
    (a number past any database's integer would otherwise overflow the offset).
    """
    return min(max(1, page), max(1, -(-total // per_page)))


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list shows: the defaults are Znuny's (open tickets, oldest first)."""

    #: One state, or "" for every state that is not closed (the working list).
    state: str = ""
    owner_id: int | None = None
    locked: bool | None = None
    language: str | None = None
    #: "age" (oldest first), "-age" (newest first), "priority" (highest first,
    #: oldest first within a priority), "-priority" (the reverse of "priority").
    sort: str = "age"

    @property
    def unfiltered(self) -> bool:
        """Whether the list holds every open ticket of its queues (in any order)."""
        return not (self.state or self.language) and self.owner_id is None and self.locked is None


#: Each sort as (column, descending) pairs, ending in the id so the order is total.
SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "age": ((Ticket.created_at, False), (Ticket.id, False)),
    "-age": ((Ticket.created_at, True), (Ticket.id, True)),
    "priority": ((Ticket.priority, True), (Ticket.created_at, False), (Ticket.id, False)),
    # The exact reverse, so the index behind "priority" serves it read backwards.
    "-priority": ((Ticket.priority, False), (Ticket.created_at, True), (Ticket.id, True)),
}


def page_of(
    session: Session,
    where: list[Any],
    sort: tuple[tuple[Any, bool], ...],
    total: int,
    page: int,
    per_page: int,
) -> list[Ticket]:
    """Page ``page`` of the tickets matching ``where`` in the order ``sort``, of ``total``.

    A database skips an OFFSET row by row, so a page deep in a long list
    costs as many rows as lie before it. Two things keep that cheap: pages
    in the second half are read from the end, in the reverse order, and
    turned round (the last page costs what the first does); and the skipping
    reads ids only, which the open-ticket index holds with the queue
    (``ix_ticket_open_created``), before the page's own rows are loaded.
    """
    start = (page - 1) * per_page
    if start >= total:
        return []
    end = min(start + per_page, total)
    backwards = total - end < start
    order = [column.asc() if desc == backwards else column.desc() for column, desc in sort]
    offset, limit = (total - end, end - start) if backwards else (start, per_page)
    ids = list(
        session.scalars(
            select(Ticket.id).where(*where).order_by(*order).offset(offset).limit(limit)
        )
    )
    if backwards:
        ids.reverse()
    rows = session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.queue))
    )
    by_id = {ticket.id: ticket for ticket in rows}
    return [by_id[i] for i in ids if i in by_id]


def open_tickets(
    session: Session,
    queue_ids: list[int],
    page: int = 1,
    per_page: int = 25,
    filters: TicketFilter | None = None,
    counts: dict[int, int] | None = None,
    by_state: dict[tuple[int, str], int] | None = None,
) -> TicketPage:
    """The tickets of the given queues that match ``filters``, a page at a time.

    :param counts: open tickets per queue (:func:`open_counts`), when the
        caller has them already: an unfiltered list's total is then their
        sum instead of a second count of every open ticket.
    :param by_state: tickets per (queue, state) (:func:`state_counts`): a
        list filtered by state alone takes its total from them.
    """
    f = filters or TicketFilter()
    where: list[Any] = [Ticket.queue_id.in_(queue_ids)]
    if f.state:
        where.append(Ticket.state == f.state)
    else:
        where.append(is_open())
    if f.owner_id is not None:
        where.append(Ticket.owner_id == f.owner_id)
    if f.locked is not None:
        where.append(Ticket.locked.is_(f.locked))
    if f.language:
        where.append(Ticket.language == f.language)
    if counts is not None and f.unfiltered:
        total = sum(counts.get(queue_id, 0) for queue_id in set(queue_ids))
    elif by_state is not None and f.state and f == TicketFilter(state=f.state, sort=f.sort):
        total = sum(by_state.get((queue_id, f.state), 0) for queue_id in set(queue_ids))
    else:
        total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    page = nearest_page(page, total, per_page)
    rows = page_of(session, where, SORTS.get(f.sort, SORTS["age"]), total, page, per_page)
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


def state_counts(session: Session) -> dict[tuple[int, str], int]:
    """Tickets per (queue id, state), exact: the counters migration 0022's triggers keep.

    A few hundred rows at most, however many tickets there are: reading them
    costs what any small query does, where counting the tickets themselves
    took ~60 ms at a million.
    """
    rows = session.execute(
        select(QueueStateCount.queue_id, QueueStateCount.state, QueueStateCount.tickets).where(
            QueueStateCount.tickets != 0
        )
    )
    return {(queue_id, state): tickets for queue_id, state, tickets in rows}


def open_counts(session: Session) -> dict[int, int]:
    """Open tickets per queue id (queues without any are left out)."""
    return open_counts_of(state_counts(session))


def open_counts_of(by_state: dict[tuple[int, str], int]) -> dict[int, int]:
    """Open tickets per queue id, from :func:`state_counts`."""
    counts: dict[int, int] = {}
    for (queue_id, state), tickets in by_state.items():
        if state not in CLOSED:
            counts[queue_id] = counts.get(queue_id, 0) + tickets
    return counts


def locked_count(session: Session, owner_id: int, queue_ids: list[int]) -> int:
    """How many open tickets ``owner_id`` has locked in the queues ``queue_ids``."""
    # A volunteer holds a handful of locks: read them through the owner index
    # and filter here, rather than let the queue condition pick a wider index.
    queues = session.scalars(
        select(Ticket.queue_id).where(
            Ticket.owner_id == owner_id, Ticket.locked.is_(True), is_open()
        )
    )
    wanted = set(queue_ids)
    return sum(queue_id in wanted for queue_id in queues)


def subtree_ids(queues: list[Queue], root: Queue) -> list[int]:
    """Ids of ``root`` and every queue below it."""
    prefix = root.name + "::"
    return [q.id for q in queues if q.id == root.id or q.name.startswith(prefix)]
