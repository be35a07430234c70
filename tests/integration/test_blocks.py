"""A volunteer blocked on the wiki after logging in stops working at once, not 12 hours later.

Against the sandbox wikis: the admin blocks the volunteer through the wiki's
own api.php; the desk's next check (made due by moving its time, never by
waiting) ends the login, and the login page says why. A batch started after
the block edits nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.helpers import new_ticket
from tests.integration.tagging_helpers import NO_PERMISSION, Wiki, login_id, tag_now
from tests.integration.test_login import desk, log_in
from tickets.models import utcnow
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession

pytestmark = pytest.mark.integration

CAROL = "Carol Example"


@pytest.fixture(scope="module")
def wikis(sandbox: Any) -> Iterator[dict[str, Wiki]]:
    """Both sandbox wikis, as their admin."""
    admins = {
        name: Wiki(wiki.api_url, sandbox.admin.username, sandbox.admin.password)
        for name, wiki in sandbox.wikis.items()
    }
    yield admins
    for admin in admins.values():
        admin.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, oauth_provider: Any) -> Iterator[Flask]:
    app = desk(tmp_path, database_url, oauth_provider)
    app.config["WIKI_PUT_THROTTLE"] = 0
    yield app
    app.extensions["db_engine"].dispose()


@contextmanager
def blocked(wiki: Wiki, username: str) -> Iterator[None]:
    """Block ``username`` on ``wiki`` for the ``with`` block (others share the sandbox)."""
    wiki.post(action="block", user=username, expiry="1 hour", reason="desk test")
    try:
        yield
    finally:
        wiki.post(action="unblock", user=username, reason="desk test over")


def make_check_due(app: Flask, login: str) -> None:
    """As if BLOCK_CHECK_SECONDS had passed since the last check."""
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None
        row.block_check_due = utcnow() - dt.timedelta(seconds=1)
        db.commit()


def session_row(app: Flask, login: str) -> LoginSession:
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None
        db.expunge(row)
        return row


def test_volunteer_blocked_after_login_is_logged_out_with_a_message(app, wikis, oauth_provider):
    client = app.test_client()
    assert log_in(client, oauth_provider, CAROL).status_code == 302
    login = login_id(app, CAROL)
    with blocked(wikis["meta"], CAROL):
        # Until the check is due, the desk does not ask the wiki on every request.
        assert client.get("/queues").status_code == 200
        make_check_due(app, login)

        response = client.get("/queues")

        assert response.status_code == 302 and "/login" in response.headers["Location"]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert f"Your account {CAROL} is blocked on meta; you have been logged out." in page
        row = session_row(app, login)
        assert row.ended_at is not None and row.credentials is None
        assert row.ended_because == "blocked:meta"
        # Said once; the browser is simply logged out afterwards.
        assert "is blocked" not in client.get("/login").get_data(as_text=True)
        assert client.get("/queues").status_code == 302


def test_check_that_finds_no_block_waits_the_interval_again(app, wikis, oauth_provider):
    client = app.test_client()
    assert log_in(client, oauth_provider, CAROL).status_code == 302
    login = login_id(app, CAROL)
    make_check_due(app, login)
    before = utcnow()
    assert client.get("/queues").status_code == 200
    due = session_row(app, login).block_check_due
    assert due is not None
    due = due.replace(tzinfo=dt.UTC) if due.tzinfo is None else due
    assert due >= before + dt.timedelta(seconds=app.config["BLOCK_CHECK_SECONDS"] - 5)


def test_batch_started_after_the_block_is_refused_before_any_edit(app, wikis, oauth_provider):
    client = app.test_client()
    assert log_in(client, oauth_provider, CAROL).status_code == 302
    login = login_id(app, CAROL)
    commons = wikis["commons"]
    titles = commons.files("Blocked before", [f"A file.\n{NO_PERMISSION}\n"] * 2)
    before = {t: commons.latest(t)["revid"] for t in titles}
    with blocked(commons, CAROL):
        status, pages, _ = tag_now(app, new_ticket(app), titles, CAROL, login)
    assert status == "paused"
    assert {p.status for p in pages.values()} == {"needs-login"}, pages
    assert all("blocked on commons" in p.message for p in pages.values())
    assert {t: commons.latest(t)["revid"] for t in titles} == before
    # The desk refuses blocked volunteers: the login ended, and the next page says why.
    assert session_row(app, login).ended_because == "blocked:commons"
    response = client.get("/queues")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Your account {CAROL} is blocked on commons; you have been logged out." in page
