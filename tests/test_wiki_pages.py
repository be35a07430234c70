"""The ticket's wiki pages on the desk, without a wiki: suggestions, batches, undo, progress."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.models import History, PageAction, PageLink, WikiBatch, utcnow
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session
from wikibridge.wiki.batches import claim, lease_of, progress, stalled

from .conftest import make_test_app
from .helpers import log_in, new_ticket

CSRF = "test-csrf"
BODY = (
    "I took the photos File:Harbour at dawn.jpg and "
    "https://commons.wikimedia.org/wiki/File:Old_mill.png and release them under CC BY-SA 4.0."
)


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued, not run: these tests look at what the desk records."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def linked(app: Flask, client, number: str, *titles: str) -> list[int]:
    client.post(f"/tickets/{number}/links", data={"csrf_token": CSRF, "page": "\n".join(titles)})
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        return [link.id for link in ticket.page_links]


def queued_batch(app: Flask, *titles: str) -> tuple[FlaskClient, str, int]:
    """Alice's logged-in client, a new ticket, and a confirm batch of ``titles``."""
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    ids = linked(app, client, number, *titles)
    client.post(
        f"/tickets/{number}/wiki/batches",
        data={"csrf_token": CSRF, "link": [str(i) for i in ids], "kind": "confirm"},
    )
    with new_session(app) as db:
        return client, number, db.scalars(select(WikiBatch.id)).one()


def test_files_named_in_the_mail_are_suggested_and_linked(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app, body=BODY)
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Named in the mail" in zoom
    assert "File:Harbour at dawn.jpg" in zoom and "File:Old mill.png" in zoom
    response = client.post(
        f"/tickets/{number}/links",
        data={
            "csrf_token": CSRF,
            "suggested": [
                "https://commons.wikimedia.org/wiki/File:Harbour_at_dawn.jpg",
                "https://commons.wikimedia.org/wiki/File:Old_mill.png",
            ],
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    # The wiki is unreachable in tests: the links are kept, their state unread.
    assert "Could not read commons" in page and "not read yet" in page
    with new_session(app) as db:
        links = db.scalars(select(PageLink).order_by(PageLink.id)).all()
        assert [(link.title, link.source) for link in links] == [
            ("File:Harbour at dawn.jpg", "suggested"),
            ("File:Old mill.png", "suggested"),
        ]
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Named in the mail" not in zoom
    assert 'value="CC-BY-SA-4.0"' in zoom  # the statement's licence is offered


def test_several_titles_link_at_once_and_bad_ones_are_explained(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    response = client.post(
        f"/tickets/{number}/links",
        data={"csrf_token": CSRF, "page": "File:A.jpg\nFile:B.jpg\nFile:{bad}.jpg\nFile:A.jpg"},
        follow_redirects=True,
    )
    assert "is not a valid page title" in response.get_data(as_text=True)
    assert len(linked(app, client, number)) == 2


def test_a_batch_is_queued_with_one_action_per_page_and_reports_progress(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    ids = linked(app, client, number, "File:A.jpg", "File:B.jpg")
    response = client.post(
        f"/tickets/{number}/wiki/batches",
        data={"csrf_token": CSRF, "link": [str(i) for i in ids], "kind": "confirm"},
    )
    assert response.status_code == 302 and "#batch-" in response.headers["Location"]
    data = client.get(f"/tickets/{number}/wiki/progress.json").get_json()
    (batch,) = data["batches"]
    assert (batch["status"], batch["total"], batch["left"], batch["done"]) == ("queued", 2, 2, 0)
    assert [p["page"] for p in batch["pages"]] == ["File:A.jpg", "File:B.jpg"]
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert '<progress max="2" value="0">' in zoom


def test_requests_that_cannot_be_carried_out_are_refused(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    ids = linked(app, client, number, "File:A.jpg")
    url = f"/tickets/{number}/wiki/batches"
    assert client.post(url, data={"csrf_token": CSRF, "kind": "confirm"}).status_code == 400
    bad_kind = {"csrf_token": CSRF, "link": str(ids[0]), "kind": "delete"}
    assert client.post(url, data=bad_kind).status_code == 400
    bad_licence = {"csrf_token": CSRF, "link": str(ids[0]), "licence": "MIT"}
    assert client.post(url, data=bad_licence).status_code == 400
    no_bot = {"csrf_token": CSRF, "link": str(ids[0]), "as_bot": "1"}
    assert client.post(url, data=no_bot).status_code == 400
    without_csrf = {"link": str(ids[0]), "kind": "confirm"}
    assert client.post(url, data=without_csrf).status_code == 400  # the CSRF check
    with new_session(app) as db:
        assert db.scalars(select(WikiBatch)).all() == []


def test_preview_with_the_wiki_away_saves_nothing(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    ids = linked(app, client, number, "File:A.jpg")
    response = client.post(
        f"/tickets/{number}/wiki/preview",
        data={"csrf_token": CSRF, "link": str(ids[0]), "kind": "confirm"},
        follow_redirects=True,
    )
    assert "Could not read commons" in response.get_data(as_text=True)
    with new_session(app) as db:
        assert db.scalars(select(WikiBatch)).all() == []


def test_undo_needs_an_edit_of_ours(app: Flask):
    client = app.test_client()
    log_in(app, client)
    number = new_ticket(app)
    ids = linked(app, client, number, "File:A.jpg")
    client.post(
        f"/tickets/{number}/wiki/batches",
        data={"csrf_token": CSRF, "link": str(ids[0]), "kind": "confirm"},
    )
    with new_session(app) as db:
        action = db.scalars(select(PageAction)).one()
        action_id, batch_id = action.id, action.batch_id
    response = client.post(
        f"/tickets/{number}/wiki/actions/{action_id}/undo",
        data={"csrf_token": CSRF},
        follow_redirects=True,
    )
    assert "Nothing to undo" in response.get_data(as_text=True)
    with new_session(app) as db:
        made = db.get(PageAction, action_id)
        assert made is not None
        made.status, made.revision = "done", 42
        db.commit()
    client.post(f"/tickets/{number}/wiki/batches/{batch_id}/undo", data={"csrf_token": CSRF})
    with new_session(app) as db:
        undone = db.scalars(select(PageAction).where(PageAction.kind == "undo")).one()
        assert undone.undo_of_id == action_id and undone.status == "queued"
    # A second undo of the same edit is not queued twice.
    response = client.post(
        f"/tickets/{number}/wiki/batches/{batch_id}/undo",
        data={"csrf_token": CSRF},
        follow_redirects=True,
    )
    assert "Nothing to undo" in response.get_data(as_text=True)


def test_a_batch_runs_in_one_worker_at_a_time_and_a_dead_workers_batch_is_found(app: Flask):
    _, _, batch_id = queued_batch(app, "File:A.jpg")
    with new_session(app) as db:
        assert claim(db, batch_id) is True
        assert claim(db, batch_id) is False  # the lease is live
        assert stalled(db) == []
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        batch.lease_until = utcnow() - dt.timedelta(seconds=1)  # its worker died
        db.commit()
        assert stalled(db) == [batch_id]
        assert claim(db, batch_id) is True
        assert progress(batch).left == 1


def test_the_lease_is_a_setting(app: Flask):
    app.config["WIKI_LEASE_SECONDS"] = 5
    assert lease_of(app) == dt.timedelta(seconds=5)
    _, _, batch_id = queued_batch(app, "File:A.jpg")
    with new_session(app) as db:
        before = utcnow().replace(tzinfo=None)
        assert claim(db, batch_id, lease_of(app)) is True
        after = utcnow().replace(tzinfo=None)
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None and batch.lease_until is not None
        # Bounded by the clock read around the claim, however long the claim took.
        until = batch.lease_until.replace(tzinfo=None)
        lease = dt.timedelta(seconds=5)
        assert before + lease <= until <= after + lease


def test_admins_list_the_batches_that_wait(app: Flask):
    from wikibridge.cli import cli

    _, number, batch_id = queued_batch(app, "File:A.jpg", "File:B.jpg")
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        batch.status, batch.message = "stopped", "the bot could not log in:\nwrong password"
        batch.actions[0].status = "done"
        db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["wiki", "batches"])
    assert result.exit_code == 0, result.output
    fields = result.output.rstrip("\n").split("\t")
    assert fields[:7] == [str(batch_id), number, "commons", "confirm", "stopped", "Alice", "1/2"]
    assert fields[8] == "the bot could not log in: wrong password"
    assert runner.invoke(cli, ["wiki", "batches", "--status", "paused"]).output == ""
    assert runner.invoke(cli, ["wiki", "batches", "--ticket", number]).output == result.output
    missing = runner.invoke(cli, ["wiki", "batches", "--ticket", "1"])
    assert missing.exit_code != 0 and "no ticket 1" in missing.output


def test_a_waiting_batch_is_cancelled_and_a_running_one_is_not(app: Flask):
    from wikibridge.cli import cli

    client, number, batch_id = queued_batch(app, "File:A.jpg", "File:B.jpg", "File:C.jpg")
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        batch.actions[0].status, batch.actions[0].revision = "done", 7
        batch.status = "running"
        db.commit()
    url = f"/tickets/{number}/wiki/batches/{batch_id}/cancel"
    refused = client.post(url, data={"csrf_token": CSRF}, follow_redirects=True)
    assert "The batch is running" in refused.get_data(as_text=True)
    runner = app.test_cli_runner()
    busy = runner.invoke(cli, ["wiki", "cancel", str(batch_id)])
    assert busy.exit_code == 1 and "is running" in busy.output

    with new_session(app) as db:
        waiting = db.get(WikiBatch, batch_id)
        assert waiting is not None
        waiting.status = "paused"  # e.g. the volunteer's token was revoked
        db.commit()
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Cancel the pages left" in zoom
    done = client.post(url, data={"csrf_token": CSRF}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Cancelled 2 pages; edits already made stay." in page
    assert "2 cancelled" in page.replace('<b class="n">', "").replace("</b>", "")
    with new_session(app) as db:
        ended = db.get(WikiBatch, batch_id)
        assert ended is not None and ended.status == "cancelled"
        assert ended.message == "cancelled by Alice"
        assert [a.status for a in ended.actions] == ["done", "cancelled", "cancelled"]
        p = progress(ended)
        assert (p.done, p.cancelled, p.left, p.total) == (1, 2, 0, 3)
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        history = db.scalars(select(History).where(History.ticket_id == ticket.id))
        entries = [h for h in history if h.detail.get("status") == "cancelled"]
        assert len(entries) == 2 and entries[0].actor == "Alice"
    # Nothing is left to cancel, nothing was deleted, and no worker takes it up.
    again = runner.invoke(cli, ["wiki", "cancel", str(batch_id)])
    assert again.exit_code == 1
    with new_session(app) as db:
        assert claim(db, batch_id) is False and stalled(db) == []
        assert len(db.get(WikiBatch, batch_id).actions) == 3  # type: ignore[union-attr]
    json = client.get(f"/tickets/{number}/wiki/progress.json").get_json()
    assert json["batches"][0]["cancelled"] == 2
    assert json["batches"][0]["status"] == "cancelled"


def test_a_cancelled_batch_is_shown_and_listed_as_cancelled(app: Flask):
    from wikibridge.cli import cli

    client, number, batch_id = queued_batch(app, "File:A.jpg", "File:B.jpg")
    client.post(f"/tickets/{number}/wiki/batches/{batch_id}/cancel", data={"csrf_token": CSRF})
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert '<span class="batch-status">cancelled</span>' in zoom
    german = client.get(f"/tickets/{number}", headers={"Accept-Language": "de"})
    assert '<span class="batch-status">abgebrochen</span>' in german.get_data(as_text=True)

    runner = app.test_cli_runner()
    listed = runner.invoke(cli, ["wiki", "batches"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.split("\t")[4] == "cancelled"
    only = runner.invoke(cli, ["wiki", "batches", "--status", "cancelled"])
    assert only.output == listed.output
    assert runner.invoke(cli, ["wiki", "batches", "--status", "done"]).output == ""
    resumed = runner.invoke(cli, ["wiki", "resume", str(batch_id)])
    assert resumed.exit_code == 1 and "is cancelled: nothing to resume" in resumed.output


def test_only_the_runner_holding_the_lease_renews_it(app: Flask):
    """A runner whose lease ran out cannot renew it once another runner took the batch."""
    from sqlalchemy import update

    from wikibridge.wiki.batches import renew

    _, _, batch_id = queued_batch(app, "File:A.jpg")
    lease = dt.timedelta(seconds=60)
    with new_session(app) as db:
        assert claim(db, batch_id, lease, "host:1:a") is True
        assert claim(db, batch_id, lease, "host:2:b") is False  # A's lease is live
        assert renew(db, batch_id, "host:1:a", lease) is True
        db.commit()
        # A stalls (it waits for the wiki lock); its lease runs out; the sweep
        # finds the batch and B takes it.
        db.execute(
            update(WikiBatch)
            .where(WikiBatch.id == batch_id)
            .values(lease_until=utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()
        assert stalled(db, lease) == [batch_id]
        assert claim(db, batch_id, lease, "host:2:b") is True
        assert stalled(db, lease) == []
        assert renew(db, batch_id, "host:1:a", lease) is False
        db.rollback()
        assert renew(db, batch_id, "host:2:b", lease) is True
        db.commit()
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None and batch.lease_owner == "host:2:b"
