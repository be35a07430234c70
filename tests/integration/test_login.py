"""Logging in to the desk with a sandbox wiki account, and editing as that account."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.conftest import make_test_app
from tests.helpers import new_ticket
from tickets.access import ALL_RIGHTS, grant, volunteer_named
from tickets.models import PageAction, PageLink, Volunteer
from tickets.queues import queue_by_name
from wikibridge.crypto import TokenBox
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge_sandbox.appconfig import app_settings

pytestmark = pytest.mark.integration


def desk(tmp_path: Path, database_url: str, provider: Any, version: str = "1") -> Flask:
    settings = app_settings(provider.sandbox, provider.url, provider.consumers, version)
    # The sandbox consumer takes callbacks under http://127.0.0.1:
    app = make_test_app(tmp_path, database_url, SERVER_NAME="127.0.0.1:5999", **settings)
    with new_session(app) as db:
        queue = queue_by_name(db, "Permissions")
        assert queue is not None
        grant(db, volunteer_named(db, "Carol Example"), queue, ALL_RIGHTS, "test")
        db.commit()
    return app


def password_of(provider: Any, username: str) -> str:
    return next(v.password for v in provider.sandbox.volunteers if v.username == username)


def start_login(client: Any, next_value: str = "/queues") -> str:
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    response = client.post("/login", data={"csrf_token": csrf, "next": next_value})
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"])


def callback_path(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == "/oauth-callback"
    return f"{parts.path}?{parts.query}"


def log_in(client: Any, provider: Any, username: str, next_value: str = "/queues") -> Any:
    authorize = start_login(client, next_value)
    location = provider.approve(authorize, username, password_of(provider, username))
    return client.get(callback_path(location))


@pytest.mark.parametrize(
    "next_value",
    ["/\t/evil.example/phish", "/\\evil.example", "/%2F/evil.example", "/\r\n/queues\r\nX: y"],
)
def test_login_ends_on_this_site(tmp_path, database_url, oauth_provider, next_value):
    """The probe's open redirect (issue 10): allowed at the wiki, and still home here."""
    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    response = log_in(client, oauth_provider, "Carol Example", next_value)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/queues", location
    assert client.get("/queues").status_code == 200


@pytest.mark.parametrize("version", ["1", "2"])
def test_login_stores_sealed_token(tmp_path, database_url, oauth_provider, version):
    app = desk(tmp_path, database_url, oauth_provider, version)
    client = app.test_client()
    response = log_in(client, oauth_provider, "Carol Example")
    assert response.status_code == 302 and response.headers["Location"] == "/queues"
    assert client.get("/queues").status_code == 200
    with new_session(app) as db:
        volunteer = db.scalars(select(Volunteer).where(Volunteer.last_login_at.is_not(None))).one()
        assert volunteer.username == "Carol Example"
        row = db.scalars(select(LoginSession).where(LoginSession.volunteer_id.is_not(None))).one()
        assert row.credentials is not None
        sealed = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).open(row.credentials)
        assert sealed["version"] == version


def test_blocked_volunteer_refused(tmp_path, database_url, oauth_provider):
    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    response = log_in(client, oauth_provider, "Mallory")
    assert response.status_code == 403
    assert "is blocked" in response.get_data(as_text=True)
    assert client.get("/queues").status_code == 302
    with new_session(app) as db:
        assert db.scalars(select(Volunteer).where(Volunteer.username == "Mallory")).first() is None


def test_oauth2_state_mismatch_refused(tmp_path, database_url, oauth_provider):
    app = desk(tmp_path, database_url, oauth_provider, "2")
    client = app.test_client()
    location = oauth_provider.approve(
        start_login(client), "Alice", password_of(oauth_provider, "Alice")
    )
    forged = callback_path(location).replace("state=", "state=forged")
    response = client.get(forged)
    assert response.status_code == 403
    assert "does not belong to the login you started" in response.get_data(as_text=True)
    assert client.get("/queues").status_code == 302


def test_oauth1_callback_token_mismatch_and_replay_refused(tmp_path, database_url, oauth_provider):
    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    location = oauth_provider.approve(
        start_login(client), "Alice", password_of(oauth_provider, "Alice")
    )
    path = callback_path(location)
    assert client.get(path.replace("oauth_token=", "oauth_token=x")).status_code == 403
    # The pending login is used up: even the genuine callback cannot be replayed.
    assert client.get(path).status_code == 400
    other = app.test_client()  # a browser that never started this login
    assert other.get(path).status_code == 400


def tag(app: Flask, client: Any, number: str, title: str) -> PageAction:
    with client.session_transaction() as s:
        csrf = s.setdefault("csrf", "t")
    client.post(f"/tickets/{number}/links", data={"csrf_token": csrf, "page": title})
    with new_session(app) as db:
        link = db.scalars(select(PageLink).where(PageLink.title == title)).one()
        link_id = link.id
    client.post(
        f"/tickets/{number}/wiki/batches",
        data={"csrf_token": csrf, "link": str(link_id), "kind": "confirm"},
    )
    with new_session(app) as db:
        action = db.scalars(select(PageAction).where(PageAction.link_id == link_id)).one()
        db.expunge(action)
        return action


def wiki_text_and_user(provider: Any, title: str) -> tuple[str, str]:
    data = requests.get(
        provider.sandbox.wikis["commons"].api_url,
        params={
            "action": "query",
            "prop": "revisions",
            "titles": title,
            "rvprop": "content|user",
            "rvslots": "main",
            "format": "json",
            "formatversion": "2",
        },
        timeout=30,
    ).json()
    revision = data["query"]["pages"][0]["revisions"][0]
    return revision["slots"]["main"]["content"], revision["user"]


def fresh_page(provider: Any, name: str) -> str:
    """A new file description page made by the bot, untagged."""
    import mwclient

    commons = provider.sandbox.wikis["commons"]
    site = mwclient.Site(commons.url.removeprefix("http://"), scheme="http", path="/")
    site.login(provider.sandbox.bot.login_name, provider.sandbox.bot.botpassword)
    title = f"File:{name}"
    site.pages[title].edit("A test page.\n[[Category:Tests]]\n", summary="test page")
    return title


def test_revoked_token_asks_to_log_in_again(tmp_path, database_url, oauth_provider):
    import secrets

    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    log_in(client, oauth_provider, "Carol Example")
    title = fresh_page(oauth_provider, f"Revoked {secrets.token_hex(4)}.png")
    oauth_provider.revoke("Carol Example")
    action = tag(app, client, new_ticket(app), title)
    assert action.status == "needs-login", action.message
    assert "log in again" in action.message
    text, user = wiki_text_and_user(oauth_provider, title)
    assert "PermissionTicket" not in text and user == "WikibridgeBot"


def test_two_volunteers_in_one_worker_keep_their_names(tmp_path, database_url, oauth_provider):
    """pywikibot's config is process-wide: concurrent jobs must not swap identities."""
    import secrets

    app = desk(tmp_path, database_url, oauth_provider)
    clients = {name: app.test_client() for name in ("Alice", "Carol Example")}
    for name, client in clients.items():
        log_in(client, oauth_provider, name)
    number = new_ticket(app)
    titles = {
        name: fresh_page(oauth_provider, f"Pair {secrets.token_hex(4)}.png") for name in clients
    }
    results: dict[str, PageAction] = {}

    def run(name: str) -> None:
        results[name] = tag(app, clients[name], number, titles[name])

    threads = [threading.Thread(target=run, args=(name,)) for name in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, title in titles.items():
        assert results[name].status == "done", results[name].message
        text, user = wiki_text_and_user(oauth_provider, title)
        assert f"{{{{PermissionTicket|id={number}}}}}" in text
        assert user == name


def test_protected_page_refusal_is_explained(tmp_path, database_url, oauth_provider):
    import secrets

    import mwclient

    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    log_in(client, oauth_provider, "Alice")
    title = fresh_page(oauth_provider, f"Protected {secrets.token_hex(4)}.png")
    commons = oauth_provider.sandbox.wikis["commons"]
    site = mwclient.Site(commons.url.removeprefix("http://"), scheme="http", path="/")
    site.login(oauth_provider.sandbox.bot.login_name, oauth_provider.sandbox.bot.botpassword)
    site.post(
        "protect",
        title=title,
        protections="edit=sysop",
        expiry="infinite",
        reason="test",
        token=site.get_token("csrf"),
    )
    number = new_ticket(app)
    action = tag(app, client, number, title)
    assert action.status == "failed"
    assert "the page is protected" in action.message
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "failed" in zoom
    text, _user = wiki_text_and_user(oauth_provider, title)
    assert "PermissionTicket" not in text


def _set_wiki_language(provider: Any, username: str, language: str) -> None:
    import mwclient

    volunteer = next(v for v in provider.sandbox.volunteers if v.username == username)
    meta = provider.sandbox.wikis["meta"]
    site = mwclient.Site(meta.url.removeprefix("http://"), scheme="http", path="/")
    # Preferences need a full login (bot passwords cannot edit them).
    site.clientlogin(username=volunteer.username, password=volunteer.password)
    site.post("options", change=f"language={language}", token=site.get_token("csrf"))


def test_interface_language_follows_the_wiki_preference(tmp_path, database_url, oauth_provider):
    app = desk(tmp_path, database_url, oauth_provider)
    with new_session(app) as db:
        queue = queue_by_name(db, "Info")
        assert queue is not None
        grant(db, volunteer_named(db, "Bob"), queue, ALL_RIGHTS, "test")
        db.commit()
    _set_wiki_language(oauth_provider, "Bob", "de")
    try:
        client = app.test_client()
        assert log_in(client, oauth_provider, "Bob").status_code == 302
        assert "Alle meine Queues" in client.get("/queues").get_data(as_text=True)
    finally:
        _set_wiki_language(oauth_provider, "Bob", "en")
    other = app.test_client()
    log_in(other, oauth_provider, "Carol Example")
    assert "All my queues" in other.get("/queues").get_data(as_text=True)
