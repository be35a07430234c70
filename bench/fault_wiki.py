"""Tagging batches for the fault bench: the sandbox Commons, one batch per fault, and the count.

The desk's worker processes edit the sandbox Commons (:mod:`bench.tagging`'s
sandbox, as the bot). Before the load starts, each wiki fault gets its own
set of files, uploaded or reset to untagged, and each file's latest revision
is noted. A fault queues a ``confirm`` batch of those files on a ticket of
its own, the way the web does, and breaks something while it runs.

Afterwards three sources are compared: the wiki's own ``api.php`` (every
revision after the reset: exactly one, by the bot, carrying the ticket, is
"tagged once"; more is "doubled"), the desk's page actions and batch state
(done, or waiting to be resumed), and the ticket's history (one ``done``
entry per page, none missing or repeated).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import create_engine, select

from bench.tagging import sandbox
from wikibridge_sandbox.wikis import SandboxState

FAMILY = "faultsbench"
REQUESTED_BY = "FaultsBench"
#: Page outcomes that end a page action (wikibridge.wiki.batches.FINAL).
FINAL = ("done", "skipped", "conflict", "failed", "cancelled")
#: Batch states another worker (or a volunteer) resumes from.
RESUMABLE = ("queued", "paused", "stopped")


@dataclass
class WikiSide:
    """The sandbox Commons as the bench uses it, and the files of each wiki fault."""

    state: SandboxState
    env: dict[str, str]
    titles: dict[str, list[str]] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)  # title -> latest revid after reset

    @property
    def api_url(self) -> str:
        """The sandbox Commons' api.php."""
        return self.state.commons.api_url

    @property
    def bot(self) -> str:
        """The user name the bot's edits carry."""
        return self.state.bot.username


def prepare(
    state_dir: Path,
    port_base: int | None,
    workdir: Path,
    files: dict[str, int],
    *,
    lease_seconds: float,
    retry_seconds: float,
) -> WikiSide:
    """Start the sandbox, reset ``files`` (prefix -> count) to untagged; the settings to edit it.

    The returned ``env`` is what the desk's processes need: the wiki, the
    bot's password, no put throttle, and a short batch lease and retry delay
    so the bench sees a resume within minutes.
    """
    from wikibridge_sandbox.family import write_family_file
    from wikibridge_sandbox.seed import AdminSession, upload_many

    state = sandbox(state_dir, port_base)
    commons = state.commons
    family = write_family_file(
        workdir / "families" / f"{FAMILY}_family.py",
        FAMILY,
        {"commons": (urlsplit(commons.url).netloc, "")},
    )
    wikis = {
        "commons": {
            "family": FAMILY,
            "code": "commons",
            "api_url": commons.api_url,
            "article_url": f"{commons.url}/wiki/",
        }
    }
    env = {
        "WIKIBRIDGE_WIKIS": json.dumps(wikis),
        "WIKIBRIDGE_PYWIKIBOT_FAMILY_FILES": json.dumps({FAMILY: str(family)}),
        "WIKIBRIDGE_BOT_USERNAME": state.bot.login_name,
        "WIKIBRIDGE_BOT_PASSWORD": state.bot.botpassword,
        "WIKIBRIDGE_WIKI_PUT_THROTTLE": "0",
        "WIKIBRIDGE_WIKI_LEASE_SECONDS": f"{lease_seconds:g}",
        "WIKIBRIDGE_WIKI_RETRY_SECONDS": f"{retry_seconds:g}",
    }
    side = WikiSide(state, env)
    with AdminSession(commons.api_url) as admin:
        admin.login(state.admin.username, state.admin.password)
        for prefix, count in files.items():
            side.titles[prefix] = upload_many(admin, prefix, count)
    for titles in side.titles.values():
        side.before.update(latest_revisions(side.api_url, titles))
    return side


def _query(http: requests.Session, api_url: str, **params: Any) -> dict[str, Any]:
    response = http.post(
        api_url, data={"format": "json", "formatversion": "2", **params}, timeout=60
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def latest_revisions(api_url: str, titles: Sequence[str]) -> dict[str, int]:
    """Each title's latest revision id, read 50 titles a request."""
    found: dict[str, int] = {}
    with requests.Session() as http:
        http.trust_env = False
        for start in range(0, len(titles), 50):
            body = _query(
                http,
                api_url,
                action="query",
                prop="revisions",
                rvprop="ids",
                titles="|".join(titles[start : start + 50]),
            )
            for page in body["query"]["pages"]:
                found[page["title"]] = int(page["revisions"][0]["revid"])
    return found


@dataclass
class PageOnWiki:
    """What the wiki holds of one page since the reset."""

    edits: int  # revisions after the reset
    ours: int  # of them, by the bot and naming the ticket in the summary
    tagged: bool  # the latest text carries the ticket


def pages_on_wiki(side: WikiSide, titles: Sequence[str], number: str) -> dict[str, PageOnWiki]:
    """Every revision of ``titles`` after the reset, from api.php (one title a request)."""
    tag = f"{{{{PermissionTicket|id={number}}}}}"
    pages = {}
    with requests.Session() as http:
        http.trust_env = False
        for title in titles:
            body = _query(
                http,
                side.api_url,
                action="query",
                prop="revisions",
                titles=title,
                rvprop="ids|user|comment|content",
                rvslots="main",
                rvlimit="50",
            )
            revisions = body["query"]["pages"][0].get("revisions", [])
            newer = [r for r in revisions if int(r["revid"]) > side.before[title]]
            latest = newer[0]["slots"]["main"]["content"] if newer else ""
            pages[title] = PageOnWiki(
                edits=len(newer),
                ours=sum(1 for r in newer if r["user"] == side.bot and number in r["comment"]),
                tagged=tag in latest,
            )
    return pages


# --- the desk's side ------------------------------------------------------------


def start_batch(
    database_url: str, workdir: Path, env: dict[str, str], titles: Sequence[str], subject: str
) -> tuple[int, str]:
    """A new ticket, its pages linked and a bot ``confirm`` batch queued; (batch id, number).

    Queued on the desk's own job queue (``env``: its ``JOBS_URL`` and
    ``JOBS_NAME``), so one of its worker processes runs it.
    """
    from bench.apps import bench_app
    from bench.tagging import new_ticket
    from tickets.models import PageLink, Ticket
    from wikibridge.db import new_session
    from wikibridge.jobs import jobs_of
    from wikibridge.wiki.batches import create_batch

    app = bench_app(
        database_url,
        workdir,
        JOBS_URL=env["WIKIBRIDGE_JOBS_URL"],
        JOBS_NAME=env["WIKIBRIDGE_JOBS_NAME"],
        WORKER_IN_PROCESS=False,
        WIKIS=json.loads(env["WIKIBRIDGE_WIKIS"]),
    )
    try:
        number = new_ticket(app, subject)
        with new_session(app) as db:
            ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
            links = [
                PageLink(ticket=ticket, wiki="commons", title=title, linked_by=REQUESTED_BY)
                for title in titles
            ]
            db.add_all(links)
            db.flush()
            (batch,) = create_batch(db, ticket, links, "confirm", REQUESTED_BY, None, as_bot=True)
            db.commit()
            batch_id = batch.id
        jobs_of(app).wiki_batch(batch_id)
    finally:
        app.extensions["db_engine"].dispose()
    return batch_id, number


@dataclass
class BatchNow:
    """A batch as the database has it now."""

    status: str
    lease_owner: str
    pages: Counter[str]

    @property
    def finished(self) -> int:
        """Pages with an outcome."""
        return sum(n for status, n in self.pages.items() if status in FINAL)

    @property
    def owner_pid(self) -> int | None:
        """The process holding the lease (``host:pid:run``)."""
        parts = self.lease_owner.split(":")
        return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def batch_now(database_url: str, batch_id: int) -> BatchNow:
    """Read the batch's state and its pages' outcomes."""
    from tickets.models import PageAction, WikiBatch

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            status, owner = conn.execute(
                select(WikiBatch.status, WikiBatch.lease_owner).where(WikiBatch.id == batch_id)
            ).one()
            pages = Counter(
                conn.scalars(select(PageAction.status).where(PageAction.batch_id == batch_id))
            )
    finally:
        engine.dispose()
    return BatchNow(status, owner or "", pages)


def wait_for_pages(
    database_url: str, batch_id: int, at_least: int, seconds: float
) -> tuple[BatchNow, float | None]:
    """Until ``at_least`` pages have an outcome (or the batch ended); the state and when."""
    deadline = time.monotonic() + seconds
    now = batch_now(database_url, batch_id)
    while time.monotonic() < deadline:
        if now.finished >= at_least or now.status in ("done", "cancelled"):
            return now, time.monotonic()
        time.sleep(0.25)
        now = batch_now(database_url, batch_id)
    return now, None


def wait_until_ended(database_url: str, batch_id: int, seconds: float) -> BatchNow:
    """Until the batch is done (or cancelled), at most ``seconds``; its state then."""
    return wait_for_pages(database_url, batch_id, 10**9, seconds)[0]


def history_of(database_url: str, number: str) -> dict[str, list[str]]:
    """Per page, the statuses the ticket's history recorded for its ``confirm``, in order."""
    from tickets.models import History, Ticket

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(History.detail)
                .join(Ticket, Ticket.id == History.ticket_id)
                .where(Ticket.number == number, History.kind == "wiki-confirm")
                .order_by(History.id)
            ).all()
    finally:
        engine.dispose()
    seen: dict[str, list[str]] = {}
    for (detail,) in rows:
        seen.setdefault(str(detail.get("page")), []).append(str(detail.get("status")))
    return seen


@dataclass
class BatchCount:
    """One wiki fault's batch, counted against the wiki and the ticket."""

    pages: int
    status: str
    tagged_once: int
    doubled: int  # pages the bot edited more than once
    untagged: int  # pages without the ticket after a finished batch (lost)
    left: int  # pages not yet done in a batch that waits to be resumed
    history_ok: int  # pages whose history says "done" exactly once and nothing else
    outcomes: dict[str, int]

    @property
    def verdict(self) -> str:
        """The batch in words: finished, resumable or neither."""
        if self.status == "done":
            return "finished"
        if self.status in RESUMABLE:
            return f"resumable ({self.status}, {self.left} pages left)"
        return f"{self.status} (neither finished nor resumable)"


def count_batch(side: WikiSide, database_url: str, batch_id: int, number: str) -> BatchCount:
    """Compare the wiki, the page actions and the history of one batch."""
    from tickets.models import PageAction, PageLink

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            actions = dict(
                conn.execute(
                    select(PageLink.title, PageAction.status)
                    .join(PageLink, PageLink.id == PageAction.link_id)
                    .where(PageAction.batch_id == batch_id)
                ).all()
            )
    finally:
        engine.dispose()
    now = batch_now(database_url, batch_id)
    wiki = pages_on_wiki(side, list(actions), number)
    history = history_of(database_url, number)
    finished = now.status == "done"
    return BatchCount(
        pages=len(actions),
        status=now.status,
        tagged_once=sum(1 for p in wiki.values() if p.edits == 1 and p.ours == 1 and p.tagged),
        doubled=sum(1 for p in wiki.values() if p.ours > 1),
        untagged=sum(1 for p in wiki.values() if not p.tagged) if finished else 0,
        left=sum(1 for s in actions.values() if s not in FINAL),
        history_ok=sum(1 for t, s in actions.items() if s == "done" and history.get(t) == ["done"]),
        outcomes=dict(Counter(actions.values())),
    )
