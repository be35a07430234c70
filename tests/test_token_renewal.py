"""Renewing a volunteer's OAuth 2 token for a batch: stored, shared, refused (no wiki here).

The wiki's answers are faked at :func:`oauth.mediawiki2.refresh`; the real
provider's are in tests/integration/test_token_refresh.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from flask import Flask

from oauth import HandshakeError, mediawiki2
from tickets.models import WikiBatch, utcnow
from wikibridge import sessions
from wikibridge.crypto import TokenBox
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge.wiki import credentials
from wikibridge.wiki.credentials import (
    REFRESH_REFUSED,
    NeedsLogin,
    RefreshUnavailable,
    credentials_for,
    renew,
)


def oauth2_login(app: Flask, *, expires_at: float, hours: float = 12) -> str:
    """A login session holding an OAuth 2 pair (AT-0, RT-0); its id."""
    with new_session(app) as db:
        _, row = sessions.start(db, dt.timedelta(hours=hours))
        row.username = "Carol"
        row.oauth_version = "2"
        row.credentials = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).seal(
            {
                "version": "2",
                "access_token": "AT-0",
                "refresh_token": "RT-0",
                "expires_at": expires_at,
            }
        )
        db.commit()
        return row.id


def stored(app: Flask, login: str) -> dict[str, Any]:
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None and row.credentials is not None
        return TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).open(row.credentials)


class FakeWiki:
    """Answers refreshes: each good refresh token is spent and replaced (counted)."""

    def __init__(self) -> None:
        self.live = {"RT-0"}
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.down = False

    def refresh(self, rest_url: str, client_id: str, refresh_token: str, **_: Any) -> Any:
        time.sleep(0.05)  # long enough for a second job to arrive meanwhile
        with self.lock:
            self.calls.append(refresh_token)
            if self.down:
                raise HandshakeError("unreachable", code="unreachable")
            if refresh_token not in self.live:
                raise HandshakeError("refused", code="invalid_grant")
            self.live.discard(refresh_token)
            n = len(self.calls)
            self.live.add(f"RT-{n}")
            return mediawiki2.OAuth2Token(
                access_token=f"AT-{n}", refresh_token=f"RT-{n}", expires_at=time.time() + 3600
            )


@pytest.fixture
def wiki(monkeypatch: pytest.MonkeyPatch) -> FakeWiki:
    fake = FakeWiki()
    monkeypatch.setattr(credentials.mediawiki2, "refresh", fake.refresh)
    return fake


def batch_of(login: str) -> WikiBatch:
    return WikiBatch(login_session_id=login, as_bot=False)


def test_renewal_stores_the_rotated_pair(app, wiki):
    login = oauth2_login(app, expires_at=time.time() + 3600)
    with new_session(app) as db:
        creds = renew(app, db, batch_of(login), "AT-0")
    assert creds.bearer == "AT-1"
    assert stored(app, login) | {"expires_at": 0} == {
        "version": "2",
        "access_token": "AT-1",
        "refresh_token": "RT-1",
        "expires_at": 0,
    }


def test_token_about_to_expire_is_renewed_before_use(app, wiki):
    login = oauth2_login(app, expires_at=time.time() + 30)  # within the margin
    with new_session(app) as db:
        assert credentials_for(app, db, batch_of(login)).bearer == "AT-1"
    assert wiki.calls == ["RT-0"]
    with new_session(app) as db:  # the new one is good for an hour: used as it is
        assert credentials_for(app, db, batch_of(login)).bearer == "AT-1"
    assert wiki.calls == ["RT-0"]


def test_two_jobs_of_one_login_renew_it_once(app, wiki):
    login = oauth2_login(app, expires_at=time.time() + 3600)
    got: list[str] = []

    def job() -> None:
        with new_session(app) as db:
            got.append(renew(app, db, batch_of(login), "AT-0").bearer)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The second found the pair the first stored, instead of spending RT-0 again.
    assert wiki.calls == ["RT-0"]
    assert got == ["AT-1", "AT-1"]


def test_refused_renewal_asks_to_log_in_again(app, wiki):
    login = oauth2_login(app, expires_at=time.time() + 3600)
    wiki.live.clear()  # revoked on the wiki
    with new_session(app) as db, pytest.raises(NeedsLogin) as info:
        renew(app, db, batch_of(login), "AT-0")
    assert str(info.value) == REFRESH_REFUSED
    assert stored(app, login)["access_token"] == "AT-0"  # nothing half-stored


def test_wiki_that_does_not_answer_is_not_a_lost_login(app, wiki):
    login = oauth2_login(app, expires_at=time.time() + 3600)
    wiki.down = True
    with new_session(app) as db, pytest.raises(RefreshUnavailable):
        renew(app, db, batch_of(login), "AT-0")
    assert stored(app, login)["refresh_token"] == "RT-0"


def test_no_renewal_past_the_desks_login(app, wiki):
    login = oauth2_login(app, expires_at=time.time() - 10)
    with new_session(app) as db:
        row = db.get(LoginSession, login)
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.commit()
    with new_session(app) as db, pytest.raises(NeedsLogin):
        credentials_for(app, db, batch_of(login))
    assert wiki.calls == []
