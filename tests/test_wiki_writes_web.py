"""The administrators' page of page writes, and its retry and cancel buttons."""

from __future__ import annotations

import pytest
from flask import Flask

from tickets.wiki_writes import (
    Op,
    WikiWrite,
    earlier_unsettled,
    request_write,
    resume_paused_writes,
    stalled_writes,
    writes_for,
)
from wikibridge.db import new_session

from .conftest import make_test_app
from .helpers import log_in

CSRF = "test-csrf"


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued, not run: nothing reaches a real wiki."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def add(app: Flask, status: str, purpose: str = "application:7", **fields) -> int:
    with new_session(app) as db:
        write = request_write(
            db,
            wiki="meta",
            title=fields.pop("title", "VRT/Applications"),
            op=fields.pop("op", Op.APPEND_TO_SECTION),
            text="Accepted. ~~~~",
            summary="Decision",
            requested_by="Alice",
            login_session_id=None,
            as_bot=True,
            section="Application: Dave",
            purpose=purpose,
        )
        write.status = status
        write.message = fields.pop("message", "")
        db.commit()
        return write.id


def status_of(app: Flask, write_id: int) -> tuple[str, str]:
    with new_session(app) as db:
        write = db.get(WikiWrite, write_id)
        assert write is not None
        return write.status, write.message


def test_the_page_lists_what_waits_or_failed(app):
    failed = add(app, "failed", message="the page is protected, so the bot may not edit it")
    done = add(app, "done")
    client = app.test_client()
    log_in(app, client, "Ada", role="admin")

    page = client.get("/admin/wiki-writes").get_data(as_text=True)

    assert f'id="wiki-write-{failed}"' in page and f'id="wiki-write-{done}"' not in page
    assert "the page is protected" in page
    assert 'href="https://meta.wikimedia.org/wiki/VRT/Applications"' in page
    assert "append to section" in page and "Application: Dave" in page
    assert f'action="/admin/wiki-writes/{failed}/retry"' in page
    only_done = client.get("/admin/wiki-writes?status=done").get_data(as_text=True)
    assert f'id="wiki-write-{done}"' in only_done and f'id="wiki-write-{failed}"' not in only_done
    other = client.get("/admin/wiki-writes?purpose=application:8").get_data(as_text=True)
    assert "No wiki writes." in other
    german = client.get("/admin/wiki-writes?lang=de").get_data(as_text=True)
    assert "Schreibvorgänge im Wiki" in german and "an Abschnitt anhängen" in german


def test_retry_and_cancel(app):
    failed = add(app, "failed")
    waiting = add(app, "queued")
    client = app.test_client()
    log_in(app, client, "Ada", role="admin")

    refused = client.post(f"/admin/wiki-writes/{failed}/retry", data={})
    assert refused.status_code in (400, 403)
    assert status_of(app, failed)[0] == "failed"

    response = client.post(f"/admin/wiki-writes/{failed}/retry", data={"csrf_token": CSRF})
    assert response.status_code == 302
    assert status_of(app, failed) == ("queued", "retried by Ada")
    # Twice: the write is queued, not failed, any more.
    page = client.post(
        f"/admin/wiki-writes/{failed}/retry", data={"csrf_token": CSRF}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Only a paused, stopped or failed write can be retried." in page

    response = client.post(f"/admin/wiki-writes/{waiting}/cancel", data={"csrf_token": CSRF})
    assert response.status_code == 302
    assert status_of(app, waiting) == ("cancelled", "cancelled by Ada")
    assert (
        client.post("/admin/wiki-writes/999999/cancel", data={"csrf_token": CSRF}).status_code
        == 404
    )


def test_volunteers_may_not(app):
    write_id = add(app, "failed")
    client = app.test_client()
    log_in(app, client, "Rita", role="volunteer", grants={"Info": "all"})
    assert client.get("/admin/wiki-writes").status_code == 403
    assert (
        client.post(f"/admin/wiki-writes/{write_id}/retry", data={"csrf_token": CSRF}).status_code
        == 403
    )
    assert status_of(app, write_id)[0] == "failed"


def test_order_resume_and_sweep(app):
    first = add(app, "paused", purpose="application:9")
    second = add(app, "queued", purpose="application:9")
    alone = add(app, "queued", purpose="")
    with new_session(app) as db:
        write = db.get(WikiWrite, second)
        assert write is not None
        blocking = earlier_unsettled(db, write)
        assert blocking is not None and blocking.id == first
        assert [w.id for w in writes_for(db, "application:9")] == [first, second]
        # A bot write is not the volunteer's to resume.
        assert resume_paused_writes(db, "Alice", "login-1") == []
        db.get(WikiWrite, first).as_bot = False  # type: ignore[union-attr]
        db.flush()
        assert resume_paused_writes(db, "Alice", "login-1") == [first]
        db.commit()
        # Just queued: their jobs are on the way, the sweep leaves them be.
        assert set(stalled_writes(db)) & {first, second, alone} == set()


def test_requests_are_checked(app):
    with new_session(app) as db:
        with pytest.raises(ValueError):
            request_write(
                db,
                wiki="meta",
                title="X",
                op=Op.NEW_SECTION,
                text="t",
                summary="s",
                requested_by="Alice",
                login_session_id=None,
                as_bot=True,
            )
        with pytest.raises(ValueError):
            request_write(
                db,
                wiki="meta",
                title="X",
                op=Op.ADD_LINE,
                text="t",
                summary="s",
                requested_by="Alice",
                login_session_id=None,
                as_bot=False,
            )
