"""Training pages: the administrators' sample messages, trainees and feedback.

``/admin/training`` lists the samples (create, edit, retire, restore; never
deleted), the answers in Training waiting for feedback, and the trainees
with their reviewed answers and held queues (release or end by hand).  The
feedback form on a training answer is for administrators only.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.models import Article
from tickets.recruiting_settings import current_settings
from tickets.training import (
    HeldGrant,
    SampleFields,
    TrainingError,
    TrainingSample,
    all_samples,
    answer_author,
    answers_awaiting_feedback,
    create_sample,
    edit_sample,
    end_held,
    leave_feedback,
    release_held,
    sample_versions,
    set_sample_valid,
    trainees,
)
from wikibridge import db
from wikibridge.web.access import admin_required, current_volunteer, ticket_for

bp = Blueprint("training", __name__)


def _message(exc: TrainingError) -> str:
    """The reader's-language text for a refused training change."""
    messages = {
        "address": gettext("The sender is not an email address."),
        "domain": gettext(
            "A sample's sender must be at a reserved domain (example.org, example.com, "
            "example.net, .example, .invalid or .test), so no answer can reach a real person."
        ),
        "title": gettext("Give the sample a title."),
        "subject": gettext("Give the sample message a subject."),
        "body": gettext("Write the sample message."),
        "long": gettext("A field is too long."),
        "language": gettext("Give the language as a code like en or de."),
        "not-answer": gettext("Feedback goes on answers only, not on mail received or notes."),
        "not-training": gettext("Feedback goes on answers in Training only."),
        "empty": gettext("Write the feedback first."),
        "closed": gettext("This held queue was released or ended already."),
    }
    return messages.get(exc.code, str(exc))


def _audit(what: str) -> None:
    """Log an administrative change with who made it (the rows keep it too)."""
    current_app.logger.info("admin %s: %s", current_volunteer().username, what)


def _fields() -> SampleFields:
    form = request.form
    return SampleFields(
        title=form.get("title", ""),
        from_name=form.get("from_name", ""),
        from_address=form.get("from_address", ""),
        subject=form.get("subject", ""),
        body=form.get("body", ""),
        language=form.get("language", ""),
    )


def _row_id(name: str) -> int:
    value = request.form.get(name, type=int)
    if value is None:
        abort(400, description=gettext("The form did not say which entry to change."))
    return value


@bp.get("/admin/training")
@admin_required
def admin_training() -> str:
    """Samples, answers waiting for feedback, and trainees with their held queues."""
    session = db.session()
    samples = all_samples(session)
    awaiting = answers_awaiting_feedback(session)
    return render_template(
        "admin_training.html",
        samples=samples,
        versions={s.id: len(sample_versions(session, s)) for s in samples},
        awaiting=awaiting,
        authors={a.id: answer_author(session, a) or "" for a in awaiting},
        trainees=trainees(session),
        required=current_settings(session).training_reviews_required,
    )


@bp.post("/admin/training")
@admin_required
def save_training() -> Response:
    """Create, edit, retire or restore a sample; release or end a held queue."""
    action = request.form.get("action", "")
    if action not in {"create", "edit", "retire", "restore", "release", "end"}:
        abort(400, description=gettext("Unknown action. Reload the page and try again."))
    session = db.session()
    me = current_volunteer().username
    try:
        if action == "create":
            sample = create_sample(session, _fields(), me)
            _audit(f"created training sample {sample.id}")
            flash(gettext("Sample %(title)s saved.", title=sample.title), "info")
        elif action in ("edit", "retire", "restore"):
            found = session.get(TrainingSample, _row_id("sample_id"))
            if found is None:
                abort(404)
            if action == "edit":
                if edit_sample(session, found, _fields(), me):
                    _audit(f"edited training sample {found.id}")
                flash(gettext("Sample %(title)s saved.", title=found.title), "info")
            else:
                if set_sample_valid(session, found, action == "restore", me):
                    _audit(f"{action}d training sample {found.id}")
                if action == "retire":
                    flash(
                        gettext(
                            "Sample %(title)s retired: no new practice tickets come from it; "
                            "it is kept.",
                            title=found.title,
                        ),
                        "info",
                    )
                else:
                    flash(gettext("Sample %(title)s is used again.", title=found.title), "info")
        else:
            held = session.get(HeldGrant, _row_id("held_id"))
            if held is None:
                abort(404)
            if action == "release":
                release_held(session, held, me)
                _audit(f"released held queue {held.queue.name} of {held.volunteer.username}")
                flash(
                    gettext(
                        "%(name)s now has %(queue)s.",
                        name=held.volunteer.username,
                        queue=held.queue.name,
                    ),
                    "info",
                )
            else:
                end_held(session, held, me)
                _audit(f"ended held queue {held.queue.name} of {held.volunteer.username}")
                flash(
                    gettext(
                        "%(queue)s will not open for %(name)s.",
                        name=held.volunteer.username,
                        queue=held.queue.name,
                    ),
                    "info",
                )
    except TrainingError as exc:
        session.rollback()
        abort(400, description=_message(exc))
    session.commit()
    return redirect(url_for("training.admin_training"))


@bp.post("/tickets/<number>/articles/<int:article_id>/feedback")
@admin_required
def give_feedback(number: str, article_id: int) -> Response:
    """An administrator's feedback on a training answer; may open the trainee's queues."""
    ticket = ticket_for(number)
    session = db.session()
    article = session.get(Article, article_id)
    if article is None or article.ticket_id != ticket.id:
        abort(404)
    # Open held queues before, so the ones this feedback opens can be named.
    waiting = list(
        session.scalars(
            select(HeldGrant).where(HeldGrant.released_at.is_(None), HeldGrant.ended_at.is_(None))
        )
    )
    try:
        row = leave_feedback(
            session,
            article,
            current_volunteer().username,
            request.form.get("text", ""),
            current_settings(session),
        )
    except TrainingError as exc:
        session.rollback()
        abort(400, description=_message(exc))
    opened = [h.queue.name for h in waiting if h.released_at is not None]
    session.commit()
    flash(gettext("Feedback saved; the volunteer sees it on the ticket."), "info")
    if opened and row.trainee is not None:
        flash(
            gettext(
                "Enough reviewed answers: %(queues)s now open for %(name)s.",
                queues=", ".join(opened),
                name=row.trainee.username,
            ),
            "info",
        )
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))
