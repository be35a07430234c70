"""Whose name an edit is made under: the volunteer's OAuth login, or the desk's bot.

An OAuth 2 access token lives an hour at Extension:OAuth's defaults, a
login on the desk 12 hours: the token is renewed with its refresh token when
it is about to expire or the wiki refuses it, and the rotated pair is sealed
back into the login session. Only a refused refresh asks the volunteer to
log in again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from oauth import HandshakeError, mediawiki2
from tickets.models import utcnow
from wikibridge.crypto import TokenBox, TokenBoxError
from wikibridge.sessions import LoginSession
from wikibridge.wiki.pwb import Credentials, WikiTarget

log = logging.getLogger(__name__)

REVOKED = (
    "the wiki no longer accepts your login (it may have expired or been revoked): "
    "log in again and the edits left will resume"
)
REFRESH_REFUSED = (
    "the wiki refused to renew your login (it may have been revoked): "
    "log in again and the edits left will resume"
)
#: Renew an access token this many seconds before the wiki says it expires.
REFRESH_MARGIN = 60.0

# Refresh tokens are good once: two threads of one worker renewing the same
# login would spend it twice, and the second would lose the login. Across
# processes the row lock (SELECT … FOR UPDATE, PostgreSQL) does the same.
_REFRESH_LOCK = threading.Lock()


class Edits(Protocol):
    """Work that edits a wiki as someone: a tagging batch, a page write."""

    @property
    def as_bot(self) -> bool:
        """Edit as the configured bot instead of the volunteer."""

    @property
    def login_session_id(self) -> str | None:
        """The volunteer's login whose OAuth credentials edit."""


class NeedsLogin(Exception):
    """The volunteer's wiki credentials are gone; they must log in again."""


class RefreshUnavailable(Exception):
    """The wiki did not answer a token refresh: try again later, nothing is lost."""


def bot_configured(config: dict[str, Any]) -> bool:
    """Whether a bot account is set up for edits made on the desk's behalf."""
    return bool(config.get("BOT_USERNAME") and config.get("BOT_PASSWORD"))


def _box(app: Flask) -> TokenBox:
    return TokenBox(app.config["TOKEN_ENCRYPTION_KEY"])


def _live_login(db: Session, batch: Edits) -> LoginSession:
    login = db.get(LoginSession, batch.login_session_id) if batch.login_session_id else None
    if login is None or login.credentials is None:
        raise NeedsLogin("your login has ended: log in again and the edits left will resume")
    expires = login.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes
        expires = expires.replace(tzinfo=dt.UTC)
    if expires <= utcnow():
        # A refresh token would outlive the desk's login: the login decides.
        raise NeedsLogin("your login has ended: log in again and the edits left will resume")
    return login


def _open(app: Flask, login: LoginSession) -> dict[str, Any]:
    assert login.credentials is not None
    try:
        return _box(app).open(login.credentials)
    except TokenBoxError as exc:
        raise NeedsLogin(str(exc)) from exc


def credentials_for(app: Flask, db: Session, batch: Edits) -> Credentials:
    """The credentials ``batch`` runs with; :class:`NeedsLogin` when the login has ended.

    An OAuth 2 access token about to expire is renewed first (see :func:`renew`).
    """
    if batch.as_bot:
        if not bot_configured(app.config):
            raise RuntimeError("no bot account is configured (BOT_USERNAME, BOT_PASSWORD)")
        user, _, suffix = str(app.config["BOT_USERNAME"]).partition("@")
        return Credentials(
            username=user, password=str(app.config["BOT_PASSWORD"]), password_suffix=suffix
        )
    login = _live_login(db, batch)
    sealed = _open(app, login)
    if sealed.get("version") == "2":
        if mediawiki2.expiring(sealed.get("expires_at"), margin=REFRESH_MARGIN):
            return renew(app, db, batch, sealed["access_token"])
        return Credentials(username=login.username, bearer=sealed["access_token"])
    return Credentials(
        username=login.username,
        consumer_key=app.config["OAUTH_CONSUMER_KEY"],
        consumer_secret=app.config["OAUTH_CONSUMER_SECRET"],
        token_key=sealed["key"],
        token_secret=sealed["secret"],
    )


def renewable(creds: Credentials) -> bool:
    """Whether credentials the wiki refused may be renewed (an OAuth 2 token) or not."""
    return bool(creds.bearer)


def renew(app: Flask, db: Session, batch: Edits, refused_token: str) -> Credentials:
    """Renew the OAuth 2 access token of ``batch``'s login; store and return the new one.

    :param refused_token: the access token the wiki refused (or that is about
        to expire). If the login already holds another one, someone renewed it
        meanwhile and that one is used.
    :raises NeedsLogin: if the wiki refuses the refresh token (revoked, used,
        expired): the volunteer must log in again.
    :raises RefreshUnavailable: if the wiki did not answer.
    """
    with _REFRESH_LOCK:
        login = db.execute(
            select(LoginSession)
            .where(LoginSession.id == batch.login_session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if login is None or login.credentials is None:
            db.rollback()
            raise NeedsLogin("your login has ended: log in again and the edits left will resume")
        sealed = _open(app, login)
        if sealed.get("access_token") != refused_token:
            db.commit()  # another job renewed it: take theirs
            return Credentials(username=login.username, bearer=sealed["access_token"])
        refresh_token = sealed.get("refresh_token")
        if not refresh_token:
            db.rollback()
            raise NeedsLogin(REVOKED)
        try:
            token = mediawiki2.refresh(
                app.config["OAUTH_REST_URL"],
                app.config["OAUTH_CONSUMER_KEY"],
                refresh_token,
                client_secret=app.config["OAUTH_CONSUMER_SECRET"] or None,
            )
        except HandshakeError as exc:
            db.rollback()
            if exc.code == "unreachable":
                raise RefreshUnavailable(exc.message) from exc
            log.info("refresh of %s's token refused: %s", login.username, exc.detail)
            raise NeedsLogin(REFRESH_REFUSED) from exc
        login.credentials = _box(app).seal(
            {
                **sealed,
                "access_token": token.access_token,
                # The wiki rotates refresh tokens; keep the old one if it did not.
                "refresh_token": token.refresh_token or refresh_token,
                "expires_at": token.expires_at,
            }
        )
        db.commit()
        return Credentials(username=login.username, bearer=token.access_token)


def target_for(app: Flask, wiki: str, as_bot: bool = False) -> WikiTarget:
    """Where pywikibot finds ``wiki``; the bot may log in at another address (the sandbox's)."""
    conf: dict[str, Any] = app.config["WIKIS"][wiki]
    if as_bot:
        return WikiTarget(
            family=conf.get("bot_family", conf["family"]),
            code=conf.get("bot_code", conf["code"]),
            api_url=conf.get("bot_api_url", conf["api_url"]),
        )
    return WikiTarget(family=conf["family"], code=conf["code"], api_url=conf["api_url"])
