"""Pages of ticket lists: read from the end past the middle, always the same rows."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from flask import Flask
from sqlalchemy import select

from tickets import listing
from tickets.listing import SORTS, TicketFilter, open_counts, open_tickets, state_counts
from tickets.models import Queue, Ticket
from tickets.search import search_tickets
from wikibridge.db import new_session

START = dt.datetime(2026, 1, 1)


@pytest.fixture
def queue_ids(app: Flask) -> list[int]:
    """23 open tickets and 3 closed ones, with ties in age and priority."""
    rng = random.Random(7)
    with new_session(app) as db:
        queues = list(db.scalars(select(Queue).order_by(Queue.id)))[:3]
        for n in range(26):
            db.add(
                Ticket(
                    number=f"20260101{n:08d}",
                    title=f"ticket {n} lighthouse",
                    queue_id=queues[n % 3].id,
                    priority=rng.randint(1, 5),
                    # Several tickets share a second: the id decides between them.
                    created_at=START + dt.timedelta(seconds=rng.randint(0, 9)),
                    state="closed successful" if n % 9 == 4 else "open",
                )
            )
        db.commit()
        return [q.id for q in queues]


@pytest.mark.parametrize("sort", sorted(SORTS))
@pytest.mark.parametrize("per_page", [1, 4, 5, 23, 30])
def test_every_page_holds_the_rows_of_the_whole_list_in_order(
    app: Flask, queue_ids: list[int], sort: str, per_page: int
):
    wanted = TicketFilter(sort=sort)
    with new_session(app) as db:
        whole = [t.number for t in open_tickets(db, queue_ids, 1, 1000, wanted).tickets]
        assert len(whole) == 23
        paged: list[str] = []
        pages = -(-23 // per_page)
        for page in range(1, pages + 1):
            listed = open_tickets(db, queue_ids, page, per_page, wanted)
            assert listed.total == 23
            paged.extend(t.number for t in listed.tickets)
        assert paged == whole
        # A page past the end shows the last one (a link may have aged).
        past = open_tickets(db, queue_ids, pages + 1, per_page, wanted)
        last = open_tickets(db, queue_ids, pages, per_page, wanted)
        assert [t.number for t in past.tickets] == [t.number for t in last.tickets] != []


def test_search_pages_hold_the_rows_of_the_whole_list_and_its_total(
    app: Flask, queue_ids: list[int]
):
    with new_session(app) as db:
        whole = [t.number for t in search_tickets(db, "lighthouse", queue_ids, 1, 100).tickets]
        assert len(whole) == 26
        pages = [search_tickets(db, "lighthouse", queue_ids, page, 4) for page in range(1, 8)]
        assert [t.number for p in pages for t in p.tickets] == whole
        # Past the last page, the total is known and the last page is shown.
        past = search_tickets(db, "lighthouse", queue_ids, 8, 4)
        assert {p.total for p in [*pages, past]} == {26}
        assert [t.number for t in past.tickets] == [t.number for t in pages[-1].tickets]


def test_an_unfiltered_total_comes_from_the_open_counts(app: Flask, queue_ids: list[int]):
    with new_session(app) as db:
        counts = open_counts(db)
        for ids in (queue_ids, queue_ids[:1], queue_ids[1:]):
            counted = open_tickets(db, ids, 1, 5).total
            assert open_tickets(db, ids, 1, 5, counts=counts).total == counted
        # A filtered list is counted: the open counts cannot tell its total.
        stale = dict.fromkeys(counts, 999)
        assert open_tickets(db, queue_ids, 1, 5, TicketFilter(state="open"), stale).total == 23
        assert open_tickets(db, queue_ids, 1, 5, TicketFilter(sort="-age"), stale).total == 2997


def test_open_counts_follow_every_change_at_once(app: Flask, queue_ids: list[int]):
    with new_session(app) as db:
        assert sum(open_counts(db).values()) == 23
        ticket = db.scalars(select(Ticket).where(Ticket.state == "open")).first()
        assert ticket is not None
        ticket.state = "closed successful"
        db.commit()
        assert sum(open_counts(db).values()) == 22

        db.add(Ticket(number="2026010199999999", queue_id=queue_ids[0], state="new"))
        db.commit()
        assert sum(open_counts(db).values()) == 23


def test_a_list_filtered_by_state_alone_takes_its_total_from_the_counts(
    app: Flask, queue_ids: list[int]
):
    with new_session(app) as db:
        by_state = state_counts(db)
        for state in ("open", "closed successful", "new"):
            wanted = TicketFilter(state=state)
            counted = open_tickets(db, queue_ids, 1, 5, wanted).total
            assert open_tickets(db, queue_ids, 1, 5, wanted, by_state=by_state).total == counted
        # Another filter beside the state: counted, whatever the counts say.
        stale = dict.fromkeys(by_state, 999)
        mine = TicketFilter(state="open", locked=False)
        assert open_tickets(db, queue_ids, 1, 5, mine, by_state=stale).total == 23


def test_locked_count_counts_my_open_locks_in_the_queues_asked(app: Flask, queue_ids: list[int]):
    from tickets.access import volunteer_named

    with new_session(app) as db:
        me = volunteer_named(db, "Locker")
        db.flush()
        tickets = list(db.scalars(select(Ticket).order_by(Ticket.id)))
        for ticket in tickets[:6]:  # one of them (n=4) is closed
            ticket.owner_id, ticket.locked = me.id, True
        tickets[6].owner_id = me.id  # owned, not locked
        db.commit()
        assert listing.locked_count(db, me.id, queue_ids) == 5
        assert listing.locked_count(db, me.id, queue_ids[:1]) == 2  # tickets 0 and 3
        assert listing.locked_count(db, me.id, []) == 0


def test_the_open_condition_is_the_partial_indexes_own():
    from sqlalchemy.dialects import sqlite

    from tickets.models import OPEN_TICKETS_SQL

    sql = str(
        listing.is_open().compile(
            dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
        )
    )
    # SQLite proves a query may use a partial index only from the same terms.
    assert sql == f"(ticket.{OPEN_TICKETS_SQL})"
