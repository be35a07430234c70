"""Administration: volunteers, their roles and their access per queue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.access import Right, Role, grant, grants_of, revoke, volunteer_named
from tickets.models import Queue, Volunteer
from tickets.queues import queue_by_name
from wikibridge import db
from wikibridge import sessions as login_sessions
from wikibridge.web.access import admin_required, current_volunteer

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/volunteers")
@admin_required
def volunteers() -> str:
    """Every volunteer with their role and access."""
    session = db.session()
    people = list(session.scalars(select(Volunteer).order_by(Volunteer.username)))
    return render_template(
        "admin_volunteers.html",
        people=[(v, grants_of(session, v)) for v in people],
        queues=list(session.scalars(select(Queue).where(Queue.valid).order_by(Queue.name))),
        rights=list(Right),
        roles=list(Role),
        me=current_volunteer(),
    )


def _queue_from_form() -> Queue:
    queue = queue_by_name(db.session(), request.form.get("queue", ""))
    if queue is None:
        abort(400, description=gettext("Choose a queue."))
    return queue


@bp.post("/volunteers/grant")
@admin_required
def grant_access() -> Response:
    """Give a volunteer rights on a queue (and its subqueues)."""
    username = request.form.get("username", "").strip()
    if not username:
        abort(400, description=gettext("Give the volunteer's wiki user name."))
    known = {r.value for r in Right}
    rights = {Right(r) for r in request.form.getlist("rights") if r in known}
    session = db.session()
    volunteer = volunteer_named(session, username)
    queue = _queue_from_form()
    grant(session, volunteer, queue, rights, current_volunteer().username)
    session.commit()
    flash(
        gettext(
            "%(name)s now has %(rights)s on %(queue)s.",
            name=username,
            rights=", ".join(sorted(rights | {Right.READ})),
            queue=queue.name,
        ),
        "info",
    )
    return redirect(url_for("admin.volunteers"))


@bp.post("/volunteers/<int:volunteer_id>/revoke")
@admin_required
def revoke_access(volunteer_id: int) -> Response:
    """End a volunteer's access to a queue; their open sessions end at once."""
    session = db.session()
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    queue = _queue_from_form()
    if revoke(session, volunteer, queue, current_volunteer().username):
        login_sessions.end_all_for(session, volunteer.id)
    session.commit()
    flash(
        gettext(
            "%(name)s no longer has access to %(queue)s.",
            name=volunteer.username,
            queue=queue.name,
        ),
        "info",
    )
    return redirect(url_for("admin.volunteers"))


@bp.post("/volunteers/<int:volunteer_id>/role")
@admin_required
def set_role(volunteer_id: int) -> Response:
    """Only the head appoints or removes volunteer administrators."""
    me = current_volunteer()
    if me.role != Role.HEAD.value:
        abort(403, description=gettext("Only the head changes roles."))
    session = db.session()
    volunteer = session.get(Volunteer, volunteer_id)
    role = request.form.get("role", "")
    if volunteer is None:
        abort(404)
    if role not in {r.value for r in Role} or volunteer.id == me.id:
        abort(400, description=gettext("Choose a role for someone else."))
    volunteer.role = role
    login_sessions.end_all_for(session, volunteer.id)
    session.commit()
    flash(gettext("%(name)s is now %(role)s.", name=volunteer.username, role=role), "info")
    return redirect(url_for("admin.volunteers"))
