"""Applications in the database: their states, one open at a time, votes kept, nothing deleted."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tickets.access import volunteer_named
from tickets.applications import (
    ApplicationError,
    ApplicationForm,
    ApplicationVote,
    Status,
    all_votes,
    confirm_position,
    current_votes,
    decide,
    history,
    list_applications,
    open_application,
    submit,
    tally,
    vote,
    withdraw,
)
from wikibridge.db import new_session


def form(**kw) -> ApplicationForm:
    base = {
        "languages": [{"code": "en", "level": "fluent"}],
        "queues": ["Info"],
        "motivation": "I answer questions on the help desk already.",
        "links": ["https://meta.wikimedia.org/wiki/User:Ann"],
        "terms_version": "1",
        "terms_text": "Keep it confidential.",
    }
    return ApplicationForm(**{**base, **kw})


def new(db, username: str = "Ann", **kw: Any):
    volunteer = volunteer_named(db, username)
    volunteer.role = "applicant"
    return submit(
        db, volunteer, form(**kw), offered=["Info", "Permissions"], facts={"editcount": 9}
    )


def test_submit_then_second_open_application_refused(app: Flask):
    with new_session(app) as db:
        application = new(db)
        assert application.state is Status.SUBMITTED
        assert application.meta_section.startswith("User:Ann (")
        assert application.eligibility == {"editcount": 9}
        with pytest.raises(ApplicationError) as refused:
            new(db)
        assert refused.value.code == "already_open"
        db.commit()


def test_queue_not_offered_is_refused(app: Flask):
    with new_session(app) as db, pytest.raises(ApplicationError) as refused:
        new(db, queues=["Junk"])
    assert refused.value.code == "queue_not_offered"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("languages", [], "no_language"),
        ("languages", [{"code": "en", "level": "superb"}], "bad_language"),
        ("queues", [], "no_queue"),
        ("motivation", "  ", "no_motivation"),
        ("position_confirmer", "", "no_confirmer"),
        ("terms_version", "", "terms_not_accepted"),
    ],
)
def test_form_checks(app: Flask, field: str, value: object, code: str):
    extra = {"position": "Chair of a chapter"} if field == "position_confirmer" else {}
    changes: dict[str, Any] = {field: value, **extra}
    with new_session(app) as db, pytest.raises(ApplicationError) as refused:
        new(db, **changes)
    assert refused.value.code == code


def test_withdraw_only_by_the_applicant_and_only_while_open(app: Flask):
    with new_session(app) as db:
        application = new(db)
        with pytest.raises(ApplicationError) as refused:
            withdraw(db, application, "Someone else")
        assert refused.value.code == "not_yours"
        withdraw(db, application, "Ann")
        assert application.state is Status.WITHDRAWN and application.withdrawn_at
        with pytest.raises(ApplicationError) as again:
            withdraw(db, application, "Ann")
        assert again.value.code == "not_open"
        # Withdrawn: a new application may follow.
        assert open_application(db, application.volunteer_id) is None
        second = new(db)
        assert second.id != application.id
        db.commit()


def test_changed_vote_keeps_the_old_row(app: Flask):
    with new_session(app) as db:
        application = new(db)
        vote(db, application, "Ada", "oppose", "Too few edits")
        vote(db, application, "Hugo", "support")
        vote(db, application, "Ada", "support", "Convinced by the links")
        current = current_votes(db, application)
        assert [(v.voter, v.value) for v in current] == [("Hugo", "support"), ("Ada", "support")]
        assert tally(current) == {"support": 2, "oppose": 0, "neutral": 0}
        everything = all_votes(db, application)
        assert len(everything) == 3
        assert everything[0].superseded_at is not None
        with pytest.raises(ApplicationError):
            vote(db, application, "Ada", "maybe")
        db.commit()
        assert len(db.scalars(select(ApplicationVote)).all()) == 3


def test_position_must_be_confirmed_before_approval(app: Flask):
    with new_session(app) as db:
        application = new(db, position="Board of a chapter", position_confirmer="The chapter")
        assert application.state is Status.AWAITING_CONFIRMATION
        with pytest.raises(ApplicationError) as refused:
            decide(db, application, approve=True, reason="Welcome", by="Ada")
        assert refused.value.code == "needs_confirmation"
        confirm_position(db, application, "Ada")
        assert application.position_confirmed_by == "Ada"
        decide(db, application, approve=True, reason="Welcome", by="Ada")
        assert application.state is Status.APPROVED
        kinds = [e.kind for e in history(db, application)]
        assert kinds == ["awaiting confirmation", "position confirmed", "approved"]
        db.commit()


def test_decline_needs_a_reason_and_ends_the_application(app: Flask):
    with new_session(app) as db:
        application = new(db)
        with pytest.raises(ApplicationError) as refused:
            decide(db, application, approve=False, reason=" ", by="Ada")
        assert refused.value.code == "no_reason"
        decide(db, application, approve=False, reason="More edits first", by="Ada")
        assert application.state is Status.DECLINED
        assert application.decision_reason == "More edits first"
        with pytest.raises(ApplicationError) as again:
            decide(db, application, approve=True, reason="Changed my mind", by="Ada")
        assert again.value.code == "not_open"
        with pytest.raises(ApplicationError):
            vote(db, application, "Ada", "support")
        db.commit()


def test_list_puts_open_ones_first(app: Flask):
    with new_session(app) as db:
        first = new(db, "Ann")
        decide(db, first, approve=False, reason="No", by="Ada")
        second = new(db, "Bea")
        assert [a.id for a in list_applications(db)] == [second.id, first.id]
        assert [a.id for a in list_applications(db, "declined")] == [first.id]
        db.commit()


def test_approve_a_subset_of_the_queues_applied_for(app: Flask):
    with new_session(app) as db:
        application = new(db, queues=["Info", "Permissions"])
        for chosen, code in (([], "no_queue_approved"), (["Info", "Junk"], "queue_not_applied")):
            with pytest.raises(ApplicationError) as refused:
                decide(db, application, approve=True, reason="Welcome", by="Ada", queues=chosen)
            assert refused.value.code == code
        assert application.state is Status.SUBMITTED and application.approved_queues == []
        decide(db, application, approve=True, reason="Welcome", by="Ada", queues=["Permissions"])
        assert application.approved_queues == ["Permissions"]
        assert application.queues == ["Info", "Permissions"]  # what was asked stays
        event = history(db, application)[-1]
        assert event.detail["queues"] == ["Permissions"]
        assert event.detail["block_check"] == "unknown"
        db.commit()
    with new_session(app) as db:
        all_of_them = new(db, "Bea", queues=["Info", "Permissions"])
        decide(db, all_of_them, approve=True, reason="Welcome", by="Ada", blocked=False)
        assert all_of_them.approved_queues == ["Info", "Permissions"]
        assert history(db, all_of_them)[-1].detail["block_check"] == "clear"
        declined = new(db, "Cai")
        decide(db, declined, approve=False, reason="No", by="Ada", queues=["Info"])
        assert declined.approved_queues == []
        db.commit()


def test_a_blocked_account_is_not_approved_but_may_be_declined(app: Flask):
    with new_session(app) as db:
        application = new(db)
        with pytest.raises(ApplicationError) as refused:
            decide(db, application, approve=True, reason="Welcome", by="Ada", blocked=True)
        assert refused.value.code == "blocked"
        assert application.state is Status.SUBMITTED
        decide(db, application, approve=False, reason="Blocked", by="Ada", blocked=True)
        assert application.state is Status.DECLINED
        db.commit()
