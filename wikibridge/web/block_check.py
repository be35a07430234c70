"""Ending the login of a volunteer blocked on the wiki, while they work.

The desk refuses a blocked account at login, but a login lasts hours
(``SESSION_LIFETIME_HOURS``). So while a volunteer uses the desk, the login
wiki is asked again every ``BLOCK_CHECK_SECONDS`` (300 by default; 0 turns
it off), at most once per interval for each login whatever the number of
requests; a sitewide block ends the login at once, and the login page says
why. The batch runner checks before it edits (``wikibridge.wiki.batches``).
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, session
from flask_babel import gettext
from sqlalchemy import or_, update

from tickets.models import utcnow
from wikibridge import db
from wikibridge import sessions as login_sessions
from wikibridge.sessions import LoginSession
from wikibridge.wiki.blocks import BlockCheckFailed, login_wiki, sitewide_block

log = logging.getLogger(__name__)

BLOCKED = "blocked:"
"""Prefix of ``LoginSession.ended_because`` for a login ended by a block, then the wiki."""

_NOTICE = "ended_because"


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value  # SQLite: naive


def blocked_now(login: LoginSession) -> bool:
    """Check the volunteer's block when due; end the login and return True if blocked."""
    cfg = current_app.config
    interval = dt.timedelta(seconds=float(cfg.get("BLOCK_CHECK_SECONDS", 300)))
    if interval <= dt.timedelta(0):
        return False
    now = utcnow()
    due = login.block_check_due or login.created_at + interval
    if _aware(due) > now:
        return False
    retry = dt.timedelta(seconds=float(cfg.get("BLOCK_CHECK_RETRY_SECONDS", 60)))
    dbs = db.session()
    # One request of this login asks the wiki; those arriving meanwhile go on.
    claimed = dbs.execute(
        update(LoginSession)
        .where(
            LoginSession.id == login.id,
            or_(LoginSession.block_check_due.is_(None), LoginSession.block_check_due <= now),
        )
        .values(block_check_due=now + retry)
        .execution_options(synchronize_session=False)
    )
    dbs.commit()
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    wiki, api_url = login_wiki(cfg)
    try:
        block = sitewide_block(wiki, api_url, login.username)
    except BlockCheckFailed as exc:
        # Fail open while the wiki cannot be asked (tried again after
        # BLOCK_CHECK_RETRY_SECONDS): a wiki outage must not log every
        # volunteer out, and whatever a volunteer does on the wiki goes
        # through the wiki, which enforces its blocks itself.
        log.warning("block check of %s on %s failed: %s", login.username, wiki, exc)
        return False
    if block is None:
        login.block_check_due = now + interval
        dbs.commit()
        return False
    log.info("%s is blocked on %s: ending their login", login.username, wiki)
    login_sessions.end(login, BLOCKED + wiki)
    dbs.commit()
    remember_ending(login.ended_because or "", login.username)
    return True


def remember_ending(because: str, username: str) -> None:
    """Keep why the desk ended this browser's login, for the login page; forget the login."""
    session.pop("sid", None)
    session[_NOTICE] = [because, username]


def logout_notice() -> str | None:
    """Why the desk ended this browser's login, in words (once), or None."""
    ended = session.pop(_NOTICE, None)
    if not ended:
        return None
    because, username = ended
    if str(because).startswith(BLOCKED):
        return gettext(
            "Your account %(user)s is blocked on %(wiki)s; you have been logged out.",
            user=username,
            wiki=str(because)[len(BLOCKED) :],
        )
    return None
