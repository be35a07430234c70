"""Carrying out a volunteer's request to edit a linked wiki page."""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import Flask
from sqlalchemy.orm import Session

from tickets.models import PageAction
from tickets.tickets import record
from wikibridge.crypto import TokenBox, TokenBoxError
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge.wiki.pwb import Credentials, WikiTarget, site_as
from wikibridge.wiki.wikitext import add_permission_template

log = logging.getLogger(__name__)

TAG_PERMISSION = "tag-permission"
REVOKED = (
    "the wiki no longer accepts your login (it may have expired or been revoked): "
    "log in again and repeat the action"
)


class NeedsLogin(Exception):
    """The volunteer's wiki credentials are gone; they must log in again."""


def _credentials(app: Flask, db: Session, action: PageAction) -> Credentials:
    login = db.get(LoginSession, action.login_session_id) if action.login_session_id else None
    if login is None or login.credentials is None:
        raise NeedsLogin("your login has ended: log in again and repeat the action")
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


def _target(app: Flask, wiki: str) -> WikiTarget:
    conf: dict[str, Any] = app.config["WIKIS"][wiki]
    return WikiTarget(family=conf["family"], code=conf["code"], api_url=conf["api_url"])


def _finish(db: Session, action: PageAction, status: str, message: str, **detail: Any) -> str:
    action.status = status
    action.message = message
    link = action.link
    record(
        db,
        link.ticket,
        f"wiki-{action.kind}",
        action.requested_by,
        wiki=link.wiki,
        page=link.title,
        status=status,
        message=message,
        **detail,
    )
    db.commit()
    return status


def run_page_action(app: Flask, action_id: int) -> str:
    """Do one queued page action and record its outcome on the ticket."""
    import pywikibot.exceptions as pwb_errors

    with new_session(app) as db:
        action = db.get(PageAction, action_id)
        if action is None:
            raise LookupError(f"no page action {action_id}")
        if action.status in ("done", "skipped"):
            return action.status  # a redelivered job must not edit twice
        action.status = "running"
        db.commit()
        link = action.link
        try:
            creds = _credentials(app, db, action)
        except NeedsLogin as exc:
            return _finish(db, action, "needs-login", str(exc))
        try:
            with site_as(
                _target(app, link.wiki),
                creds,
                app.config["PYWIKIBOT_FAMILY_FILES"],
                app.instance_path,
            ) as site:
                page = pywikibot_page(site, link.title)
                result = add_permission_template(
                    page.text,
                    link.ticket.number,
                    app.config["PERMISSION_TEMPLATE"],
                    app.config.get("PERMISSION_TEMPLATE_ALIASES", ()),
                )
                if not result.changed:
                    if link.ticket.number in result.existing:
                        return _finish(db, action, "skipped", "the page already cites this ticket")
                    return _finish(
                        db,
                        action,
                        "conflict",
                        "the page already cites ticket(s) " + ", ".join(result.existing),
                    )
                page.text = result.text
                page.save(
                    summary=f"Permission ticket [[ticket:{link.ticket.number}]] (wikibridge)",
                    minor=False,
                    bot=False,
                )
                action.revision = page.latest_revision_id
                return _finish(
                    db, action, "done", "tagged", revision=action.revision, user=creds.username
                )
        except (pwb_errors.ServerError, TimeoutError, requests.ConnectionError):
            # The wiki is unreachable or overloaded: leave it queued for huey's retry.
            action.status = "queued"
            action.message = "the wiki did not answer; trying again shortly"
            db.commit()
            raise
        except pwb_errors.NoUsernameError:
            # pywikibot's word for "the wiki did not accept the OAuth token".
            return _finish(db, action, "needs-login", REVOKED)
        except pwb_errors.APIError as exc:
            if exc.code.startswith("mwoauth"):
                return _finish(db, action, "needs-login", REVOKED)
            log.info("page action %s refused by the wiki: %s", action_id, exc)
            return _finish(db, action, "failed", f"the wiki refused the edit: {exc.info}")
        except pwb_errors.Error as exc:
            log.info("page action %s refused by the wiki: %s", action_id, exc)
            return _finish(db, action, "failed", f"the wiki refused the edit: {exc}")
        except Exception:
            log.exception("page action %s failed", action_id)
            db.rollback()
            return _finish(
                db, action, "failed", "an internal error stopped the edit; the admins can see why"
            )


def pywikibot_page(site: Any, title: str) -> Any:
    """A ``pywikibot.FilePage`` (or ``Page``) for ``title`` on ``site``."""
    import pywikibot

    page = pywikibot.Page(site, title)
    return pywikibot.FilePage(site, title) if page.namespace() == 6 else page
