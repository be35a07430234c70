"""Applicants reach their application and the public pages, nothing of the desk.

Checked before every request, by endpoint: whatever is not on the short list
below is refused to an applicant, so a route added later is closed to them
unless someone opens it here on purpose.
"""

from __future__ import annotations

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tickets.access import Role
from tickets.models import Volunteer
from wikibridge import db
from wikibridge.web.security import current_login

#: Blueprints an applicant may use: logging in and out, the public pages, applying.
OPEN_BLUEPRINTS = frozenset({"auth", "health", "cited", "references_api", "recruiting"})
OPEN_ENDPOINTS = frozenset({"static"})


def _volunteer() -> Volunteer | None:
    login = current_login()
    if login is None or login.volunteer_id is None:
        return None
    # Its own key: access.current_volunteer() treats a cached None as a volunteer.
    if "gate_volunteer" not in g:
        g.gate_volunteer = db.session().get(Volunteer, login.volunteer_id)
    volunteer: Volunteer | None = g.gate_volunteer
    return volunteer


def is_applicant() -> bool:
    """The logged-in user has applied (or may apply) but is not on the team."""
    volunteer = _volunteer()
    return volunteer is not None and volunteer.role == Role.APPLICANT.value


def _gate() -> Response | tuple[str, int] | None:
    endpoint = request.endpoint
    if endpoint is None or endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if not is_applicant():
        return None
    if endpoint == "queues.index":
        return redirect(url_for("recruiting.apply_form"))
    return render_template("applicant_refused.html"), 403


def init_app(app: Flask) -> None:
    """Install the check (after the login is loaded) and the template helper."""
    app.before_request(_gate)
    app.jinja_env.globals["is_applicant"] = is_applicant
