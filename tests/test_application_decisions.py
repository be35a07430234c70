"""Deciding applications: some of the queues approved, the block state read again, positions
confirmed, and the applicant's withdrawal noted on Meta.

Write jobs are queued, not run (nothing reaches a wiki); the write requests
are checked as stored. The wiki's record of an account comes from a stand-in
(see tests/test_recruiting.py).
"""

from __future__ import annotations

from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.access import grants_of, volunteer_named
from tickets.access_changes import AccessChange
from tickets.applications import ApplicationEvent
from tickets.training import held_grants
from tickets.wiki_writes import WikiWrite
from wikibridge.db import new_session
from wikibridge.wiki.meta_reads import desk_marker
from wikibridge.wiki.user_record import UserRecordUnavailable

from .conftest import make_test_app
from .test_recruiting import (
    CSRF,
    admin_client,
    applicant,
    applications,
    apply,
    record,
    wiki_says,
)


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued but not run: the write requests are looked at as stored."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def writes(app: Flask, purpose: str) -> list[WikiWrite]:
    with new_session(app) as db:
        found = list(
            db.scalars(select(WikiWrite).where(WikiWrite.purpose == purpose).order_by(WikiWrite.id))
        )
        db.expunge_all()
        return found


def approve(client: FlaskClient, application_id: int, **data: object):
    form = {"csrf_token": CSRF, "decision": "approve", "reason": "Welcome!", **data}
    return client.post(f"/admin/applications/{application_id}/decide", data=form)


# Approving some of the queues ----------------------------------------------------


def test_the_form_offers_each_queue_checked(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client, queues=["Info", "Permissions"])
    page = admin_client(app).get(f"/admin/applications/{application.id}").get_data(as_text=True)
    for queue in ("Info", "Permissions"):
        assert f'name="approved_queues" value="{queue}" checked' in page
    assert "Queues to approve" in page


def test_approve_some_of_the_queues(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client, queues=["Info", "Permissions"])
    ada = admin_client(app)
    wiki_says(app, record())
    # None chosen: refused, nothing changes.
    response = approve(ada, application.id)
    assert response.status_code == 400
    assert "Approve at least one of the queues applied for" in response.get_data(as_text=True)
    # A queue not applied for: refused.
    assert approve(ada, application.id, approved_queues=["Info", "Junk"]).status_code == 400
    assert applications(app)[0].status == "submitted"
    response = approve(ada, application.id, approved_queues=["Permissions"])
    assert response.status_code == 302
    decided = applications(app)[0]
    assert decided.status == "approved"
    assert decided.approved_queues == ["Permissions"] and decided.queues == ["Info", "Permissions"]
    with new_session(app) as db:
        apu = volunteer_named(db, "Apu")
        assert [g.queue.name for g in grants_of(db, apu)] == ["Training"]
        assert [h.queue.name for h in held_grants(db, apu)] == ["Permissions"]
        change = db.scalars(select(AccessChange).where(AccessChange.kind == "approve")).one()
        assert change.detail["queues"] == ["Permissions"]
        assert change.detail["applied_for"] == ["Info", "Permissions"]
    _section, decision, listed, welcome = writes(app, f"application:{application.id}")
    assert "Permissions" in decision.text and "Info" not in decision.text
    assert listed.text == "* [[User:Apu|Apu]] — Permissions"
    assert "Permissions" in welcome.text and "Info" not in welcome.text
    page = ada.get(f"/admin/applications/{application.id}").get_data(as_text=True)
    assert "approved for Permissions" in page  # the flash
    assert "Queues approved" in page
    status = client.get("/apply/status").get_data(as_text=True)
    assert "Queues approved" in status and "Permissions" in status


def test_the_meta_list_line_named_as_approved_goes_when_membership_ends(
    app: Flask, client: FlaskClient
):
    applicant(app, client)
    application = apply(app, client, queues=["Info", "Permissions"])
    ada = admin_client(app)
    wiki_says(app, record())
    approve(ada, application.id, approved_queues=["Info"])
    with new_session(app) as db:
        vid = volunteer_named(db, "Apu").id
    assert ada.post(f"/admin/volunteers/{vid}/end", data={"csrf_token": CSRF}).status_code == 302
    (removal,) = writes(app, f"volunteer:{vid}")
    assert removal.op == "remove-line" and removal.text == "* [[User:Apu|Apu]] — Info"


# The block state, read again -------------------------------------------------------


def test_a_blocked_applicant_is_not_approved(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client)
    ada = admin_client(app)
    wiki_says(app, record(blocked=True, block_reason="Vandalism"))
    response = approve(ada, application.id, approved_queues=["Info"])
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Apu is blocked on the wiki now (Vandalism)" in text
    assert "cannot be approved" in text
    assert applications(app)[0].status == "submitted"
    with new_session(app) as db:
        assert volunteer_named(db, "Apu").role == "applicant"
        assert db.scalars(select(AccessChange)).all() == []
    assert writes(app, f"application:{application.id}")[1:] == []  # only the section
    # A decline goes ahead whatever the wiki says.
    decline = {"csrf_token": CSRF, "decision": "decline", "reason": "Blocked."}
    assert ada.post(f"/admin/applications/{application.id}/decide", data=decline).status_code == 302
    assert applications(app)[0].status == "declined"


def test_a_wiki_that_does_not_answer_lets_the_approval_through_with_a_warning(
    app: Flask, client: FlaskClient
):
    applicant(app, client)
    application = apply(app, client)
    ada = admin_client(app)
    wiki_says(app, UserRecordUnavailable("down"))
    response = approve(ada, application.id, approved_queues=["Info"])
    assert response.status_code == 302
    assert applications(app)[0].status == "approved"
    page = unescape(ada.get(response.headers["Location"]).get_data(as_text=True))
    assert "Whether Apu is blocked now could not be checked" in page
    with new_session(app) as db:
        event = db.scalars(
            select(ApplicationEvent).where(ApplicationEvent.kind == "approved")
        ).one()
        assert event.detail["block_check"] == "unknown"


def test_the_block_state_is_read_again_on_german_pages(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client)
    ada = admin_client(app)
    wiki_says(app, record(blocked=True, block_reason="Vandalism"))
    response = ada.post(
        f"/admin/applications/{application.id}/decide?lang=de",
        data={
            "csrf_token": CSRF,
            "decision": "approve",
            "reason": "Willkommen",
            "approved_queues": "Info",
        },
    )
    assert response.status_code == 400
    assert "ist im Wiki jetzt gesperrt" in response.get_data(as_text=True)


# Positions ---------------------------------------------------------------------------


def test_a_position_waits_for_its_confirmer_and_the_confirmer_is_recorded(
    app: Flask, client: FlaskClient
):
    applicant(app, client)
    application = apply(
        app, client, position="Board of Wikimedia Example", position_confirmer="The chapter office"
    )
    status = client.get("/apply/status").get_data(as_text=True)
    assert "waits for confirmation of this position by The chapter office" in status
    ada = admin_client(app)
    wiki_says(app, record())
    listing = ada.get("/admin/applications").get_data(as_text=True)
    assert "waiting for confirmation by The chapter office" in listing
    base = f"/admin/applications/{application.id}"
    page = ada.get(base).get_data(as_text=True)
    assert "Waiting for confirmation by The chapter office." in page
    assert 'value="approve" disabled' in page
    assert ada.post(base + "/confirm", data={"csrf_token": CSRF}).status_code == 302
    # Once is enough.
    assert ada.post(base + "/confirm", data={"csrf_token": CSRF}).status_code == 400
    page = ada.get(base).get_data(as_text=True)
    assert "Confirmed by Ada." in page and "Waiting for confirmation" not in page
    found = applications(app)[0]
    assert found.status == "submitted" and found.position_confirmed_by == "Ada"
    with new_session(app) as db:
        change = db.scalars(select(AccessChange)).one()
        assert (change.kind, change.actor, change.detail["position"]) == (
            "confirm_position",
            "Ada",
            "Board of Wikimedia Example",
        )
    status = client.get("/apply/status").get_data(as_text=True)
    assert "confirmed" in status and "waits for confirmation" not in status


def test_position_wording_in_german(app: Flask, client: FlaskClient):
    applicant(app, client)
    apply(app, client, position="Vorstand", position_confirmer="Die Geschäftsstelle")
    status = client.get("/apply/status?lang=de").get_data(as_text=True)
    assert "wartet auf die Bestätigung dieser Position durch Die Geschäftsstelle" in status


# Withdrawing -----------------------------------------------------------------------


def test_withdrawal_is_noted_in_the_section_as_the_applicant(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client)
    assert client.post("/apply/withdraw", data={"csrf_token": CSRF}).status_code == 302
    section, note = writes(app, f"application:{application.id}")
    assert (note.op, note.title, note.section) == (
        "append-to-section",
        "VRT/Applications",
        application.meta_section,
    )
    assert note.section == section.section
    assert "withdrawn by the applicant" in note.text
    assert note.text.endswith(desk_marker(f"application:{application.id}"))
    assert (note.as_bot, note.requested_by) == (False, "Apu")
    assert note.login_session_id == section.login_session_id is not None


def test_withdrawal_is_noted_as_the_bot_when_there_is_one(tmp_path, database_url):
    app = make_test_app(
        tmp_path,
        database_url,
        JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3",
        BOT_USERNAME="DeskBot@desk",
        BOT_PASSWORD="secret",
    )
    client = app.test_client()
    applicant(app, client)
    application = apply(app, client)
    client.post("/apply/withdraw", data={"csrf_token": CSRF})
    section, note = writes(app, f"application:{application.id}")
    assert section.as_bot and note.as_bot and note.login_session_id is None
    assert note.op == "append-to-section"
    app.extensions["db_engine"].dispose()
