"""Helpers for the tagging tests: the sandbox wiki as an admin sees it, and batches run here."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from tickets.models import History, PageAction, PageLink, Ticket, WikiBatch
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge.wiki.batches import create_batch, run_batch
from wikibridge_sandbox.seed import AdminSession

NO_PERMISSION = "{{No permission since|day=1|month=November|year=2026}}"


def unique(prefix: str) -> str:
    """A title part no other test run uses."""
    return f"{prefix} {secrets.token_hex(4)}"


class Wiki:
    """The sandbox Commons through its own api.php, logged in as its admin."""

    def __init__(self, api_url: str, username: str, password: str) -> None:
        self.api_url = api_url
        self.session = AdminSession(api_url)
        self.session.login(username, password)

    def close(self) -> None:
        self.session.close()

    def post(self, **params: Any) -> dict[str, Any]:
        return self.session.call("POST", token=self.session.csrf_token(), **params)

    def get(self, **params: Any) -> dict[str, Any]:
        return self.session.call("GET", **params)

    def create(self, title: str, text: str) -> int:
        """Create (or replace) a page; its new revision id."""
        result = self.post(action="edit", title=title, text=text, summary="tagging test page")
        return int(result["edit"].get("newrevid") or result["edit"]["pageid"])

    def files(self, prefix: str, texts: Sequence[str]) -> list[str]:
        """New file description pages (no file behind them), one per text."""
        titles = [f"File:{unique(prefix)}.png" for _ in texts]
        for title, text in zip(titles, texts, strict=True):
            self.create(title, text)
        return titles

    def revisions(self, title: str, limit: int = 50) -> list[dict[str, Any]]:
        """The page's revisions, newest first (content included); [] when missing."""
        data = self.get(
            action="query",
            prop="revisions",
            titles=title,
            rvprop="ids|user|comment|content|timestamp",
            rvslots="main",
            rvlimit=str(limit),
        )
        page = data["query"]["pages"][0]
        return list(page.get("revisions", []))

    def text(self, title: str) -> str:
        return str(self.revisions(title, 1)[0]["slots"]["main"]["content"])

    def latest(self, title: str) -> dict[str, Any]:
        return self.revisions(title, 1)[0]

    def recent_change(self, revid: int) -> dict[str, Any]:
        """The recent changes entry of a revision (it says whether it is a bot edit)."""
        data = self.get(
            action="query",
            list="recentchanges",
            rcprop="user|comment|flags|ids",
            rclimit="500",
            rctype="edit|new",
        )
        for change in data["query"]["recentchanges"]:
            if change.get("revid") == revid:
                return dict(change)
        raise AssertionError(f"revision {revid} is not in the recent changes")


@dataclass
class Outcome:
    """A page's action as recorded after a run."""

    title: str
    status: str
    message: str
    revision: int | None
    base_revision: int | None


def login_id(app: Flask, username: str) -> str:
    """The id of ``username``'s newest login session holding wiki credentials."""
    with new_session(app) as db:
        row = db.scalars(
            select(LoginSession)
            .where(LoginSession.username == username, LoginSession.credentials.is_not(None))
            .order_by(LoginSession.created_at.desc())
        ).first()
        assert row is not None, f"{username} is not logged in"
        return str(row.id)


def link(app: Flask, number: str, titles: Sequence[str], wiki: str = "commons") -> list[int]:
    """Link pages to the ticket (as the desk does when a volunteer types them)."""
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        ids = []
        for title in titles:
            found = db.scalars(
                select(PageLink).where(
                    PageLink.ticket_id == ticket.id,
                    PageLink.wiki == wiki,
                    PageLink.title == title,
                )
            ).first()
            if found is None:
                found = PageLink(ticket=ticket, wiki=wiki, title=title, linked_by="test")
                db.add(found)
                db.flush()
            ids.append(found.id)
        db.commit()
        return ids


def new_batch(
    app: Flask,
    number: str,
    titles: Sequence[str],
    kind: str,
    username: str,
    login: str | None,
    *,
    as_bot: bool = False,
    licence: str = "",
    undo_of: Sequence[int] = (),
) -> int:
    """Queue a batch on ``titles`` (or undo the actions ``undo_of``); its id."""
    link_ids = link(app, number, titles) if titles else []
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        links = [db.get(PageLink, i) for i in link_ids]
        actions = [db.get(PageAction, i) for i in undo_of]
        batches = create_batch(
            db,
            ticket,
            [x for x in links if x is not None],
            kind,
            username,
            login,
            as_bot=as_bot,
            licence=licence,
            undo_of=[a for a in actions if a is not None],
        )
        db.commit()
        assert len(batches) == 1
        return batches[0].id


def outcomes(app: Flask, batch_id: int) -> dict[str, Outcome]:
    """The batch's page outcomes by title."""
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        return {
            a.link.title: Outcome(a.link.title, a.status, a.message, a.revision, a.base_revision)
            for a in batch.actions
        }


def batch_row(app: Flask, batch_id: int) -> tuple[str, str]:
    """The batch's status and message."""
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        return batch.status, batch.message


def action_ids(app: Flask, batch_id: int) -> dict[str, int]:
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        return {a.link.title: a.id for a in batch.actions}


def history(app: Flask, number: str, kind: str) -> list[dict[str, Any]]:
    """The ticket's history entries of ``kind`` (their details)."""
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        rows = db.scalars(
            select(History)
            .where(History.ticket_id == ticket.id, History.kind == kind)
            .order_by(History.id)
        ).all()
        return [dict(r.detail or {}) for r in rows]


def tag_now(
    app: Flask,
    number: str,
    titles: Sequence[str],
    username: str,
    login: str | None,
    kind: str = "confirm",
    *,
    before_edit: Callable[[PageAction], None] | None = None,
    **options: Any,
) -> tuple[str, dict[str, Outcome], int]:
    """Queue and run a batch here; its status, page outcomes and id."""
    batch_id = new_batch(app, number, titles, kind, username, login, **options)
    status = run_batch(app, batch_id, before_edit=before_edit)
    return status, outcomes(app, batch_id), batch_id


@contextmanager
def counting_requests() -> Iterator[list[str]]:
    """Record each HTTP request pywikibot sends (its method and URL)."""
    from pywikibot.comms import http

    sent: list[str] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        body = response.request.body or b""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        sent.append(f"{response.request.method} {response.request.url} {body[:200]}")

    hooks = http.session.hooks["response"]
    hooks.append(hook)
    try:
        yield sent
    finally:
        hooks.remove(hook)


@contextmanager
def pywikibot_config(**values: Any) -> Iterator[None]:
    """Set pywikibot config values for a while."""
    from pywikibot import config

    saved = {name: getattr(config, name) for name in values}
    for name, value in values.items():
        setattr(config, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(config, name, value)
