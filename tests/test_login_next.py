"""Where the login sends the browser afterwards: this site only, whatever ``next`` says.

The handshake with the wiki is replaced by a stand-in here (the real one is
tested against the sandbox provider in tests/integration/test_login.py); the
desk's own part, from the login page to the redirect after the callback, is
the real one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from oauth import mediawiki1
from oauth.identity import Identity
from tickets.access import volunteer_named
from wikibridge.db import new_session
from wikibridge.web import auth

SAFE = [
    ("/tickets/2016060210016939", "/tickets/2016060210016939"),
    ("/queues/Info?state=open&page=2", "/queues/Info?state=open&page=2"),
]
UNSAFE = [
    "/\t/evil.example/phish",  # the probe: /login?next=/%09/evil.example/phish
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\r\n/evil.example",
    "\n//evil.example",
]


@pytest.fixture
def stand_in_wiki(monkeypatch: pytest.MonkeyPatch, app: Flask) -> None:
    """The wiki's side of the handshake, answering at once for Carol Example.

    Carol is on the team already (someone new would be sent to apply).
    """
    with new_session(app) as db:
        volunteer_named(db, "Carol Example")
        db.commit()

    def initiate(consumer: Any, callback: str = "oob", **_: Any) -> Any:
        return "https://wiki.example/authorize", mediawiki1.RequestToken("rk", "rs")

    def finish(app: Flask, handshake: dict[str, Any]) -> Any:
        return Identity(username="Carol Example", sub=7), {
            "version": "1",
            "key": "ak",
            "secret": "as",
        }

    monkeypatch.setattr(mediawiki1, "initiate", initiate)
    monkeypatch.setattr(auth, "_finish_handshake", finish)
    monkeypatch.setattr(auth, "wiki_language", lambda app, creds: "")


def log_in_with_next(client: FlaskClient, next_value: str) -> str:
    """Open the login page with ``?next=``, log in, and return where the callback sends us."""
    page = client.get("/login?next=" + quote(next_value, safe="")).get_data(as_text=True)
    hidden = re.search(r'name="next" value="([^"]*)"', page)
    assert hidden is not None
    with client.session_transaction() as s:
        csrf = s["csrf"]
    # What the page carried, and the raw value too: a forged form skips the page.
    for sent in (hidden.group(1), next_value):
        started = client.post("/login", data={"csrf_token": csrf, "next": sent})
        assert started.status_code == 302, started.get_data(as_text=True)
    done = client.get("/oauth-callback?oauth_token=rk&oauth_verifier=v")
    assert done.status_code == 302, done.get_data(as_text=True)
    return str(done.headers["Location"])


@pytest.mark.parametrize(("next_value", "expected"), SAFE)
def test_login_returns_to_same_site_path(
    client: FlaskClient, stand_in_wiki: None, next_value: str, expected: str
) -> None:
    assert log_in_with_next(client, next_value) == expected


@pytest.mark.parametrize("next_value", UNSAFE)
def test_login_never_leaves_the_site(
    client: FlaskClient, stand_in_wiki: None, next_value: str
) -> None:
    location = log_in_with_next(client, next_value)
    assert location == "/queues"
    assert client.get("/queues").status_code == 200


@pytest.mark.parametrize("next_value", UNSAFE)
def test_login_page_does_not_carry_a_foreign_next(client: FlaskClient, next_value: str) -> None:
    page = client.get("/login?next=" + quote(next_value, safe="")).get_data(as_text=True)
    assert 'name="next" value=""' in page
