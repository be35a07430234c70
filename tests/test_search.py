"""Search by number, sender and words, only in the queues one may read."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tickets.models import Article, Ticket
from tickets.search import fts5_query, search_tickets
from wikibridge.db import new_session
from wikibridge.web import search

from .helpers import log_in, new_ticket


@pytest.fixture
def search_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client, with the search blueprint in the app (until create_app registers it)."""
    if "search" not in app.blueprints:
        app.register_blueprint(search.bp)
    return client


def _numbers(client: FlaskClient, q: str, page: int = 1) -> list[str]:
    response = client.get("/search", query_string={"q": q, "page": page})
    assert response.status_code == 200, response.get_data(as_text=True)
    return re.findall(r'href="/tickets/(\d+)"', response.get_data(as_text=True))


def test_search_needs_login(search_client: FlaskClient):
    response = search_client.get("/search?q=photo")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_by_ticket_number(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    wanted = new_ticket(app, subject="First")
    new_ticket(app, subject="Second")
    assert _numbers(search_client, wanted) == [wanted]
    assert _numbers(search_client, "1" * 16) == []


def test_by_sender_address(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    number = new_ticket(app, subject="From Jane")
    with new_session(app) as db:
        # A second ticket whose follow-up came from another address.
        other = new_ticket(app, subject="From someone else")
        ticket = db.scalars(select(Ticket).where(Ticket.number == other)).one()
        db.execute(update(Ticket).where(Ticket.id == ticket.id).values(customer="bob@example.org"))
        db.add(Article(ticket_id=ticket.id, from_addr="Bob Smith <Bob_S@example.org>", body="hi"))
        db.commit()
    # Jane's first mail is in both tickets; Bob is only in the second.
    assert _numbers(search_client, "jane@example.net") == [other, number]
    assert _numbers(search_client, "JANE@example.net") == [other, number]
    assert _numbers(search_client, "bob@example.org") == [other]
    assert _numbers(search_client, "bob_s@example.org") == [other]
    # "_" is a LIKE wildcard: it must only match itself.
    assert _numbers(search_client, "bobxs@example.org") == []


def test_words_in_body_and_subject(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    photo = new_ticket(app, subject="Lighthouse picture", body="I took the photo at dawn.")
    other = new_ticket(app, subject="Question", body="How do I rename an article?")
    assert _numbers(search_client, "dawn") == [photo]
    assert _numbers(search_client, "lighthouse") == [photo]
    assert _numbers(search_client, "Rename Article") == [other]
    # All words must occur, in any article of the ticket.
    assert _numbers(search_client, "dawn rename") == []
    assert _numbers(search_client, "nothing-like-this") == []


def test_newest_first_and_distinct(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    older = new_ticket(app, subject="Harbour photo", body="harbour")
    newer = new_ticket(app, subject="Harbour again", body="harbour harbour")
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == older)).one()
        db.add(Article(ticket_id=ticket.id, subject="Re: Harbour photo", body="harbour"))
        db.commit()
    assert _numbers(search_client, "harbour") == [newer, older]


def test_german_word_with_umlauts(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    number = new_ticket(
        app,
        subject="Freigabe für mein Foto",
        body="Ich bin der Urheber des Bildes vom Schloss Größenwahn und gebe es frei. "
        "Mit freundlichen Grüßen, Jürgen Müller",
    )
    assert _numbers(search_client, "Müller") == [number]
    assert _numbers(search_client, "müller") == [number]
    assert _numbers(search_client, "GRÜßEN") == [number]
    assert _numbers(search_client, "für") == [number]


#: The tickets the injection tests search, by key: subject and body.
LITERAL_TICKETS = {
    "dawn": ("A photo", "photo at dawn"),
    "or": ("Lighthouse", "a photo or a drawing of the lighthouse"),
    "table": ("Furniture", "Did the table drop my ticket?"),
    "column": ("Subject line", "the subject: photo of a mill"),
    "prefix": ("Holiday", "photographs of the harbour"),
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Quotes, operators, prefixes and column filters of FTS5 (and of
        # tsquery) are plain text: the words in them must all occur.
        ('"', set()),
        ('photo"', {"dawn", "or", "column"}),
        ("photo*", {"dawn", "or", "column"}),  # not a prefix: "photographs" stays out
        ("-photo", {"dawn", "or", "column"}),  # not NOT
        ("photo OR", {"or"}),  # "or" is a word to find
        ("NEAR(photo dawn)", set()),  # no ticket says "near"
        ("(photo", {"dawn", "or", "column"}),
        ("photo)", {"dawn", "or", "column"}),
        ("AND", set()),
        ("NOT photo", set()),
        ("subject:photo", {"column"}),  # not a column filter: "A photo" stays out
        ("^photo", {"dawn", "or", "column"}),
        ("* - ( ) :", set()),
        ("'; DROP TABLE ticket; --", {"table"}),
        ("%_%", set()),  # not LIKE wildcards
        ("\\", set()),
    ],
)
def test_search_syntax_is_searched_literally(
    app: Flask, search_client: FlaskClient, query: str, expected: set[str]
):
    log_in(app, search_client, "Vera", role="volunteer", grants={"Permissions": "read"})
    numbers = {
        key: new_ticket(app, subject, body=body) for key, (subject, body) in LITERAL_TICKETS.items()
    }
    # The same words in a queue Vera may not read: never found.
    hidden = {
        new_ticket(app, subject, to="info@wikimedia.org", body=body)
        for subject, body in LITERAL_TICKETS.values()
    }
    with new_session(app) as db:
        before = (
            db.scalar(select(func.count(Ticket.id))),
            db.scalar(select(func.count(Article.id))),
        )

    found = _numbers(search_client, query)

    assert sorted(found) == sorted(numbers[key] for key in expected)
    assert not hidden & set(found)
    # The database is whole afterwards, and its index still answers.
    with new_session(app) as db:
        after = (
            db.scalar(select(func.count(Ticket.id))),
            db.scalar(select(func.count(Article.id))),
        )
    assert after == before == (10, 10)
    assert _numbers(search_client, "harbour") == [numbers["prefix"]]


def test_fts5_query_quotes_every_word():
    assert fts5_query('say "hi" OR NEAR(x)') == '"say" """hi""" "OR" "NEAR(x)"'
    assert fts5_query("- * ( )") == ""


def test_only_readable_queues(app: Flask, search_client: FlaskClient):
    permission = new_ticket(app, subject="Secret statement", body="the unicorn photo")
    info = new_ticket(
        app, subject="Question on the unicorn", to="info@wikimedia.org", body="unicorn question"
    )
    log_in(app, search_client, "Vera", role="volunteer", grants={"Info": "read"})
    assert _numbers(search_client, "unicorn") == [info]
    assert _numbers(search_client, permission) == []
    assert _numbers(search_client, "jane@example.net") == [info]
    page = search_client.get("/search?q=unicorn").get_data(as_text=True)
    assert "Tickets: 1-1 of 1 - Page:" in page


def test_no_queues_or_no_query(app: Flask):
    new_ticket(app, subject="Anything", body="anything")
    with new_session(app) as db:
        assert search_tickets(db, "anything", [], 1, 25).total == 0
        queue_ids = list(db.scalars(select(Ticket.queue_id)))
        assert search_tickets(db, "   ", queue_ids, 1, 25).total == 0
        assert search_tickets(db, "anything", queue_ids, 1, 25).total == 1


def test_pagination(app: Flask, search_client: FlaskClient):
    app.config["TICKETS_PER_PAGE"] = 2
    log_in(app, search_client)
    numbers = [new_ticket(app, subject=f"Meadow {i}", body="a meadow") for i in range(5)]
    newest_first = numbers[::-1]
    assert _numbers(search_client, "meadow", 1) == newest_first[0:2]
    assert _numbers(search_client, "meadow", 2) == newest_first[2:4]
    assert _numbers(search_client, "meadow", 3) == newest_first[4:]
    page = search_client.get("/search?q=meadow&page=2").get_data(as_text=True)
    assert "Tickets: 3-4 of 5 - Page:" in page
    assert 'href="/search?q=meadow&amp;page=3"' in page


def test_index_follows_updates(app: Flask, search_client: FlaskClient):
    log_in(app, search_client)
    number = new_ticket(app, subject="Old words", body="zebra")
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        db.execute(update(Article).where(Article.ticket_id == ticket.id).values(body="giraffe"))
        db.execute(update(Ticket).where(Ticket.id == ticket.id).values(title="Renamed okapi"))
        db.commit()
    assert _numbers(search_client, "zebra") == []
    assert _numbers(search_client, "giraffe") == [number]
    assert _numbers(search_client, "okapi") == [number]
