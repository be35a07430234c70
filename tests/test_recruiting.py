"""Applying to the team and deciding applications, through the web pages.

The wiki's record of an account is read through a stand-in here
(``app.extensions["user_record_reader"]``); the real read is tested against
the sandbox in tests/integration/test_recruiting_login.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from oauth.identity import Identity
from tickets.access import grants_of, volunteer_named
from tickets.access_changes import AccessChange
from tickets.applications import Application, ApplicationNote, ApplicationVote
from tickets.models import Volunteer, utcnow
from tickets.recruiting_settings import RecruitingSettingsVersion
from tickets.training import held_grants
from wikibridge import sessions
from wikibridge.db import new_session
from wikibridge.web import auth
from wikibridge.wiki.user_record import BlockEvent, UserRecord, UserRecordUnavailable

from .helpers import log_in, new_ticket

CSRF = "test-csrf"
OLD = utcnow() - dt.timedelta(days=400)


def record(**kw: Any) -> UserRecord:
    base: dict[str, Any] = {
        "username": "Apu",
        "exists": True,
        "editcount": 900,
        "registered": OLD,
        "groups": ("*", "user", "autoconfirmed"),
    }
    return UserRecord(**{**base, **kw})


def wiki_says(app: Flask, found: UserRecord | Exception) -> None:
    def reader(api_url: str, username: str) -> UserRecord:
        if isinstance(found, Exception):
            raise found
        return found

    app.extensions["user_record_reader"] = reader


def applicant(
    app: Flask, client: FlaskClient, name: str = "Apu", email: bool = True, edits: int = 900
) -> str:
    """Log ``name`` in as an applicant whose identify statement is on the login."""
    token = log_in(app, client, name, role="applicant")
    with new_session(app) as db:
        row = db.get(sessions.LoginSession, sessions.row_id(token))
        assert row is not None
        row.identity_facts = {
            "username": name,
            "editcount": edits,
            "registered": OLD.isoformat(),
            "blocked": False,
            "confirmed_email": email,
            "groups": ["user"],
            "sources": ["identify"],
        }
        db.commit()
    return token


def good_form(**kw: str | list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": CSRF,
        "language_0": "de",
        "level_0": "native",
        "language_1": "en",
        "level_1": "fluent",
        "queues": ["Info"],
        "motivation": "I answer questions on the Village pump every week.",
        "links": "https://meta.wikimedia.org/wiki/User:Apu",
        "accept_terms": "1",
    }
    data.update(kw)
    return data


def applications(app: Flask) -> list[Application]:
    with new_session(app) as db:
        found = list(db.scalars(select(Application).order_by(Application.id)))
        db.expunge_all()
        return found


def audit(app: Flask) -> list[tuple[str, str, str]]:
    with new_session(app) as db:
        return [
            (c.actor, c.username, c.kind)
            for c in db.scalars(select(AccessChange).order_by(AccessChange.id))
        ]


def apply(app: Flask, client: FlaskClient, **kw: Any) -> Application:
    wiki_says(app, record())
    response = client.post("/apply", data=good_form(**kw))
    assert response.status_code == 302, response.get_data(as_text=True)
    return applications(app)[-1]


# The gate ----------------------------------------------------------------------


def test_applicant_reaches_nothing_of_the_desk(app: Flask, client: FlaskClient):
    number = new_ticket(app, to="info@wikimedia.org")
    applicant(app, client)
    for path in (
        "/queues",
        "/queues/Info",
        f"/tickets/{number}",
        "/search?q=hello",
        "/admin/volunteers",
        "/admin/applications",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "The desk opens when your application is approved" in response.get_data(as_text=True)
    response = client.post(f"/tickets/{number}/note", data={"csrf_token": CSRF, "body": "x"})
    assert response.status_code == 403
    # The start page sends an applicant to the form; public pages stay open.
    assert client.get("/").headers["Location"].endswith("/apply")
    assert client.get("/volunteer").status_code == 200
    page = client.get("/apply/status").get_data(as_text=True)
    assert "You have not applied yet." in page
    assert 'role="search"' not in page


def test_volunteer_page_is_public_and_linked_from_login(client: FlaskClient):
    assert "/volunteer" in client.get("/login").get_data(as_text=True)
    page = client.get("/volunteer").get_data(as_text=True)
    assert "Where help is wanted" in page and "Permissions" in page
    assert "at least 500 edits" in page and "30 days old" in page
    assert "keep everything I read in the help desk confidential" in page
    assert "Log in with your wiki account to apply" in page


def test_login_makes_a_newcomer_an_applicant_and_keeps_volunteers(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
):
    from oauth import mediawiki1

    who = {"name": "Newcomer"}

    def finish(_app: Flask, _handshake: dict[str, Any]) -> Any:
        identity = Identity(
            username=who["name"],
            sub=9,
            editcount=12,
            confirmed_email=True,
            registered=OLD,
            groups=("*", "user"),
        )
        return identity, {"version": "1", "key": "ak", "secret": "as"}

    monkeypatch.setattr(
        mediawiki1,
        "initiate",
        lambda *a, **k: ("https://wiki.example/authorize", mediawiki1.RequestToken("rk", "rs")),
    )
    monkeypatch.setattr(auth, "_finish_handshake", finish)
    monkeypatch.setattr(auth, "wiki_language", lambda app, creds: "")
    with new_session(app) as db:
        volunteer_named(db, "Old Hand")
        db.commit()

    def login(c: FlaskClient) -> str:
        c.get("/login")
        with c.session_transaction() as s:
            csrf = s["csrf"]
        c.post("/login", data={"csrf_token": csrf, "next": "/queues"})
        return str(c.get("/oauth-callback?oauth_token=rk&oauth_verifier=v").headers["Location"])

    assert login(client) == "/apply"
    who["name"] = "Old Hand"
    assert login(app.test_client()) == "/queues"
    with new_session(app) as db:
        roles = dict(db.execute(select(Volunteer.username, Volunteer.role)).all())
        assert roles == {"Newcomer": "applicant", "Old Hand": "volunteer"}
        row = db.scalars(
            select(sessions.LoginSession).where(sessions.LoginSession.username == "Newcomer")
        ).one()
        assert row.identity_facts is not None
        assert row.identity_facts["editcount"] == 12
        assert row.identity_facts["confirmed_email"] is True
        assert row.identity_facts["groups"] == ["user"]


# Eligibility ---------------------------------------------------------------------


def test_ineligible_applicant_sees_the_rules_unmet(app: Flask, client: FlaskClient):
    applicant(app, client, email=False, edits=100)
    young = utcnow() - dt.timedelta(days=10)
    wiki_says(app, record(editcount=120, registered=young))
    page = client.get("/apply").get_data(as_text=True)
    old_enough = (young + dt.timedelta(days=30)).date()
    assert "You cannot apply yet" in page
    assert "must be at least 30 days old" in page and str(old_enough.year) in page
    assert "380 more to go" in page
    assert "confirmed e-mail address" in page
    assert 'name="motivation"' not in page
    # Posting straight to the server meets the same rules.
    response = client.post("/apply", data=good_form())
    assert response.status_code == 403
    assert applications(app) == []


def test_wiki_that_does_not_answer_keeps_the_form_shut(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, UserRecordUnavailable("down"))
    response = client.get("/apply")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The wiki did not answer" in page and 'name="motivation"' not in page
    assert client.post("/apply", data=good_form()).status_code == 503
    assert applications(app) == []


def test_blocked_on_the_wiki_now_is_refused(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, record(blocked=True))
    assert "Blocked accounts cannot apply" in client.get("/apply").get_data(as_text=True)


# Applying ---------------------------------------------------------------------


def test_apply_then_status_then_no_second_application(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, record())
    page = client.get("/apply").get_data(as_text=True)
    assert 'name="motivation"' in page and 'name="accept_terms"' in page
    application = apply(app, client)
    assert application.username == "Apu"
    assert application.queues == ["Info"]
    assert application.languages == [
        {"code": "de", "level": "native"},
        {"code": "en", "level": "fluent"},
    ]
    assert application.terms_version == "1" and "confidential" in application.terms_text
    assert application.eligibility["editcount"] == 900
    assert application.eligibility["confirmed_email"] is True
    assert application.status == "submitted"
    status = client.get("/apply/status").get_data(as_text=True)
    assert "submitted" in status and application.meta_section in status
    assert "https://meta.wikimedia.org/wiki/VRT/Applications#User:Apu_(" in status
    # The form is not offered again, and a second post is refused.
    assert client.get("/apply").headers["Location"].endswith("/apply/status")
    response = client.post("/apply", data=good_form())
    assert response.status_code == 409
    assert "waiting for a decision already" in response.get_data(as_text=True)
    assert len(applications(app)) == 1


def test_post_without_csrf_is_refused(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, record())
    for token in (None, "forged"):
        data = good_form()
        if token is None:
            del data["csrf_token"]
        else:
            data["csrf_token"] = token
        assert client.post("/apply", data=data).status_code == 400
    assert applications(app) == []


def test_queue_not_on_offer_is_refused(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, record())
    response = client.post("/apply", data=good_form(queues=["Info", "Junk"]))
    assert response.status_code == 400
    assert "only queues where help is wanted" in response.get_data(as_text=True)
    assert applications(app) == []


def test_field_errors_keep_what_was_typed(app: Flask, client: FlaskClient):
    applicant(app, client)
    wiki_says(app, record())
    data = good_form(motivation="I like it here.", accept_terms="", position="Chapter board")
    response = client.post("/apply", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Accept the confidentiality terms" in page
    assert "Say who can confirm your position." in page
    assert "I like it here." in page and 'value="Chapter board"' in page
    assert applications(app) == []


def test_withdraw_and_apply_again(app: Flask, client: FlaskClient):
    applicant(app, client)
    apply(app, client)
    response = client.post("/apply/withdraw", data={"csrf_token": CSRF})
    assert response.status_code == 302
    assert applications(app)[0].status == "withdrawn"
    assert client.post("/apply/withdraw", data={"csrf_token": CSRF}).status_code == 409
    apply(app, client)
    assert [a.status for a in applications(app)] == ["withdrawn", "submitted"]


def test_volunteers_do_not_get_the_form(app: Flask, client: FlaskClient):
    log_in(app, client, "Rita", role="volunteer", grants={"Info": "read"})
    response = client.get("/apply")
    assert response.status_code == 403
    assert "you are on it already" in response.get_data(as_text=True)


# Administrators ------------------------------------------------------------------


def admin_client(app: Flask, name: str = "Ada", role: str = "admin") -> FlaskClient:
    client = app.test_client()
    log_in(app, client, name, role=role)
    return client


def test_admin_notes_votes_and_approves(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client, queues=["Info", "Permissions"])
    ada = admin_client(app)
    wiki_says(
        app,
        record(
            blocks=(
                BlockEvent("block", "Steward", OLD, "1 day", "Edit warring"),
                BlockEvent("unblock", "Steward", OLD, "", "Talked it over"),
            )
        ),
    )
    listing = ada.get("/admin/applications").get_data(as_text=True)
    assert "Apu" in listing
    base = f"/admin/applications/{application.id}"
    page = ada.get(base).get_data(as_text=True)
    assert "Edit warring" in page and "Talked it over" in page
    assert "Special:Contributions/Apu" in page
    assert "I answer questions on the Village pump" in page
    assert (
        ada.post(base + "/note", data={"csrf_token": CSRF, "text": "Knows the wiki."}).status_code
        == 302
    )
    assert ada.post(base + "/vote", data={"csrf_token": CSRF, "vote": "oppose"}).status_code == 302
    assert (
        ada.post(
            base + "/vote", data={"csrf_token": CSRF, "vote": "support", "comment": "ok"}
        ).status_code
        == 302
    )
    page = ada.get(base).get_data(as_text=True)
    assert "Support: 1, oppose: 0, neutral: 0" in page and "Knows the wiki." in page
    # A reason is required.
    assert (
        ada.post(
            base + "/decide", data={"csrf_token": CSRF, "decision": "approve", "reason": ""}
        ).status_code
        == 400
    )
    response = ada.post(
        base + "/decide",
        data={
            "csrf_token": CSRF,
            "decision": "approve",
            "reason": "Welcome!",
            "approved_queues": ["Info", "Permissions"],
        },
    )
    assert response.status_code == 302
    with new_session(app) as db:
        apu = volunteer_named(db, "Apu")
        assert apu.role == "volunteer"
        # Training at once; the queues applied for wait for two reviewed
        # training answers (the default setting).
        assert sorted(g.queue.name for g in grants_of(db, apu)) == ["Training"]
        assert sorted(h.queue.name for h in held_grants(db, apu)) == ["Info", "Permissions"]
        assert len(db.scalars(select(ApplicationVote)).all()) == 2
        assert len(db.scalars(select(ApplicationNote)).all()) == 1
    assert ("Ada", "Apu", "approve") in audit(app)
    # The new volunteer reaches the desk at once, Training first.
    assert client.get("/queues/Training").status_code == 200
    assert client.get("/queues/Info").status_code == 404
    status = client.get("/apply/status").get_data(as_text=True)
    assert "approved" in status and "Welcome!" in status


def test_decline_with_reason_and_wiki_down_on_the_record(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(app, client)
    ada = admin_client(app)
    wiki_says(app, UserRecordUnavailable("down"))
    base = f"/admin/applications/{application.id}"
    assert "The wiki did not answer" in ada.get(base).get_data(as_text=True)
    ada.post(
        base + "/decide",
        data={"csrf_token": CSRF, "decision": "decline", "reason": "More edits first."},
    )
    assert applications(app)[0].status == "declined"
    assert ("Ada", "Apu", "decline") in audit(app)
    with new_session(app) as db:
        assert volunteer_named(db, "Apu").role == "applicant"
    assert client.get("/queues").status_code == 403
    assert "More edits first." in client.get("/apply/status").get_data(as_text=True)


def test_position_needs_confirmation_before_approval(app: Flask, client: FlaskClient):
    applicant(app, client)
    application = apply(
        app, client, position="Board of Wikimedia Example", position_confirmer="The chapter office"
    )
    assert application.status == "awaiting confirmation"
    ada = admin_client(app)
    wiki_says(app, record())
    base = f"/admin/applications/{application.id}"
    response = ada.post(
        base + "/decide", data={"csrf_token": CSRF, "decision": "approve", "reason": "Staff."}
    )
    assert response.status_code == 400
    assert "confirm the position before approving" in response.get_data(as_text=True)
    assert ada.post(base + "/confirm", data={"csrf_token": CSRF}).status_code == 302
    approve = {
        "csrf_token": CSRF,
        "decision": "approve",
        "reason": "Staff.",
        "approved_queues": "Info",
    }
    assert ada.post(base + "/decide", data=approve).status_code == 302
    found = applications(app)[0]
    assert found.status == "approved" and found.position_confirmed_by == "Ada"


# Access changes -----------------------------------------------------------------


def _id(app: Flask, name: str) -> int:
    with new_session(app) as db:
        return volunteer_named(db, name).id


def test_only_the_head_promotes_and_it_is_audited(app: Flask):
    target = app.test_client()
    log_in(app, target, "Rita", role="volunteer", grants={"Info": "read"})
    vid = _id(app, "Rita")
    ada = admin_client(app)
    response = ada.post(f"/admin/volunteers/{vid}/role", data={"csrf_token": CSRF, "role": "admin"})
    assert response.status_code == 403
    assert "Only the head changes roles" in response.get_data(as_text=True)
    hugo = admin_client(app, "Hugo", "head")
    assert (
        hugo.post(
            f"/admin/volunteers/{vid}/role", data={"csrf_token": CSRF, "role": "admin"}
        ).status_code
        == 302
    )
    assert ("Hugo", "Rita", "role") in audit(app)
    assert target.get("/queues").status_code == 302  # her session ended


def test_grant_to_an_applicant_makes_a_volunteer(app: Flask, client: FlaskClient):
    applicant(app, client)
    ada = admin_client(app)
    ada.post(
        "/admin/volunteers/grant",
        data={"csrf_token": CSRF, "username": "Apu", "queue": "Info", "rights": ["read"]},
    )
    with new_session(app) as db:
        assert volunteer_named(db, "Apu").role == "volunteer"
    assert [k for _, _, k in audit(app)] == ["grant", "role"]
    assert client.get("/queues/Info").status_code == 200


def test_revoke_ends_sessions_and_is_audited(app: Flask):
    rita = app.test_client()
    log_in(app, rita, "Rita", role="volunteer", grants={"Info": "all", "Permissions": "read"})
    vid = _id(app, "Rita")
    ada = admin_client(app)
    ada.post(f"/admin/volunteers/{vid}/revoke", data={"csrf_token": CSRF, "queue": "Info"})
    assert rita.get("/queues").status_code == 302
    assert audit(app) == [("Ada", "Rita", "revoke")]


def test_end_membership(app: Flask):
    rita = app.test_client()
    log_in(app, rita, "Rita", role="volunteer", grants={"Info": "all", "Permissions": "read"})
    vid = _id(app, "Rita")
    ada = admin_client(app)
    assert ada.post(f"/admin/volunteers/{vid}/end", data={"csrf_token": CSRF}).status_code == 302
    assert rita.get("/queues").status_code == 302
    with new_session(app) as db:
        volunteer = volunteer_named(db, "Rita")
        assert volunteer.role == "applicant" and grants_of(db, volunteer) == []
        change = db.scalars(select(AccessChange)).one()
        assert change.kind == "end_membership"
        assert sorted(change.detail["queues"]) == ["Info", "Permissions"]
    log = ada.get("/admin/access-log").get_data(as_text=True)
    assert "end_membership" in log and "Rita" in log
    # An administrator's membership is the head's to end.
    hugo_id = _id(app, "Ada")
    other = admin_client(app, "Ola", "admin")
    assert (
        other.post(f"/admin/volunteers/{hugo_id}/end", data={"csrf_token": CSRF}).status_code == 403
    )


# Settings, inactivity --------------------------------------------------------------


def settings_form(**kw: str) -> dict[str, str]:
    data = {
        "csrf_token": CSRF,
        "wanted": "Info | en, de | Readers' questions\nPermissions | en |",
        "how_to_apply": "Log in and fill in the form.",
        "min_account_days": "60",
        "min_edits": "1000",
        "confirmed_email": "1",
        "groups": "",
        "terms_text": "Keep it confidential.",
        "terms_version": "2",
        "meta_wiki": "meta",
        "public_page": "VRT/Volunteer with us",
        "applications_page": "VRT/Applications",
        "volunteer_list_page": "VRT/Volunteers",
        "edit_as": "bot",
        "welcome_en": "Welcome {username}!",
        "approved_en": "Approved: {reason}",
        "declined_en": "Declined: {reason}",
        "approved_de": "Angenommen: {reason}",
        "practice_tickets": "2",
        "training_reviews_required": "1",
        "inactivity_days": "30",
    }
    data.update(kw)
    return data


def test_settings_are_saved_as_versions(app: Flask):
    ada = admin_client(app)
    assert "None saved yet" in ada.get("/admin/recruiting").get_data(as_text=True)
    assert ada.post("/admin/recruiting", data=settings_form()).status_code == 302
    hugo = admin_client(app, "Hugo", "head")
    assert hugo.post("/admin/recruiting", data=settings_form(min_edits="200")).status_code == 302
    assert ada.post("/admin/recruiting", data=settings_form(wanted="Nowhere |")).status_code == 400
    with new_session(app) as db:
        versions = db.scalars(
            select(RecruitingSettingsVersion).order_by(RecruitingSettingsVersion.id)
        ).all()
        assert [(v.saved_by, v.document["eligibility"]["min_edits"]) for v in versions] == [
            ("Ada", 1000),
            ("Hugo", 200),
        ]
        assert versions[0].document["wanted"][0] == {
            "queue": "Info",
            "languages": ["en", "de"],
            "note": "Readers' questions",
        }
        assert versions[1].document["approved"] == {
            "en": "Approved: {reason}",
            "de": "Angenommen: {reason}",
        }
    page = ada.get("/admin/recruiting").get_data(as_text=True)
    assert 'value="200"' in page and "Hugo" in page
    # The public page follows the settings in force.
    assert "at least 200 edits" in app.test_client().get("/volunteer").get_data(as_text=True)


def test_inactivity_lists_who_was_not_seen(app: Flask):
    ada = admin_client(app)
    with new_session(app) as db:
        gone = volunteer_named(db, "Gone Away")
        gone.last_login_at = utcnow() - dt.timedelta(days=200)
        busy = volunteer_named(db, "Busy Bee")
        busy.last_login_at = utcnow()
        db.commit()
    page = ada.get("/admin/inactivity").get_data(as_text=True)
    assert "Gone Away" in page and "Busy Bee" not in page
    assert "not seen for 90 days" in page


def test_applicant_pages_in_german(app: Flask, client: FlaskClient):
    applicant(app, client, edits=10)
    wiki_says(app, record(editcount=10))
    page = client.get("/apply?lang=de").get_data(as_text=True)
    assert "Du kannst dich noch nicht bewerben." in page
    assert "es fehlen noch 490" in page
    refused = client.get("/queues").get_data(as_text=True)
    assert "Der Helpdesk öffnet sich, wenn deine Bewerbung angenommen ist" in refused
