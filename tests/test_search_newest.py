"""Searching words on PostgreSQL: newest first, counted up to a limit, said so on the page."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from tickets import search as ticket_search
from tickets.models import Article, Queue, Ticket
from tickets.search import search_tickets
from wikibridge.db import new_session
from wikibridge.web import search

from .helpers import log_in

START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def tickets(app: Flask) -> list[str]:
    """40 tickets over six years: every one says "meadow", every tenth (and the oldest) "heron".

    Numbers newest first.
    """
    if app.extensions["db_engine"].dialect.name != "postgresql":
        pytest.skip("the bounded word search is PostgreSQL's (SQLite counts its FTS5 matches)")
    with new_session(app) as db:
        queue = db.scalars(select(Queue.id).order_by(Queue.id)).first()
        assert queue is not None
        numbers = []
        for n in range(40):
            # Uneven ages: most tickets are recent, a few years old.
            created = START + dt.timedelta(days=2000 - (40 - n) ** 2)
            ticket = Ticket(
                number=f"20200101{n:08d}", title="A question", queue_id=queue, created_at=created
            )
            words = "meadow heron" if n % 10 == 0 else "meadow"
            ticket.articles.append(Article(subject="Photo", body=f"a {words} picture"))
            db.add(ticket)
            numbers.append(ticket.number)
        db.commit()
    return numbers[::-1]


def test_newest_first_up_to_the_limit(
    app: Flask, tickets: list[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ticket_search, "COUNT_LIMIT", 10)
    with new_session(app) as db:
        queues = list(db.scalars(select(Queue.id)))
        pages = [search_tickets(db, "meadow", queues, n, 4) for n in (1, 2, 3)]
        assert [t.number for p in pages for t in p.tickets] == tickets[:10]
        assert {(p.total, p.more, p.pages) for p in pages} == {(10, True, 3)}
        # Past the pages counted: the last of them.
        assert search_tickets(db, "meadow", queues, 99, 4).tickets == pages[-1].tickets


def test_a_rare_word_is_found_in_every_age_and_counted_exactly(
    app: Flask, tickets: list[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ticket_search, "COUNT_LIMIT", 10)
    with new_session(app) as db:
        queues = list(db.scalars(select(Queue.id)))
        found = search_tickets(db, "heron", queues, 1, 25)
        assert [t.number for t in found.tickets] == tickets[9::10]
        assert (found.total, found.more) == (4, False)
        # Words must all occur in the ticket, in any of its articles or its title.
        assert search_tickets(db, "question heron", queues, 1, 25).total == 4
        assert search_tickets(db, "heron okapi", queues, 1, 25).total == 0


def test_the_words_follow_moves_edits_and_new_articles(app: Flask, tickets: list[str]):
    with new_session(app) as db:
        queues = list(db.scalars(select(Queue.id).order_by(Queue.id)))
        oldest = db.scalars(select(Ticket).where(Ticket.number == tickets[-1])).one()
        db.execute(update(Ticket).where(Ticket.id == oldest.id).values(queue_id=queues[1]))
        db.add(Article(ticket_id=oldest.id, subject="Re", body="an okapi"))
        db.commit()
        assert search_tickets(db, "okapi", queues[:1], 1, 25).total == 0
        assert [t.number for t in search_tickets(db, "okapi heron", queues, 1, 25).tickets] == [
            tickets[-1]
        ]
        db.execute(update(Article).where(Article.ticket_id == oldest.id).values(body="a lynx"))
        db.commit()
        assert search_tickets(db, "okapi", queues, 1, 25).total == 0
        assert search_tickets(db, "lynx", queues, 1, 25).total == 1
        stored = db.execute(
            text("SELECT count(*) FROM ticket_search s JOIN ticket t ON t.id = s.ticket_id")
        ).scalar()
        assert stored == len(tickets)


def test_the_page_says_more_than(
    app: Flask, client: FlaskClient, tickets: list[str], monkeypatch: pytest.MonkeyPatch
):
    if "search" not in app.blueprints:
        app.register_blueprint(search.bp)
    monkeypatch.setattr(ticket_search, "COUNT_LIMIT", 10)
    app.config["TICKETS_PER_PAGE"] = 4
    log_in(app, client)
    page = client.get("/search?q=meadow").get_data(as_text=True)
    assert "Tickets: 1-4 of more than 10 - Page:" in page
    page = client.get("/search?q=heron").get_data(as_text=True)
    assert "Tickets: 1-4 of 4 - Page:" in page
