"""The administrators' side of applications: the list, one application, notes, votes, decisions."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from tickets.access import Role
from tickets.access_changes import AccessChangeKind, record_change
from tickets.applications import (
    Application,
    ApplicationError,
    Status,
    add_note,
    all_votes,
    confirm_position,
    current_votes,
    decide,
    history,
    list_applications,
    notes_of,
    tally,
    vote,
)
from tickets.eligibility import EligibilityFacts
from tickets.recruiting_settings import current_settings
from wikibridge import db, recruiting_sync
from wikibridge.web.access import admin_required, current_volunteer
from wikibridge.web.recruiting_words import (
    error_text,
    level_label,
    status_label,
    user_record,
    wiki_link,
)
from wikibridge.web.security import logged_in
from wikibridge.wiki.user_record import UserRecord, UserRecordUnavailable

bp = Blueprint("applications", __name__, url_prefix="/admin")


def _application(application_id: int) -> Application:
    found = db.session().get(Application, application_id)
    if found is None:
        abort(404)
    return found


def _back(application: Application, anchor: str = "") -> Response:
    return redirect(
        url_for("applications.detail", application_id=application.id, _anchor=anchor or None)
    )


def _refuse(exc: ApplicationError) -> NoReturn:
    db.session().rollback()
    abort(400 if exc.code != "not_open" else 409, description=error_text(exc))


@bp.get("/applications")
@admin_required
def index() -> str:
    """Every application, open ones first; ``?status=`` shows one status."""
    wanted = request.args.get("status", "")
    if wanted not in {s.value for s in Status}:
        wanted = ""
    return render_template(
        "admin_applications.html",
        applications=list_applications(db.session(), wanted),
        statuses=[s.value for s in Status],
        wanted=wanted,
        status_label=status_label,
    )


def _record(username: str) -> tuple[UserRecord | None, str]:
    try:
        return user_record(current_settings(db.session()), username), ""
    except UserRecordUnavailable:
        return None, gettext("The wiki did not answer; its record of this account is not shown.")


@bp.get("/applications/<int:application_id>")
@admin_required
def detail(application_id: int) -> str:
    """One application with the applicant's wiki record, the Meta comments, notes and votes."""
    session = db.session()
    application = _application(application_id)
    settings = current_settings(session)
    record, record_error = _record(application.username)
    comments = recruiting_sync.section_comments(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        settings.meta_wiki,
        settings.applications_page,
        application.meta_section,
    )
    votes = current_votes(session, application)
    me = current_volunteer().username
    context: dict[str, Any] = {
        "application": application,
        "facts": EligibilityFacts.from_document(application.eligibility),
        "record": record,
        "record_error": record_error,
        "contributions": wiki_link(settings, f"Special:Contributions/{application.username}"),
        "meta_link": wiki_link(settings, settings.applications_page, application.meta_section),
        "comments": comments,
        "notes": notes_of(session, application),
        "votes": votes,
        "old_votes": [v for v in all_votes(session, application) if v.superseded_at],
        "tally": tally(votes),
        "my_vote": next((v for v in votes if v.voter == me), None),
        "events": history(session, application),
        "writes": recruiting_sync.writes_for(session, f"application:{application.id}"),
        "is_open": application.state.is_open,
        "awaiting": application.state is Status.AWAITING_CONFIRMATION,
        "status_label": status_label,
        "level_label": level_label,
    }
    return render_template("admin_application.html", **context)


@bp.post("/applications/<int:application_id>/note")
@admin_required
def note(application_id: int) -> Response:
    """Add to the administrators' discussion."""
    application = _application(application_id)
    try:
        add_note(
            db.session(), application, current_volunteer().username, request.form.get("text", "")
        )
    except ApplicationError as exc:
        _refuse(exc)
    db.session().commit()
    flash(gettext("Note added."), "info")
    return _back(application, "notes")


@bp.post("/applications/<int:application_id>/vote")
@admin_required
def cast_vote(application_id: int) -> Response:
    """Vote, or change one's vote (the old one is kept)."""
    application = _application(application_id)
    try:
        vote(
            db.session(),
            application,
            current_volunteer().username,
            request.form.get("vote", ""),
            request.form.get("comment", ""),
        )
    except ApplicationError as exc:
        _refuse(exc)
    db.session().commit()
    flash(gettext("Your vote is recorded."), "info")
    return _back(application, "votes")


@bp.post("/applications/<int:application_id>/confirm")
@admin_required
def confirm(application_id: int) -> Response:
    """Confirm the position the application rests on."""
    session = db.session()
    application = _application(application_id)
    by = current_volunteer().username
    try:
        confirm_position(session, application, by)
    except ApplicationError as exc:
        _refuse(exc)
    record_change(
        session,
        actor=by,
        volunteer=application.volunteer,
        kind=AccessChangeKind.CONFIRM_POSITION,
        application=application.id,
        position=application.position,
    )
    session.commit()
    flash(gettext("The position is confirmed."), "info")
    return _back(application)


def _blocked_now(application: Application) -> tuple[bool | None, str]:
    """Whether the wiki says the applicant is blocked now, and why (None: it did not answer)."""
    try:
        found = user_record(current_settings(db.session()), application.username)
    except UserRecordUnavailable:
        return None, ""
    if not found.exists:
        return None, ""
    return found.blocked, found.block_reason


@bp.post("/applications/<int:application_id>/decide")
@admin_required
def decide_application(application_id: int) -> Response:
    """Approve (the applicant joins the team) or decline, with a reason the applicant reads.

    An approval names the queues approved (some or all of those applied for)
    and reads the applicant's block state from the wiki afresh: a blocked
    account is refused; a wiki that does not answer lets the approval go
    ahead with a warning.
    """
    session = db.session()
    application = _application(application_id)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "decline"):
        abort(400, description=gettext("Choose to approve or to decline."))
    approve = decision == "approve"
    by = current_volunteer().username
    blocked: bool | None = None
    block_reason = ""
    if approve and application.state.is_open:
        blocked, block_reason = _blocked_now(application)
    try:
        decide(
            session,
            application,
            approve=approve,
            reason=request.form.get("reason", ""),
            by=by,
            queues=request.form.getlist("approved_queues") if approve else None,
            blocked=blocked,
        )
    except ApplicationError as exc:
        if exc.code == "blocked":
            db.session().rollback()
            abort(
                400,
                description=gettext(
                    "%(name)s is blocked on the wiki now (%(reason)s). "
                    "A blocked account cannot be approved.",
                    name=application.username,
                    reason=block_reason or gettext("no reason given"),
                ),
            )
        _refuse(exc)
    settings = current_settings(session)
    volunteer = application.volunteer
    if approve:
        if volunteer.role == Role.APPLICANT.value:
            volunteer.role = Role.VOLUNTEER.value
        recruiting_sync.admit(
            session,
            volunteer,
            application.approved_queues,
            by,
            settings,
            system_id=current_app.config["SYSTEM_ID"],
        )
    record_change(
        session,
        actor=by,
        volunteer=volunteer,
        kind=AccessChangeKind.APPROVE if approve else AccessChangeKind.DECLINE,
        application=application.id,
        queues=list(application.approved_queues if approve else application.queues),
        applied_for=list(application.queues),
        reason=application.decision_reason,
    )
    login = logged_in()
    writes = recruiting_sync.application_decided(
        session,
        application,
        settings,
        recruiting_sync.Actor(by, login.id),
        current_app.config.get("DESK_URL") or url_for("queues.index", _external=True),
    )
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
    if approve:
        flash(
            gettext(
                "%(name)s is on the team now, approved for %(queues)s.",
                name=application.username,
                queues=", ".join(application.approved_queues),
            ),
            "info",
        )
        if blocked is None:
            flash(
                gettext(
                    "Whether %(name)s is blocked now could not be checked: the wiki did not "
                    "answer or does not know the account. Look at the account on the wiki.",
                    name=application.username,
                ),
                "error",
            )
    else:
        flash(
            gettext("The application of %(name)s is declined.", name=application.username), "info"
        )
    return _back(application)
