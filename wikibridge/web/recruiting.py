"""Volunteering: the public page, the application form, and the applicant's status page.

The form opens only to an applicant who meets the rules, checked afresh
against the wiki on every GET and POST, so a post sent straight to the
server meets the same checks as one sent from the form.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from tickets.access import Role
from tickets.applications import (
    Application,
    ApplicationError,
    ApplicationForm,
    Level,
    history,
    latest_application,
    open_application,
    submit,
    withdraw,
)
from tickets.eligibility import EligibilityCheck, EligibilityFacts, check, merge_facts
from tickets.models import utcnow
from tickets.recruiting_settings import (
    RecruitingSettings,
    RecruitingSettingsVersion,
    current_settings,
)
from wikibridge import db, recruiting_sync
from wikibridge.i18n import current_language
from wikibridge.web.access import current_volunteer
from wikibridge.web.recruiting_words import (
    error_text,
    level_label,
    rules_in_words,
    status_label,
    unmet_text,
    user_record,
    wiki_link,
)
from wikibridge.web.security import logged_in, login_required
from wikibridge.wiki.user_record import UserRecordUnavailable

bp = Blueprint("recruiting", __name__)
log = logging.getLogger(__name__)

#: Rows of languages the form offers.
LANGUAGE_ROWS = 4
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def _helpers() -> dict[str, Any]:
    return {
        "status_label": status_label,
        "level_label": level_label,
        "levels": [level.value for level in Level],
    }


@bp.get("/volunteer")
def volunteer_page() -> str:
    """Volunteer with us: where help is wanted, how to apply, the rules and the terms."""
    settings = current_settings(db.session())
    return render_template(
        "volunteer.html",
        settings=settings,
        rules=rules_in_words(settings.eligibility),
        **_helpers(),
    )


def _applicant_only() -> None:
    if current_volunteer().role != Role.APPLICANT.value:
        abort(
            403,
            description=gettext(
                "The application form is for people not on the team yet; you are on it already."
            ),
        )


def _eligibility(settings: RecruitingSettings) -> EligibilityCheck | None:
    """The rules checked against the identify statement and a fresh read of the wiki.

    None when the wiki does not answer: then nobody can tell, and the form stays shut.
    """
    login = logged_in()
    identity = (
        EligibilityFacts.from_document(login.identity_facts) if login.identity_facts else None
    )
    try:
        record = user_record(settings, login.username)
    except UserRecordUnavailable as exc:
        log.warning("eligibility of %s not checked: %s", login.username, exc)
        return None
    if not record.exists:
        return None
    return check(settings.eligibility, merge_facts(identity, record.facts()), utcnow())


def _form_page(
    settings: RecruitingSettings,
    eligibility: EligibilityCheck | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "apply.html",
            settings=settings,
            eligibility=eligibility,
            unmet=[unmet_text(u) for u in eligibility.unmet] if eligibility else [],
            values=values or _empty_values(),
            errors=errors or {},
            rows=range(LANGUAGE_ROWS),
            **_helpers(),
        ),
        status,
    )


def _empty_values() -> dict[str, Any]:
    return {
        "languages": [{"code": "", "level": ""} for _ in range(LANGUAGE_ROWS)],
        "queues": [],
        "motivation": "",
        "links": "",
        "position": "",
        "position_confirmer": "",
        "accepted": False,
    }


@bp.get("/apply")
@login_required
def apply_form() -> Response | tuple[str, int]:
    """The form, once the rules are checked; else what is missing and when it will be met."""
    _applicant_only()
    session = db.session()
    if open_application(session, current_volunteer().id) is not None:
        return redirect(url_for("recruiting.status"))
    settings = current_settings(session)
    return _form_page(settings, _eligibility(settings))


def _values_from_form() -> dict[str, Any]:
    form = request.form
    languages = [
        {
            "code": form.get(f"language_{i}", "").strip().lower(),
            "level": form.get(f"level_{i}", "").strip(),
        }
        for i in range(LANGUAGE_ROWS)
    ]
    return {
        "languages": languages,
        "queues": form.getlist("queues"),
        "motivation": form.get("motivation", "").replace("\r\n", "\n").strip(),
        "links": form.get("links", "").replace("\r\n", "\n").strip(),
        "position": form.get("position", "").strip(),
        "position_confirmer": form.get("position_confirmer", "").strip(),
        "accepted": form.get("accept_terms", ""),
    }


def _field_errors(values: dict[str, Any], settings: RecruitingSettings) -> dict[str, str]:
    """The checks a form can be told field by field (the domain checks again)."""
    errors: dict[str, str] = {}
    chosen = [entry for entry in values["languages"] if entry["code"] or entry["level"]]
    if not chosen:
        errors["languages"] = gettext("Name at least one language you write well.")
    for entry in chosen:
        if not _LANGUAGE_CODE.match(entry["code"]):
            errors["languages"] = gettext("Write each language as its code, like en, de or pt-br.")
        elif entry["level"] not in {level.value for level in Level}:
            errors["languages"] = gettext("Give each language a level.")
    if not values["queues"]:
        errors["queues"] = gettext("Choose at least one queue.")
    if not values["motivation"]:
        errors["motivation"] = gettext("Say in a few words why you want to help.")
    if values["position"] and not values["position_confirmer"]:
        errors["position_confirmer"] = gettext("Say who can confirm your position.")
    if values["accepted"] != settings.terms_version:
        errors["accept_terms"] = gettext("Accept the confidentiality terms to apply.")
    return errors


def _settings_version_id() -> int | None:
    found: int | None = db.session().scalar(select(func.max(RecruitingSettingsVersion.id)))
    return found


@bp.post("/apply")
@login_required
def apply_send() -> Response | tuple[str, int]:
    """Store the application and ask for its section on Meta."""
    _applicant_only()
    session = db.session()
    volunteer = current_volunteer()
    if open_application(session, volunteer.id) is not None:
        abort(409, description=error_text(ApplicationError("already_open", "")))
    settings = current_settings(session)
    eligibility = _eligibility(settings)
    if eligibility is None:
        return _form_page(settings, eligibility, status=503)
    if not eligibility.eligible:
        # Someone who cannot see the form posts to it all the same.
        return _form_page(settings, eligibility, status=403)
    values = _values_from_form()
    offered = [wanted.queue for wanted in settings.wanted]
    if any(queue not in offered for queue in values["queues"]):
        abort(400, description=error_text(ApplicationError("queue_not_offered", "")))
    errors = _field_errors(values, settings)
    if errors:
        return _form_page(settings, eligibility, values, errors, status=400)
    form = ApplicationForm(
        languages=[entry for entry in values["languages"] if entry["code"]],
        queues=values["queues"],
        motivation=values["motivation"],
        links=values["links"].split("\n") if values["links"] else [],
        terms_version=settings.terms_version,
        terms_text=settings.terms_text,
        position=values["position"],
        position_confirmer=values["position_confirmer"],
    )
    try:
        application = submit(
            session,
            volunteer,
            form,
            offered=offered,
            facts={
                **eligibility.facts.to_document(),
                "rules": dataclasses.asdict(settings.eligibility),
            },
            settings_version_id=_settings_version_id(),
            language=current_language(),
        )
    except ApplicationError as exc:
        session.rollback()
        return _form_page(settings, eligibility, values, {"form": error_text(exc)}, status=400)
    login = logged_in()
    writes = recruiting_sync.application_submitted(
        session,
        current_app._get_current_object(),  # type: ignore[attr-defined]
        application,
        settings,
        recruiting_sync.Actor(login.username, login.id),
    )
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
    flash(gettext("Thank you! Your application is with the volunteer administrators."), "info")
    return redirect(url_for("recruiting.status"))


def _status_context(
    application: Application | None, settings: RecruitingSettings
) -> dict[str, Any]:
    if application is None:
        return {"application": None}
    session = db.session()
    return {
        "application": application,
        "events": history(session, application),
        "meta_link": wiki_link(settings, settings.applications_page, application.meta_section),
        "writes": recruiting_sync.writes_for(session, f"application:{application.id}"),
    }


@bp.get("/apply/status")
@login_required
def status() -> str:
    """The user's application: where it stands, its history and its Meta section."""
    session = db.session()
    settings = current_settings(session)
    application = latest_application(session, current_volunteer().id)
    return render_template(
        "apply_status.html",
        settings=settings,
        is_open=application is not None and application.state.is_open,
        **_status_context(application, settings),
        **_helpers(),
    )


@bp.post("/apply/withdraw")
@login_required
def withdraw_application() -> Response:
    """The applicant takes back their open application."""
    session = db.session()
    volunteer = current_volunteer()
    application = open_application(session, volunteer.id)
    if application is None:
        abort(409, description=error_text(ApplicationError("not_open", "")))
    try:
        withdraw(session, application, volunteer.username)
    except ApplicationError as exc:
        session.rollback()
        abort(409, description=error_text(exc))
    login = logged_in()
    writes = recruiting_sync.application_withdrawn(
        session,
        current_app._get_current_object(),  # type: ignore[attr-defined]
        application,
        current_settings(session),
        recruiting_sync.Actor(login.username, login.id),
    )
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
    flash(gettext("Your application is withdrawn. You can apply again at any time."), "info")
    return redirect(url_for("recruiting.status"))
