"""Retention: which closed tickets may be archived, and which rows belong to them.

Archiving is explicit (``wikibridge archive``): nothing here runs by itself.
A ticket qualifies when it is closed (or merged) and has not changed since the
date given; tickets merged into it go with it.  Some are kept even then:
practice tickets (training counts their reviewed answers), and tickets with
mail still to be sent or wiki edits not finished.

The rows that belong to a ticket are found from the foreign keys, not from a
list, so tables added later come along: every row referring to the ticket,
or to such a row, and the stored content (raw mail, attachment blobs) that
nothing else refers to any more.  :func:`referenced_rows` gives the rows
those refer to in turn (queues, volunteers, a ticket merged into), which an
archive file carries as well so that it can be loaded on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, Table, exists, select
from sqlalchemy.orm import Session

from tickets.models import Article, Base, Queue, State, Ticket, WikiBatch
from tickets.training import PracticeTicket

CLOSED_STATES = (State.CLOSED_SUCCESSFUL.value, State.CLOSED_UNSUCCESSFUL.value, State.MERGED.value)
#: Tables whose rows exist for the rows referring to them; they go when the
#: last row referring to them goes.
CONTENT_TABLES = ("raw_message", "blob")
#: Wiki batches in these states still have work to do.
UNFINISHED_BATCHES = ("queued", "running", "paused", "stopped")
#: Outgoing mail in these states is still to be sent.
UNSENT = ("pending", "sending")
CHUNK = 500


@dataclass
class Selection:
    """The tickets an archive run takes, and those it leaves, with why."""

    tickets: list[Ticket] = field(default_factory=list)
    kept: list[tuple[Ticket, str]] = field(default_factory=list)


def _queue_clause(session: Session, queue: Queue) -> Any:
    names = [queue.name]
    names += session.scalars(select(Queue.name).where(Queue.name.like(f"{queue.name}::%"))).all()
    ids = session.scalars(select(Queue.id).where(Queue.name.in_(names))).all()
    return Ticket.queue_id.in_(ids)


def _busy_reason(session: Session, ticket: Ticket) -> str | None:
    if session.scalar(select(exists().where(PracticeTicket.ticket_id == ticket.id))):
        return "practice ticket (training counts its answers)"
    unsent = exists().where(Article.ticket_id == ticket.id, Article.send_status.in_(UNSENT))
    if session.scalar(select(unsent)):
        return "mail still to be sent"
    unfinished = exists().where(
        WikiBatch.ticket_id == ticket.id, WikiBatch.status.in_(UNFINISHED_BATCHES)
    )
    if session.scalar(select(unfinished)):
        return "wiki edits not finished"
    return None


def select_tickets(
    session: Session, closed_before: dt.datetime, queue: Queue | None = None
) -> Selection:
    """The closed tickets unchanged since before ``closed_before`` (in ``queue`` and below)."""
    query = select(Ticket).where(Ticket.state.in_(CLOSED_STATES), Ticket.changed_at < closed_before)
    if queue is not None:
        query = query.where(_queue_clause(session, queue))
    chosen: dict[int, Ticket] = {}
    kept: dict[int, tuple[Ticket, str]] = {}
    for ticket in session.scalars(query.order_by(Ticket.id)):
        reason = _busy_reason(session, ticket)
        if reason:
            kept[ticket.id] = (ticket, reason)
        else:
            chosen[ticket.id] = ticket
    # Tickets merged into a chosen one go with it, or keep it when busy.
    frontier = list(chosen)
    while frontier:
        merged = session.scalars(
            select(Ticket).where(Ticket.merged_into_id.in_(frontier), Ticket.id.not_in(chosen))
        ).all()
        frontier = []
        for ticket in merged:
            reason = _busy_reason(session, ticket)
            if reason is None and ticket.state in CLOSED_STATES:
                chosen[ticket.id] = ticket
                frontier.append(ticket.id)
                continue
            kept[ticket.id] = (ticket, reason or "not closed")
            target = chosen.pop(ticket.merged_into_id or 0, None)
            if target is not None:
                kept[target.id] = (target, f"{ticket.number} merged into it is kept")
    return Selection(
        tickets=sorted(chosen.values(), key=lambda t: t.id),
        kept=sorted(kept.values(), key=lambda k: k[0].id),
    )


# --- rows, generically through the foreign keys ------------------------------


def _tables(skip: Iterable[str] = ()) -> list[Table]:
    skipped = set(skip)
    return [t for t in Base.metadata.sorted_tables if t.name not in skipped]


def _key(table: Table) -> Column[Any]:
    (column,) = table.primary_key.columns
    return column


def _references(table: Table) -> Iterator[tuple[Column[Any], Table]]:
    """Each column of ``table`` referring to another row, with the table referred to."""
    for column in table.columns:
        for fk in column.foreign_keys:
            yield column, fk.column.table


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _pairs(
    conn: Connection, table: Table, column: Column[Any], among: Column[Any], values: set[Any]
) -> Iterator[tuple[Any, Any]]:
    """(key, ``column``) of the rows whose ``among`` is one of ``values``."""
    key = _key(table)
    for chunk in _chunks(values):
        for row in conn.execute(select(key, column).where(among.in_(chunk))):
            yield row[0], row[1]


def rows_of_tickets(
    conn: Connection, ticket_ids: Iterable[int], skip: Iterable[str] = ()
) -> dict[str, set[Any]]:
    """Primary keys, per table, of the rows that go when these tickets go."""
    tables = _tables(skip)
    rows: dict[str, set[Any]] = {t.name: set() for t in tables}
    frontier: dict[str, set[Any]] = {"ticket": set(ticket_ids)}
    rows["ticket"] |= frontier["ticket"]
    while any(frontier.values()):
        found: dict[str, set[Any]] = {}
        for table in tables:
            if table.name in CONTENT_TABLES:
                continue
            for column, target in _references(table):
                keys = frontier.get(target.name)
                if not keys:
                    continue
                new = {k for k, _ in _pairs(conn, table, column, column, keys)} - rows[table.name]
                if new:
                    rows[table.name] |= new
                    found.setdefault(table.name, set()).update(new)
        frontier = found
    for content in (t for t in tables if t.name in CONTENT_TABLES):
        rows[content.name] = _orphaned(conn, tables, rows, content)
    return rows


def _orphaned(
    conn: Connection, tables: list[Table], rows: dict[str, set[Any]], content: Table
) -> set[Any]:
    """The rows of ``content`` that only rows in ``rows`` refer to."""
    referrers = [(t, c) for t in tables for c, target in _references(t) if target is content]
    candidates: set[Any] = set()
    for table, column in referrers:
        if rows[table.name]:
            candidates |= {
                v
                for _, v in _pairs(conn, table, column, _key(table), rows[table.name])
                if v is not None
            }
    still_used = set()
    for table, column in referrers:
        for key, value in _pairs(conn, table, column, column, candidates):
            if key not in rows[table.name]:
                still_used.add(value)
    return candidates - still_used


def referenced_rows(
    conn: Connection, rows: dict[str, set[Any]], skip: Iterable[str] = ()
) -> dict[str, set[Any]]:
    """Primary keys of the rows that ``rows`` refer to, directly or not, outside ``rows``."""
    tables = _tables(skip)
    extra: dict[str, set[Any]] = {t.name: set() for t in tables}
    frontier = {name: set(keys) for name, keys in rows.items() if keys}
    while frontier:
        found: dict[str, set[Any]] = {}
        for table in tables:
            keys = frontier.get(table.name)
            if not keys:
                continue
            for column, target in _references(table):
                values = {
                    v for _, v in _pairs(conn, table, column, _key(table), keys) if v is not None
                }
                new = values - rows.get(target.name, set()) - extra[target.name]
                if new:
                    extra[target.name] |= new
                    found.setdefault(target.name, set()).update(new)
        frontier = found
    return extra


__all__ = [
    "CLOSED_STATES",
    "CONTENT_TABLES",
    "Selection",
    "referenced_rows",
    "rows_of_tickets",
    "select_tickets",
]
