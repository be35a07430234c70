"""Revoking a volunteer's access ends their open sessions at once."""

from __future__ import annotations

from sqlalchemy import select

from tickets.access import grants_of
from tickets.models import Volunteer
from wikibridge.db import new_session

from .helpers import log_in, new_ticket


def test_revoking_a_queue_logs_the_volunteer_out(app):
    number = new_ticket(app)
    volunteer, admin = app.test_client(), app.test_client()
    log_in(app, volunteer, "Vic", role="volunteer", grants={"Permissions": "all"})
    log_in(app, admin, "Ada", role="admin")
    assert volunteer.get(f"/tickets/{number}").status_code == 200
    with new_session(app) as db:
        vic = db.scalars(select(Volunteer).where(Volunteer.username == "Vic")).one()
    response = admin.post(
        f"/admin/volunteers/{vic.id}/revoke",
        data={"csrf_token": "test-csrf", "queue": "Permissions"},
    )
    assert response.status_code == 302
    after = volunteer.get(f"/tickets/{number}")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_a_plain_volunteer_cannot_grant_or_revoke(app):
    client = app.test_client()
    log_in(app, client, "Vic", role="volunteer", grants={"Info": "all"})
    log_in(app, app.test_client(), "Val", role="volunteer", grants={"Info": "read"})

    def grants() -> dict[str, list[int]]:
        """Each volunteer's queues in force."""
        with new_session(app) as db:
            return {
                v.username: [g.queue_id for g in grants_of(db, v)]
                for v in db.scalars(select(Volunteer))
            }

    before = grants()
    with new_session(app) as db:
        val = db.scalars(select(Volunteer).where(Volunteer.username == "Val")).one()
    form = {"csrf_token": "test-csrf", "username": "Vic", "queue": "Permissions", "rights": "own"}
    assert client.post("/admin/volunteers/grant", data=form).status_code == 403
    revoke = {"csrf_token": "test-csrf", "queue": "Info"}
    assert client.post(f"/admin/volunteers/{val.id}/revoke", data=revoke).status_code == 403
    assert grants() == before
    assert len(before["Vic"]) == len(before["Val"]) == 1
