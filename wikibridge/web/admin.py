"""Administration: volunteers, their roles and their access per queue."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.access import Right, Role, grants_of, is_admin, revoke, volunteer_named
from tickets.access_changes import AccessChangeKind, grant_recorded, record_change
from tickets.models import Queue, Volunteer
from tickets.queues import queue_by_name
from tickets.recruiting_settings import current_settings
from wikibridge import db, recruiting_sync
from wikibridge import sessions as login_sessions
from wikibridge.web.access import admin_required, current_volunteer
from wikibridge.web.security import logged_in

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
    by = current_volunteer().username
    grant_recorded(session, volunteer, queue, rights, by)
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
    by = current_volunteer().username
    had = [g.queue.name for g in grants_of(session, volunteer)]
    writes: list[int] = []
    if revoke(session, volunteer, queue, by):
        login_sessions.end_all_for(session, volunteer.id)
        record_change(
            session, actor=by, volunteer=volunteer, kind=AccessChangeKind.REVOKE, queue=queue.name
        )
        if not grants_of(session, volunteer) and not is_admin(volunteer):
            # The last queue gone: no longer on the team's list on Meta.
            writes = _off_the_list(volunteer, had)
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
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
        abort(
            403,
            description=gettext(
                "Only the head changes roles (appoints or removes volunteer administrators)."
            ),
        )
    session = db.session()
    volunteer = session.get(Volunteer, volunteer_id)
    role = request.form.get("role", "")
    if volunteer is None:
        abort(404)
    if role not in {r.value for r in Role} or volunteer.id == me.id:
        abort(400, description=gettext("Choose a role for someone else."))
    old = volunteer.role
    volunteer.role = role
    login_sessions.end_all_for(session, volunteer.id)
    record_change(
        session,
        actor=me.username,
        volunteer=volunteer,
        kind=AccessChangeKind.ROLE,
        old=old,
        new=role,
    )
    session.commit()
    flash(gettext("%(name)s is now %(role)s.", name=volunteer.username, role=role), "info")
    return redirect(url_for("admin.volunteers"))


def _off_the_list(volunteer: Volunteer, queues: list[str]) -> list[int]:
    """Ask for the volunteer's line on the Meta volunteer list to go (flushes).

    The line is named as it was added on approval (the queues approved),
    else with the queues they had.
    """
    login = logged_in()
    return recruiting_sync.membership_ended(
        db.session(),
        volunteer,
        recruiting_sync.listed_queues(db.session(), volunteer, queues),
        current_settings(db.session()),
        recruiting_sync.Actor(current_volunteer().username, login.id),
    )


@bp.post("/volunteers/<int:volunteer_id>/end")
@admin_required
def end_membership(volunteer_id: int) -> Response:
    """End a volunteer's membership: every grant revoked, sessions ended, off the Meta list.

    They become an applicant again (nothing of the desk, but they may apply
    anew).  Administrators and the head are ended only by the head.
    """
    me = current_volunteer()
    session = db.session()
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    if volunteer.id == me.id:
        abort(400, description=gettext("You cannot end your own membership here."))
    if is_admin(volunteer) and me.role != Role.HEAD.value:
        abort(403, description=gettext("Only the head ends the membership of an administrator."))
    queues = [g.queue.name for g in grants_of(session, volunteer)]
    for name in queues:
        queue = queue_by_name(session, name)
        if queue is not None:
            revoke(session, volunteer, queue, me.username)
    old = volunteer.role
    volunteer.role = Role.APPLICANT.value
    login_sessions.end_all_for(session, volunteer.id)
    record_change(
        session,
        actor=me.username,
        volunteer=volunteer,
        kind=AccessChangeKind.END_MEMBERSHIP,
        queues=queues,
        old_role=old,
        reason=request.form.get("reason", "").strip()[:500],
    )
    writes = _off_the_list(volunteer, queues)
    session.commit()
    recruiting_sync.enqueue(current_app._get_current_object(), writes)  # type: ignore[attr-defined]
    flash(gettext("The membership of %(name)s has ended.", name=volunteer.username), "info")
    return redirect(url_for("admin.volunteers"))
