"""The administrators' view of page writes: those that wait or failed, retry and cancel."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response

from tickets.wiki_writes import (
    UNSETTLED,
    WRITE_STATES,
    WikiWrite,
    cancel_write,
    listing,
    next_in_line,
    retry_write,
)
from wikibridge import db
from wikibridge.web.access import admin_required, current_volunteer
from wikibridge.web.redirects import same_site_path
from wikibridge.wiki.writes import enqueue_writes

bp = Blueprint("wiki_writes", __name__, url_prefix="/admin/wiki-writes")

#: Rows shown at once.
LIMIT = 500


@bp.get("")
@admin_required
def list_writes() -> str:
    """Writes that wait or failed (or those in the states asked for), newest first."""
    wanted = [s for s in request.args.getlist("status") if s in WRITE_STATES]
    purpose = request.args.get("purpose", "").strip() or None
    writes = listing(db.session(), wanted or UNSETTLED, purpose, LIMIT)
    return render_template(
        "admin_wiki_writes.html",
        writes=writes,
        states=WRITE_STATES,
        wanted=wanted,
        purpose=purpose or "",
        limit=LIMIT,
    )


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _back() -> Response:
    return redirect(same_site_path(request.form.get("next")) or url_for("wiki_writes.list_writes"))


@bp.post("/<int:write_id>/retry")
@admin_required
def retry(write_id: int) -> Response:
    """Queue a paused, stopped or failed write again and hand it to a worker."""
    session = db.session()
    if session.get(WikiWrite, write_id) is None:
        abort(404)
    write = retry_write(session, write_id, current_volunteer().username)
    if write is None:
        flash(gettext("Only a paused, stopped or failed write can be retried."), "error")
        return _back()
    enqueue_writes(_app(), [write_id])
    flash(gettext("Write %(id)d is queued again.", id=write_id), "info")
    return _back()


@bp.post("/<int:write_id>/cancel")
@admin_required
def cancel(write_id: int) -> Response:
    """Give up a write no worker holds; later writes of its purpose go ahead."""
    session = db.session()
    if session.get(WikiWrite, write_id) is None:
        abort(404)
    write = cancel_write(session, write_id, current_volunteer().username)
    if write is None:
        flash(gettext("This write is running or has ended: it cannot be cancelled."), "error")
        return _back()
    following = next_in_line(session, write)
    if following is not None:
        enqueue_writes(_app(), [following])
    flash(gettext("Write %(id)d is cancelled.", id=write_id), "info")
    return _back()
