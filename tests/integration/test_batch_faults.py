"""Wiki batches when things go wrong around them, against the sandbox wiki.

Two runners on one batch (a lease that ran out while its runner waited), a
runner waiting for another job's edits, and a wiki whose OAuth setup refuses
every signed request with "Nonce already used". Titles are fresh per run;
every switch is undone in ``finally``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from tests.helpers import new_ticket
from tests.integration.tagging_helpers import (
    NO_PERMISSION,
    Wiki,
    batch_row,
    history,
    login_id,
    new_batch,
    outcomes,
)
from tests.integration.test_login import desk, log_in
from tickets.models import PageAction, WikiBatch, utcnow
from wikibridge.db import new_session
from wikibridge.wiki.batches import lease_of, run_batch, stalled

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def wiki(sandbox: Any) -> Iterator[Wiki]:
    """The sandbox Commons, as its admin."""
    admin = Wiki(sandbox.commons.api_url, sandbox.admin.username, sandbox.admin.password)
    yield admin
    admin.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, oauth_provider: Any) -> Iterator[Flask]:
    """A desk on the sandbox with Alice logged in (her OAuth token edits)."""
    app = desk(tmp_path, database_url, oauth_provider)
    assert log_in(app.test_client(), oauth_provider, "Alice").status_code == 302
    app.config["WIKI_PUT_THROTTLE"] = 0
    yield app
    app.extensions["db_engine"].dispose()


def page_text() -> str:
    return f"== Summary ==\nA test file.\n{NO_PERMISSION}\n[[Category:Tagging tests]]\n"


def expire_lease(app: Flask, batch_id: int) -> None:
    """What time does to a runner that waits too long: its lease runs out."""
    with new_session(app) as db:
        db.execute(
            update(WikiBatch)
            .where(WikiBatch.id == batch_id)
            .values(lease_until=utcnow() - lease_of(app))
        )
        db.commit()


def naive(moment: dt.datetime) -> dt.datetime:
    """UTC without its zone (SQLite gives stored times back without one)."""
    return moment.replace(tzinfo=None)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def test_a_runner_that_lost_its_lease_overwrites_nothing(app, wiki):
    """Runner A stalls with its lease run out; the sweep hands the batch to B.

    B tags both pages and ends the batch "done"; then A wakes up, saves its
    page (the wiki has nothing left to change) and wants to record "skipped":
    refused, since the lease is B's. The outcomes are B's.
    """
    titles = wiki.files("Lease race", [page_text()] * 2)
    number = new_ticket(app)
    batch = new_batch(app, number, titles, "confirm", "Alice", login_id(app, "Alice"))
    second_runner: list[str] = []

    def stall_then_hand_over(action: PageAction) -> None:
        if second_runner:
            return
        expire_lease(app, batch)
        with new_session(app) as db:
            assert stalled(db, lease_of(app)) == [batch]
        # Runner B, as a worker would run it after the sweep (in this thread:
        # pywikibot's lock is re-entrant, so A does not block it).
        second_runner.append(run_batch(app, batch))

    first = run_batch(app, batch, before_edit=stall_then_hand_over)

    assert second_runner == ["done"]
    assert first == "lost"
    assert batch_row(app, batch) == ("done", "")
    pages = outcomes(app, batch)
    assert {p.status for p in pages.values()} == {"done"}, pages
    entries = history(app, number, "wiki-confirm")
    assert sorted((e["page"], e["status"]) for e in entries) == sorted((t, "done") for t in titles)
    for title in titles:
        alices = [r for r in wiki.revisions(title) if r["user"] == "Alice"]
        assert len(alices) == 1, (title, alices)
        assert alices[0]["revid"] == pages[title].revision


def test_the_database_going_away_mid_batch_queues_it_again_and_edits_nothing_twice(app, wiki):
    """A PostgreSQL restart between a page's edit and its record (found by bench/faults.py).

    The batch is neither stopped for an admin nor its page "failed": it goes
    back to "queued" for the job's retry, which finds its own edit on the
    page and records it, so every page carries one edit and one "done".
    """
    from sqlalchemy import event

    from wikibridge.db import DatabaseUnavailable

    titles = wiki.files("Database away", [page_text()] * 3)
    before = {t: wiki.latest(t)["revid"] for t in titles}
    number = new_ticket(app)
    batch = new_batch(app, number, titles, "confirm", "Alice", login_id(app, "Alice"))
    engine = app.extensions["db_engine"]
    dbapi = engine.dialect.loaded_dbapi
    sqlite = engine.url.get_backend_name() == "sqlite"
    armed: list[str] = []

    def database_goes_after_the_edit(action: PageAction) -> None:
        if not armed:
            armed.append(action.link.title)

    def refuse_once(*_args: Any) -> None:
        if armed and armed[-1] != "fired":
            armed.append("fired")
            raise dbapi.OperationalError(
                "database is locked" if sqlite else "server closed the connection unexpectedly"
            )

    event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        with pytest.raises(DatabaseUnavailable):
            run_batch(app, batch, before_edit=database_goes_after_the_edit)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_once)
    status, message = batch_row(app, batch)
    assert status == "queued" and "database went away" in message
    assert outcomes(app, batch)[armed[0]].status == "running"  # edited, not recorded

    assert run_batch(app, batch) == "done"
    pages = outcomes(app, batch)
    assert {p.status for p in pages.values()} == {"done"}, pages
    assert "recovered" in pages[armed[0]].message
    entries = history(app, number, "wiki-confirm")
    assert sorted((e["page"], e["status"]) for e in entries) == sorted((t, "done") for t in titles)
    for title in titles:
        newer = [r for r in wiki.revisions(title) if r["revid"] > before[title]]
        assert [r["user"] for r in newer] == ["Alice"], (title, newer)


def test_waiting_for_another_jobs_edits_keeps_the_lease(app, wiki):
    from wikibridge.wiki.pwb import _IDENTITY_LOCK

    app.config["WIKI_LEASE_SECONDS"] = 6  # renewed every 2 s while it waits
    (title,) = wiki.files("Lock wait", [page_text()])
    batch = new_batch(app, new_ticket(app), [title], "confirm", "Alice", login_id(app, "Alice"))

    def lease() -> Any:
        with new_session(app) as db:
            row = db.get(WikiBatch, batch)
            assert row is not None
            return row.lease_until, row.status

    result: list[str] = []
    _IDENTITY_LOCK.acquire()  # another job of this worker edits meanwhile
    try:
        runner = threading.Thread(target=lambda: result.append(run_batch(app, batch)))
        runner.start()
        wait_for(lambda: lease()[1] == "running", "the runner to claim the batch")
        first_lease = naive(lease()[0])
        # Outlive the first lease: a runner that did not renew would be swept.
        ran_out = first_lease + dt.timedelta(seconds=1)
        wait_for(lambda: naive(utcnow()) > ran_out, "the first lease to run out")
        with new_session(app) as db:
            assert stalled(db, lease_of(app)) == []
        assert naive(lease()[0]) > first_lease
    finally:
        _IDENTITY_LOCK.release()
    runner.join(120)
    assert result == ["done"]
    assert outcomes(app, batch)[title].status == "done"


def test_a_wiki_that_refuses_every_nonce_stops_the_command_in_words(app, wiki, oauth_provider):
    """The real Extension:OAuth with $wgMWOAuthCentralWiki set to the wiki itself."""
    from wikibridge.wiki.cli import wiki_cli
    from wikibridge_sandbox.oauth_provider_api import nonce_switch

    (title,) = wiki.files("Nonce", [page_text()])
    before = wiki.latest(title)["revid"]
    number = new_ticket(app)
    switch = nonce_switch(oauth_provider.sandbox.dir)
    switch.parent.mkdir(exist_ok=True)
    switch.write_text("Alice\n")
    try:
        result = app.test_cli_runner().invoke(wiki_cli, ["tag", number, title, "--user", "Alice"])
    finally:
        switch.unlink(missing_ok=True)

    assert result.exit_code == 75, result.output
    assert "The wiki refused our signed request: Nonce already used" in result.stderr
    assert "$wgMWOAuthCentralWiki" in result.stderr
    with new_session(app) as db:
        row = db.query(WikiBatch).one()
        status, message, batch = row.status, row.message, row.id
    assert status == "stopped" and "an administrator should check it" in message
    assert outcomes(app, batch)[title].status == "queued"  # kept for a resume
    assert wiki.latest(title)["revid"] == before
    assert [e["message"] for e in history(app, number, "wiki-stopped")] == [message]
