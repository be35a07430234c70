"""Whose name an edit is made under: the volunteer's OAuth login, or the desk's bot."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from tickets.models import WikiBatch
from wikibridge.crypto import TokenBox, TokenBoxError
from wikibridge.sessions import LoginSession
from wikibridge.wiki.pwb import Credentials, WikiTarget

REVOKED = (
    "the wiki no longer accepts your login (it may have expired or been revoked): "
    "log in again and the edits left will resume"
)


class NeedsLogin(Exception):
    """The volunteer's wiki credentials are gone; they must log in again."""


def bot_configured(config: dict[str, Any]) -> bool:
    """Whether a bot account is set up for edits made on the desk's behalf."""
    return bool(config.get("BOT_USERNAME") and config.get("BOT_PASSWORD"))


def credentials_for(app: Flask, db: Session, batch: WikiBatch) -> Credentials:
    """The credentials ``batch`` runs with; :class:`NeedsLogin` when the login has ended."""
    if batch.as_bot:
        if not bot_configured(app.config):
            raise RuntimeError("no bot account is configured (BOT_USERNAME, BOT_PASSWORD)")
        user, _, suffix = str(app.config["BOT_USERNAME"]).partition("@")
        return Credentials(
            username=user, password=str(app.config["BOT_PASSWORD"]), password_suffix=suffix
        )
    login = db.get(LoginSession, batch.login_session_id) if batch.login_session_id else None
    if login is None or login.credentials is None:
        raise NeedsLogin("your login has ended: log in again and the edits left will resume")
    try:
        sealed = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).open(login.credentials)
    except TokenBoxError as exc:
        raise NeedsLogin(str(exc)) from exc
    if sealed.get("version") == "2":
        return Credentials(username=login.username, bearer=sealed["access_token"])
    return Credentials(
        username=login.username,
        consumer_key=app.config["OAUTH_CONSUMER_KEY"],
        consumer_secret=app.config["OAUTH_CONSUMER_SECRET"],
        token_key=sealed["key"],
        token_secret=sealed["secret"],
    )


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
