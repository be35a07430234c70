"""CSRF on every POST: each POST route of the app, found in ``app.url_map``, refuses a
post without the form's token or with a wrong one, and stores nothing.

The check is ``wikibridge.web.security._check_csrf``, run before every view;
the poster here is the desk's head with a live session and every right, so
a post that got through would change something.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tickets.models import Base
from wikibridge.db import new_session

from ..helpers import log_in, new_ticket

FORM = {
    "queue": "Info",
    "role": "admin",
    "text": "A note.",
    "body": "An answer.",
    "to": "jane@example.net",
    "subject": "Hello",
    "state": "closed successful",
    "priority": "5",
    "page": "File:Y.png",
    "title": "File:Y.png",
    "name": "New queue",
    "username": "Someone",
    "rights": "all",
    "vote": "support",
    "decision": "decline",
    "reason": "Not now.",
    "tickets": "",
    "action": "close",
}


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after."""
    with new_session(app) as db:
        return {
            table.name: sorted(
                (tuple(map(str, row)) for row in db.execute(select(table)).all()),
            )
            for table in Base.metadata.sorted_tables
        }


def post_routes(app: Flask, number: str) -> list[str]:
    """Every POST route, its arguments filled (the ticket; 1 for other ids)."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        values = {arg: (number if arg == "number" else "1") for arg in rule.arguments}
        with app.test_request_context():
            paths.append(rule.build(values, append_unknown=False)[1])  # type: ignore[index]
    return sorted(paths)


@pytest.fixture
def ready(app: Flask, client) -> str:
    number = new_ticket(app)
    log_in(app, client, "Hugo", role="head")
    return number


def test_there_are_posts_to_check(app: Flask, ready: str):
    assert len(post_routes(app, ready)) > 40


@pytest.mark.parametrize(
    "token",
    [None, "", "wrong", "test-csrf ", "TEST-CSRF", "test-csr"],
    ids=["missing", "empty", "wrong", "padded", "case", "prefix"],
)
def test_every_post_refuses_a_bad_token(app: Flask, client, ready: str, token: str | None):
    before = snapshot(app)
    failures = []
    for path in post_routes(app, ready):
        data = dict(FORM)
        if token is not None:
            data["csrf_token"] = token
        response = client.post(path, data=data)
        if response.status_code != 400:
            failures.append(f"{path}: {response.status_code}")
    assert failures == []
    assert snapshot(app) == before


def test_a_wrong_header_token_is_refused_too(app: Flask, client, ready: str):
    before = snapshot(app)
    for path in post_routes(app, ready):
        response = client.post(path, data=FORM, headers={"X-CSRF-Token": "wrong"})
        assert response.status_code == 400, path
    assert snapshot(app) == before


def test_a_session_without_a_token_refuses_everything(app: Flask, ready: str):
    """A browser that never loaded a form has no token: whatever it sends is refused."""
    fresh = app.test_client()
    before = snapshot(app)
    for path in post_routes(app, ready):
        for sent in ({}, {"csrf_token": ""}, {"csrf_token": "None"}):
            assert fresh.post(path, data={**FORM, **sent}).status_code == 400, path
    assert snapshot(app) == before


def test_the_right_token_gets_through(app: Flask, client, ready: str):
    """The control: with the token, a post stores what it should (so the snapshot sees it)."""
    before = snapshot(app)
    response = client.post(f"/tickets/{ready}/note", data={**FORM, "csrf_token": "test-csrf"})
    assert response.status_code == 302
    assert snapshot(app) != before


def test_the_refusal_says_what_to_do(app: Flask, client, ready: str):
    page = client.post(f"/tickets/{ready}/note", data=FORM).get_data(as_text=True)
    assert "reload the page" in page
