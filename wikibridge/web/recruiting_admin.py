"""Administration around recruiting: its settings, the inactivity report, the access log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.access_changes import recent_changes
from tickets.inactivity import inactive_volunteers
from tickets.models import utcnow
from tickets.queues import queue_by_name
from tickets.recruiting_settings import (
    Eligibility,
    RecruitingSettings,
    RecruitingSettingsVersion,
    WantedHelp,
    current_settings,
    save_settings,
)
from wikibridge import db, recruiting_sync
from wikibridge.web.access import admin_required, current_volunteer
from wikibridge.web.security import logged_in

bp = Blueprint("recruiting_admin", __name__, url_prefix="/admin")

TEXT_KINDS = ("welcome", "approved", "declined")
PAGE_MAX = 255


def _languages(settings: RecruitingSettings) -> list[str]:
    """The languages the templates are edited in: the interface's and any already written."""
    known: list[str] = list(current_app.config.get("LANGUAGES", ["en", "de"]))
    for kind in TEXT_KINDS:
        known += [lang for lang in getattr(settings, kind) if lang not in known]
    return known


def wanted_as_text(wanted: tuple[WantedHelp, ...]) -> str:
    """``Queue | en, de | note`` lines, as the form shows them."""
    return "\n".join(f"{w.queue} | {', '.join(w.languages)} | {w.note}" for w in wanted)


def _wanted_from_text(text: str) -> tuple[WantedHelp, ...]:
    wanted = []
    session = db.session()
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        queue = parts[0]
        if queue_by_name(session, queue) is None:
            abort(400, description=gettext("There is no queue %(queue)s.", queue=queue))
        languages = (
            tuple(c.strip() for c in parts[1].split(",") if c.strip()) if len(parts) > 1 else ()
        )
        wanted.append(WantedHelp(queue, languages, "|".join(parts[2:]).strip()))
    return tuple(wanted)


def _number(name: str) -> int:
    value = request.form.get(name, type=int)
    if value is None or value < 0:
        abort(400, description=gettext("Give a whole number of zero or more."))
    return value


def _line(name: str) -> str:
    value = request.form.get(name, "").strip()
    if not value or len(value) > PAGE_MAX:
        abort(400, description=gettext("Name each page (up to 255 characters)."))
    return value


def _text(name: str) -> str:
    return request.form.get(name, "").replace("\r\n", "\n").strip()


def _settings_from_form(old: RecruitingSettings) -> RecruitingSettings:
    edit_as = request.form.get("edit_as", "")
    if edit_as not in ("admin", "bot"):
        abort(400, description=gettext("Choose who edits the wiki."))
    meta_wiki = request.form.get("meta_wiki", "")
    if meta_wiki not in current_app.config.get("WIKIS", {}):
        abort(400, description=gettext("Choose one of the configured wikis."))
    texts: dict[str, dict[str, str]] = {}
    for kind in TEXT_KINDS:
        texts[kind] = {lang: _text(f"{kind}_{lang}") for lang in _languages(old)}
        texts[kind] = {lang: text for lang, text in texts[kind].items() if text}
        if "en" not in texts[kind]:
            abort(400, description=gettext("Each text needs its English version."))
    terms_version = request.form.get("terms_version", "").strip()
    if not terms_version or len(terms_version) > 40:
        abort(400, description=gettext("Give the terms a version (up to 40 characters)."))
    return RecruitingSettings(
        wanted=_wanted_from_text(request.form.get("wanted", "")),
        how_to_apply=_text("how_to_apply"),
        eligibility=Eligibility(
            min_account_days=_number("min_account_days"),
            min_edits=_number("min_edits"),
            confirmed_email=bool(request.form.get("confirmed_email")),
            groups=tuple(g.strip() for g in request.form.get("groups", "").split(",") if g.strip()),
        ),
        terms_text=_text("terms_text"),
        terms_version=terms_version,
        meta_wiki=meta_wiki,
        public_page=_line("public_page"),
        applications_page=_line("applications_page"),
        volunteer_list_page=_line("volunteer_list_page"),
        edit_as=edit_as,
        welcome=texts["welcome"],
        approved=texts["approved"],
        declined=texts["declined"],
        practice_tickets=_number("practice_tickets"),
        training_reviews_required=_number("training_reviews_required"),
        inactivity_days=_number("inactivity_days"),
    )


@bp.get("/recruiting")
@admin_required
def settings_page() -> str:
    """The recruiting settings in force, and every version saved before."""
    session = db.session()
    settings = current_settings(session)
    versions = list(
        session.scalars(
            select(RecruitingSettingsVersion).order_by(RecruitingSettingsVersion.id.desc())
        )
    )
    newest = versions[0].id if versions else None
    context: dict[str, Any] = {
        "settings": settings,
        "wanted_text": wanted_as_text(settings.wanted),
        "languages": _languages(settings),
        "text_kinds": TEXT_KINDS,
        "wikis": list(current_app.config.get("WIKIS", {})),
        "versions": versions,
        "writes": recruiting_sync.writes_for(session, f"settings:{newest}") if newest else [],
    }
    return render_template("admin_recruiting.html", **context)


@bp.post("/recruiting")
@admin_required
def save() -> Response:
    """Save the form as a new version and ask for the public page on Meta to follow."""
    session = db.session()
    settings = _settings_from_form(current_settings(session))
    by = current_volunteer().username
    version = save_settings(session, settings, by)
    login = logged_in()
    writes = recruiting_sync.settings_saved(
        session,
        version.id,
        settings,
        recruiting_sync.Actor(by, login.id),
        recruiting_sync.apply_address(current_app._get_current_object()),  # type: ignore[attr-defined]
    )
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
    flash(gettext("Saved as version %(version)s.", version=version.id), "info")
    return redirect(url_for("recruiting_admin.settings_page"))


@bp.get("/inactivity")
@admin_required
def inactivity() -> str:
    """Team members not seen (no login, no ticket action) for the settings' number of days."""
    session = db.session()
    days = current_settings(session).inactivity_days
    return render_template(
        "admin_inactivity.html",
        days=days,
        people=inactive_volunteers(session, days, utcnow()),
    )


@bp.get("/access-log")
@admin_required
def access_log() -> str:
    """Every change of access, newest first (``?user=`` for one person)."""
    username = request.args.get("user", "").strip()
    return render_template(
        "admin_access_log.html",
        changes=recent_changes(db.session(), username=username, limit=500),
        username=username,
    )
