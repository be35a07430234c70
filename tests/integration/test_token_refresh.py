"""OAuth 2 access tokens last an hour; the desk's login lasts 12: refresh when needed.

Against the sandbox provider, which states the extension's lifetimes; a
test makes a token expire in the provider (or in the desk's own record of
it) instead of waiting an hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from oauth import mediawiki2 as mw2
from tests.helpers import new_ticket
from tests.integration.tagging_helpers import NO_PERMISSION, Wiki, login_id, tag_now
from tests.integration.test_login import desk, log_in
from wikibridge.crypto import TokenBox
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wiki(sandbox: Any) -> Iterator[Wiki]:
    """The sandbox Commons, as its admin."""
    admin = Wiki(sandbox.commons.api_url, sandbox.admin.username, sandbox.admin.password)
    yield admin
    admin.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, oauth_provider: Any) -> Iterator[Flask]:
    """A desk logging in over OAuth 2, with Carol logged in."""
    app = desk(tmp_path, database_url, oauth_provider, "2")
    app.config["WIKI_PUT_THROTTLE"] = 0
    assert log_in(app.test_client(), oauth_provider, "Carol Example").status_code == 302
    yield app
    app.extensions["db_engine"].dispose()


def sealed(app: Flask, login: str) -> dict[str, Any]:
    """The wiki credentials the login session holds, opened."""
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None and row.credentials is not None
        return TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).open(row.credentials)


def reseal(app: Flask, login: str, **changes: Any) -> None:
    """Change what the desk believes about its tokens (e.g. when they expire)."""
    box = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"])
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None and row.credentials is not None
        row.credentials = box.seal({**box.open(row.credentials), **changes})
        db.commit()


def page_text() -> str:
    return f"== Summary ==\nA test file.\n{NO_PERMISSION}\n[[Category:Tagging tests]]\n"


def test_token_expired_at_the_wiki_is_refreshed_and_the_batch_goes_on(app, wiki, oauth_provider):
    login = login_id(app, "Carol Example")
    before = sealed(app, login)
    titles = wiki.files("Refresh", [page_text()] * 2)
    number = new_ticket(app)
    # An hour has passed for the wiki; the desk does not know it yet.
    assert oauth_provider.expire("Carol Example") >= 1

    status, pages, _ = tag_now(app, number, titles, "Carol Example", login)

    assert status == "done", pages
    assert {p.status for p in pages.values()} == {"done"}, pages
    for title in titles:
        assert wiki.latest(title)["user"] == "Carol Example"
    after = sealed(app, login)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] and after["refresh_token"] != before["refresh_token"]
    assert after["expires_at"] >= before["expires_at"]  # whole seconds
    # What the session holds is the live pair: the wiki knows the new token.
    rest = app.config["OAUTH_REST_URL"]
    assert mw2.profile(rest, after["access_token"]).username == "Carol Example"


def test_token_the_desk_knows_expired_is_refreshed_before_use(app, wiki):
    login = login_id(app, "Carol Example")
    before = sealed(app, login)
    reseal(app, login, expires_at=before["expires_at"] - 3600)
    (title,) = wiki.files("Refresh early", [page_text()])

    status, pages, _ = tag_now(app, new_ticket(app), [title], "Carol Example", login)

    assert status == "done" and pages[title].status == "done", pages
    after = sealed(app, login)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]


def test_refused_refresh_pauses_the_batch(app, wiki, oauth_provider):
    login = login_id(app, "Carol Example")
    (title,) = wiki.files("Refresh refused", [page_text()])
    before = wiki.latest(title)["revid"]
    # Revoked in the provider: the access token and its refresh token die.
    assert oauth_provider.revoke("Carol Example") >= 1

    status, pages, _ = tag_now(app, new_ticket(app), [title], "Carol Example", login)

    assert status == "paused"
    assert pages[title].status == "needs-login", pages
    assert "log in again" in pages[title].message
    assert wiki.latest(title)["revid"] == before
