"""The block check on web requests: when it asks the wiki, and failing open (no wiki here)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.helpers import log_in
from tickets.models import utcnow
from wikibridge import sessions
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge.web import block_check
from wikibridge.wiki.blocks import Block

NOWHERE = "http://127.0.0.1:9/w/index.php"  # nothing listens on the discard port


def row_of(db: Session, token: str) -> LoginSession:
    row = db.get(LoginSession, sessions.row_id(token))
    assert row is not None
    return row


def due_now(app, token: str) -> None:
    with new_session(app) as db:
        row = row_of(db, token)
        row.block_check_due = utcnow() - dt.timedelta(seconds=1)
        db.commit()


def due_at(app, token: str) -> dt.datetime:
    with new_session(app) as db:
        due = row_of(db, token).block_check_due
    assert due is not None
    return due.replace(tzinfo=dt.UTC) if due.tzinfo is None else due


def test_unreachable_wiki_keeps_the_volunteer_logged_in_and_asks_again_soon(app, client):
    app.config["OAUTH_INDEX_URL"] = NOWHERE
    token = log_in(app, client)
    due_now(app, token)
    before = utcnow()
    assert client.get("/queues").status_code == 200
    retry = dt.timedelta(seconds=app.config["BLOCK_CHECK_RETRY_SECONDS"])
    assert before + retry - dt.timedelta(seconds=5) <= due_at(app, token) <= utcnow() + retry
    assert client.get("/queues").status_code == 200


def test_no_wiki_request_before_the_check_is_due(app, client, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(block_check, "sitewide_block", lambda *a, **k: asked.append("x"))
    log_in(app, client)
    for _ in range(3):
        assert client.get("/queues").status_code == 200
    assert asked == []


@pytest.mark.parametrize("seconds", [0])
def test_check_can_be_turned_off(app, client, monkeypatch, seconds):
    app.config["BLOCK_CHECK_SECONDS"] = seconds
    monkeypatch.setattr(
        block_check, "sitewide_block", lambda *a, **k: Block("meta", "vandalism", "infinite")
    )
    token = log_in(app, client)
    due_now(app, token)
    assert client.get("/queues").status_code == 200


def test_block_found_ends_the_login_in_german_too(app, client, monkeypatch):
    app.config["OAUTH_INDEX_URL"] = "http://127.0.0.1:9/meta/index.php"
    app.config["WIKIS"]["meta"]["api_url"] = "http://127.0.0.1:9/meta/api.php"
    monkeypatch.setattr(
        block_check, "sitewide_block", lambda *a, **k: Block("meta", "vandalism", "infinite")
    )
    token = log_in(app, client)
    due_now(app, token)
    response = client.get("/queues")
    assert response.status_code == 302
    page = client.get("/login?lang=de").get_data(as_text=True)
    assert "Dein Konto Alice ist auf meta gesperrt; du wurdest abgemeldet." in page
    with new_session(app) as db:
        row = row_of(db, token)
        assert row.ended_because == "blocked:meta" and row.credentials is None
