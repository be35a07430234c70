"""Actions on a ticket: take, release, state, priority, merge, link."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from tickets.access import Right
from tickets.workflow import (
    WorkflowError,
    link,
    merge,
    parse_pending,
    release,
    set_priority,
    set_state,
    take,
)
from wikibridge import db
from wikibridge.web.access import current_volunteer, has_right, ticket_for
from wikibridge.web.security import login_required

bp = Blueprint("actions", __name__)


def _back(number: str) -> Response:
    return redirect(url_for("queues.zoom", number=number))


def _done(number: str, message: str) -> Response:
    db.session().commit()
    flash(message, "info")
    return _back(number)


def _refused(number: str, exc: WorkflowError) -> Response:
    db.session().rollback()
    flash(str(exc), "error")
    return _back(number)


@bp.post("/tickets/<number>/take")
@login_required
def take_ticket(number: str) -> Response:
    """Own and lock the ticket, so nobody else answers it meanwhile."""
    ticket = ticket_for(number, Right.OWN)
    try:
        take(db.session(), ticket, current_volunteer())
    except WorkflowError as exc:
        return _refused(number, exc)
    return _done(number, gettext("You own this ticket now; it is locked for you."))


@bp.post("/tickets/<number>/release")
@login_required
def release_ticket(number: str) -> Response:
    """Unlock the ticket."""
    ticket = ticket_for(number, Right.OWN)
    try:
        release(db.session(), ticket, current_volunteer())
    except WorkflowError as exc:
        return _refused(number, exc)
    return _done(number, gettext("Ticket unlocked."))


@bp.post("/tickets/<number>/state")
@login_required
def change_state(number: str) -> Response:
    """Set the state (pending states with a date)."""
    ticket = ticket_for(number, Right.OWN)
    try:
        until = parse_pending(request.form.get("pending_until", ""))
        set_state(
            db.session(), ticket, request.form.get("state", ""), current_volunteer().username, until
        )
    except WorkflowError as exc:
        return _refused(number, exc)
    return _done(number, gettext("State: %(state)s.", state=ticket.state))


@bp.post("/tickets/<number>/priority")
@login_required
def change_priority(number: str) -> Response:
    """Set the priority, 1 to 5."""
    ticket = ticket_for(number, Right.OWN)
    try:
        set_priority(
            db.session(),
            ticket,
            request.form.get("priority", 0, type=int),
            current_volunteer().username,
        )
    except WorkflowError as exc:
        return _refused(number, exc)
    return _done(number, gettext("Priority: %(priority)s.", priority=ticket.priority))


@bp.post("/tickets/<number>/merge")
@login_required
def merge_ticket(number: str) -> Response:
    """Merge this ticket into another one the volunteer may own."""
    ticket = ticket_for(number, Right.OWN)
    target = ticket_for(request.form.get("into", "").strip(), Right.OWN)
    try:
        merge(db.session(), ticket, target, current_volunteer().username)
    except WorkflowError as exc:
        return _refused(number, exc)
    return _done(number, gettext("Merged into %(n)s.", n=target.number))


@bp.post("/tickets/<number>/link")
@login_required
def link_ticket(number: str) -> Response:
    """Link this ticket to another one the volunteer may see."""
    ticket = ticket_for(number, Right.NOTE)
    other = ticket_for(request.form.get("other", "").strip())
    if not has_right(other.queue_id, Right.READ):
        abort(404)
    try:
        made = link(db.session(), ticket, other, current_volunteer().username)
    except WorkflowError as exc:
        return _refused(number, exc)
    if not made:
        return _done(number, gettext("Already linked."))
    return _done(number, gettext("Linked to %(n)s.", n=other.number))
