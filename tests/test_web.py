"""Pages, sessions and CSRF, through Flask's test client."""

from __future__ import annotations

import re

from sqlalchemy import select

from tickets.models import History, PageLink
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession

from .helpers import log_in, new_ticket


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_pages_need_login(client, app):
    number = new_ticket(app)
    for path in [
        "/queues",
        "/queues/Info",
        f"/tickets/{number}",
        f"/tickets/{number}/wiki/progress.json",
    ]:
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_login_page_explains_and_has_csrf(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Log in with your wiki account" in page
    assert re.search(r'name="csrf_token" value="[^"]+"', page)


def test_post_without_csrf_refused(client, app):
    log_in(app, client)
    number = new_ticket(app)
    response = client.post(f"/tickets/{number}/links", data={"page": "File:X.png"})
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    with new_session(app) as db:
        assert db.scalars(select(PageLink)).first() is None
    assert client.post("/logout").status_code == 400


def test_queue_view_and_zoom(client, app):
    log_in(app, client)
    number = new_ticket(app)
    page = client.get("/queues").get_data(as_text=True)
    assert "Tickets: 1-1 of 1 - Page:" in page
    assert number in page
    page = client.get("/queues/Permissions").get_data(as_text=True)
    assert "Tickets: 1-1 of 1 - Page:" in page
    assert "Tickets: 0-0 of 0" in client.get("/queues/Junk").get_data(as_text=True)
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    for label in ["From", "To", "Subject", "Created", "State", "Priority", "Queue", "Age"]:
        assert f"<dt>{label}</dt>" in zoom
    assert "3 normal" in zoom and "Permissions" in zoom and "0 minutes" in zoom
    assert client.get("/tickets/2016060210016939").status_code == 404


def test_pagination_summary(client, app):
    app.config["TICKETS_PER_PAGE"] = 2
    log_in(app, client)
    for n in range(5):
        new_ticket(
            app,
            subject=f"Question {n}",
            to="info@wikimedia.org",
            body="Hello, how do I correct a mistake in an article about my town?",
        )
    page = client.get("/queues/Info?page=2").get_data(as_text=True)
    assert "Tickets: 3-4 of 5 - Page:" in page


def test_link_page_by_title_and_url(client, app):
    log_in(app, client)
    number = new_ticket(app)
    form = {"csrf_token": "test-csrf", "wiki": "commons"}
    client.post(f"/tickets/{number}/links", data={**form, "page": "file:harbour_at_dawn.jpg"})
    client.post(
        f"/tickets/{number}/links",
        data={**form, "page": "https://commons.wikimedia.org/wiki/File:Harbour_at_dawn.jpg"},
    )
    bad = client.post(
        f"/tickets/{number}/links",
        data={**form, "page": "https://evil.example/wiki/File:X.jpg"},
        follow_redirects=True,
    )
    assert "not a page of a wiki this desk works with" in bad.get_data(as_text=True)
    with new_session(app) as db:
        links = db.scalars(select(PageLink)).all()
        assert [(link.wiki, link.title) for link in links] == [
            ("commons", "File:Harbour at dawn.jpg")
        ]
        kinds = [h.kind for h in db.scalars(select(History))]
        assert "page-linked" in kinds


def test_tokens_encrypted_at_rest_and_forgotten_on_logout(client, app):
    token = log_in(app, client)
    with new_session(app) as db:
        row = db.scalars(select(LoginSession)).one()
        assert row.credentials is not None
        assert b"access-secret" not in row.credentials
        assert row.id != token  # only a hash of the cookie is stored
    cookie = client.get_cookie("session", domain="wikibridge.test")
    assert cookie is not None and cookie.http_only
    assert "access-secret" not in cookie.value
    assert client.post("/logout", data={"csrf_token": "test-csrf"}).status_code == 302
    with new_session(app) as db:
        row = db.scalars(select(LoginSession)).one()
        assert row.credentials is None and row.ended_at is not None
    assert client.get("/queues").status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_callback_without_pending_login_refused(client):
    response = client.get("/oauth-callback?oauth_token=x&oauth_verifier=y")
    assert response.status_code == 400
    assert "does not belong to a login" in response.get_data(as_text=True)
