"""Session fixation: the login gets a fresh session id; a cookie planted before is worthless.

The wiki's side of the handshake is the stand-in of ``tests/test_login_next.py``.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from wikibridge import sessions as login_sessions
from wikibridge.db import new_session

from ..test_login_next import stand_in_wiki  # noqa: F401 - the fixture

COOKIE = "session"


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE, domain="wikibridge.test")
    assert cookie is not None
    return cookie.value


def _sid(client: FlaskClient) -> str | None:
    with client.session_transaction() as s:
        return s.get("sid")


def _start_login(client: FlaskClient) -> None:
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    assert client.post("/login", data={"csrf_token": csrf}).status_code == 302


def test_login_gives_a_new_session_id(app: Flask, client: FlaskClient, stand_in_wiki: None):  # noqa: F811
    _start_login(client)
    before_sid, before_cookie = _sid(client), _cookie(client)
    assert before_sid
    done = client.get("/oauth-callback?oauth_token=rk&oauth_verifier=v")
    assert done.status_code == 302
    assert _sid(client) not in (None, before_sid)
    assert _cookie(client) != before_cookie
    # The handshake's session row is ended, not reused.
    with new_session(app) as db:
        assert login_sessions.find(db, before_sid) is None
        live = login_sessions.find(db, _sid(client))
        assert live is not None and live.username == "Carol Example"


def test_a_planted_cookie_is_worthless_after_login(
    app: Flask,
    stand_in_wiki: None,  # noqa: F811
):
    attacker = app.test_client()
    # The attacker gets a cookie of the desk (a started login) and plants it in the
    # victim's browser, who then logs in with it.
    _start_login(attacker)
    planted = _cookie(attacker)
    victim = app.test_client()
    victim.set_cookie(COOKIE, planted, domain="wikibridge.test")
    assert victim.get("/oauth-callback?oauth_token=rk&oauth_verifier=v").status_code == 302
    assert victim.get("/queues").status_code == 200
    # The attacker, still holding the planted cookie, is not logged in.
    attacker.set_cookie(COOKIE, planted, domain="wikibridge.test")
    response = attacker.get("/queues")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # Nor can they finish the handshake a second time (the callback is one use only).
    again = attacker.get("/oauth-callback?oauth_token=rk&oauth_verifier=v")
    assert again.status_code == 400
    assert attacker.get("/queues").status_code == 302


def test_a_planted_cookie_before_the_login_start_is_replaced(
    app: Flask,
    stand_in_wiki: None,  # noqa: F811
):
    """Planted before the victim even starts the login: the start and the end renew it."""
    attacker = app.test_client()
    attacker.get("/login")
    planted = _cookie(attacker)
    victim = app.test_client()
    victim.set_cookie(COOKIE, planted, domain="wikibridge.test")
    _start_login(victim)
    assert victim.get("/oauth-callback?oauth_token=rk&oauth_verifier=v").status_code == 302
    attacker.set_cookie(COOKIE, planted, domain="wikibridge.test")
    assert attacker.get("/queues").status_code == 302


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient, stand_in_wiki):  # noqa: F811
    """A copy of the cookie taken while logged in opens nothing after the logout."""
    _start_login(client)
    client.get("/oauth-callback?oauth_token=rk&oauth_verifier=v")
    copy = _cookie(client)
    client.get("/queues")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie(COOKIE, copy, domain="wikibridge.test")
    assert thief.get("/queues").status_code == 302
