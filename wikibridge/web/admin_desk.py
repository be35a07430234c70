"""Administration of the desk itself: queues, answer templates, signatures and news.

Each page is one GET that lists and one POST that changes, the change chosen
by the form's ``action``.  Nothing is deleted: queues and templates are marked
invalid, news is unpublished.  Every change is logged with who made it.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.answers import VARIABLES
from tickets.models import AnswerTemplate, News, Queue
from tickets.news import NewsError, all_news, edit_news, post_news, publish, unpublish
from tickets.queues import ensure_queues, queue_by_name
from wikibridge import db
from wikibridge.web.access import admin_required, current_volunteer

bp = Blueprint("admin_desk", __name__, url_prefix="/admin")

# Limits of the columns the forms fill.
QUEUE_NAME_MAX = 200
COMMENT_MAX = 500
EMAIL_MAX = 255
TEMPLATE_NAME_MAX = 200
SUBJECT_MAX = 500

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_VARIABLE_RE = re.compile(r"\{(\w+)\}")


def _audit(what: str) -> None:
    """Log an administrative change with who made it (the log records when)."""
    current_app.logger.info("admin %s: %s", current_volunteer().username, what)


def _field(name: str, limit: int, label: str) -> str:
    """A one-line form field, trimmed; 400 when longer than ``limit``."""
    value = request.form.get(name, "").strip()
    if len(value) > limit:
        abort(400, description=gettext("%(label)s is too long.", label=label))
    return value


def _text(name: str) -> str:
    """A multi-line form field with the browser's CRLF made LF, trailing space trimmed."""
    return request.form.get(name, "").replace("\r\n", "\n").rstrip()


def _row_id(name: str) -> int:
    """The row id the form names; 400 when missing or not a number."""
    value = request.form.get(name, type=int)
    if value is None:
        abort(400, description=gettext("The form did not say which entry to change."))
    return value


def _action(allowed: set[str]) -> str:
    """The form's ``action``; 400 when it is not one this page knows."""
    action = request.form.get("action", "")
    if action not in allowed:
        abort(400, description=gettext("Unknown action. Reload the page and try again."))
    return action


# Queues -------------------------------------------------------------------


def _tree(queues: list[Queue]) -> list[Queue]:
    """Queues ordered so every subqueue follows its parent."""
    return sorted(queues, key=lambda q: q.name.split("::"))


def _checked_queue_name(raw: str) -> str:
    """``Parent::child`` with each part trimmed; 400 for empty parts or control characters."""
    parts = [part.strip() for part in raw.split("::")]
    name = "::".join(parts)
    if not all(parts) or _CONTROL_RE.search(name):
        abort(400, description=gettext("Name the queue like Parent::child, without empty parts."))
    if len(name) > QUEUE_NAME_MAX:
        abort(400, description=gettext("The queue name is too long."))
    return name


def _checked_email() -> str:
    """The queue's sender address, or "" for the default; 400 when it is no address."""
    address = _field("email_address", EMAIL_MAX, gettext("The email address"))
    if address and not _EMAIL_RE.match(address):
        abort(400, description=gettext("%(address)s is not an email address.", address=address))
    return address


def _queue_settings(queue: Queue) -> list[str]:
    """Set comment, sender address and signature from the form; return what changed."""
    wanted = {
        "comment": _field("comment", COMMENT_MAX, gettext("The comment")),
        "email_address": _checked_email(),
        "signature": _text("signature"),
    }
    changed = [key for key, value in wanted.items() if getattr(queue, key) != value]
    for key in changed:
        setattr(queue, key, wanted[key])
    return changed


@bp.get("/queues")
@admin_required
def queues() -> str:
    """The whole queue tree, invalid queues included, with their settings."""
    session = db.session()
    return render_template("admin_queues.html", queues=_tree(list(session.scalars(select(Queue)))))


@bp.post("/queues")
@admin_required
def save_queue() -> Response:
    """Create a queue, change its settings, or mark it invalid or valid again."""
    action = _action({"create", "edit", "invalidate", "validate"})
    session = db.session()
    if action == "create":
        name = _checked_queue_name(request.form.get("name", ""))
        existing = queue_by_name(session, name)
        if existing is not None:
            hint = "" if existing.valid else " " + gettext("It is invalid; mark it valid instead.")
            flash(gettext("The queue %(name)s exists already.", name=name) + hint, "error")
            return redirect(url_for("admin_desk.queues"))
        created = ensure_queues(session, [name])
        _queue_settings(created[-1])
        _audit(f"created queue(s) {', '.join(q.name for q in created)}")
        session.commit()
        flash(gettext("Queue %(name)s created.", name=name), "info")
        return redirect(url_for("admin_desk.queues"))
    queue = session.get(Queue, _row_id("queue_id"))
    if queue is None:
        abort(404)
    if action == "edit":
        changed = _queue_settings(queue)
        if changed:
            _audit(f"changed {', '.join(changed)} of queue {queue.name}")
            flash(gettext("Queue %(name)s saved.", name=queue.name), "info")
    else:
        valid = action == "validate"
        if queue.valid != valid:
            queue.valid = valid
            _audit(f"marked queue {queue.name} {'valid' if valid else 'invalid'}")
        if valid:
            flash(gettext("Queue %(name)s is valid again.", name=queue.name), "info")
        else:
            flash(
                gettext(
                    "Queue %(name)s is invalid: it is hidden, its tickets are kept.",
                    name=queue.name,
                ),
                "info",
            )
    session.commit()
    return redirect(url_for("admin_desk.queues"))


# Answer templates ---------------------------------------------------------


def _unknown_variables(*texts: str) -> list[str]:
    """``{names}`` in the texts that are no template variable (kept as typed when filled)."""
    found = {m.group(1) for text in texts for m in _VARIABLE_RE.finditer(text)}
    return sorted(found - set(VARIABLES))


def _template_fields(template: AnswerTemplate) -> list[str]:
    """Set name, queue, subject and body from the form; return what changed."""
    name = _field("name", TEMPLATE_NAME_MAX, gettext("The name"))
    if not name:
        abort(400, description=gettext("Give the template a name."))
    queue_name = request.form.get("queue", "").strip()
    queue_id: int | None = None
    if queue_name:
        queue = queue_by_name(db.session(), queue_name)
        if queue is None:
            abort(400, description=gettext("Choose a queue, or all queues."))
        queue_id = queue.id
    wanted: dict[str, object] = {
        "name": name,
        "queue_id": queue_id,
        "subject": _field("subject", SUBJECT_MAX, gettext("The subject")),
        "body": _text("body"),
    }
    changed = [key for key, value in wanted.items() if getattr(template, key) != value]
    for key in changed:
        setattr(template, key, wanted[key])
    unknown = _unknown_variables(template.subject, template.body)
    if unknown:
        flash(
            gettext(
                "Unknown variables stay as written: %(names)s.",
                names=", ".join("{" + n + "}" for n in unknown),
            ),
            "error",
        )
    return changed


@bp.get("/templates")
@admin_required
def answer_templates() -> str:
    """Every answer template, invalid ones included, and a form for a new one."""
    session = db.session()
    rows = list(
        session.scalars(
            select(AnswerTemplate).order_by(
                AnswerTemplate.valid.desc(), AnswerTemplate.name, AnswerTemplate.id
            )
        )
    )
    return render_template(
        "admin_templates.html",
        templates=rows,
        queues=_tree(list(session.scalars(select(Queue)))),
        variables=VARIABLES,
    )


@bp.post("/templates")
@admin_required
def save_template() -> Response:
    """Create or change an answer template, or mark it invalid or valid again."""
    action = _action({"create", "edit", "invalidate", "validate"})
    session = db.session()
    if action == "create":
        template = AnswerTemplate(created_by=current_volunteer().username)
        _template_fields(template)
        session.add(template)
        session.flush()
        _audit(f"created answer template {template.id} {template.name!r}")
        session.commit()
        flash(gettext("Template %(name)s created.", name=template.name), "info")
        return redirect(url_for("admin_desk.answer_templates"))
    found = session.get(AnswerTemplate, _row_id("template_id"))
    if found is None:
        abort(404)
    if action == "edit":
        changed = _template_fields(found)
        if changed:
            _audit(f"changed {', '.join(changed)} of answer template {found.id}")
            flash(gettext("Template %(name)s saved.", name=found.name), "info")
    else:
        valid = action == "validate"
        if found.valid != valid:
            found.valid = valid
            _audit(f"marked answer template {found.id} {'valid' if valid else 'invalid'}")
        if valid:
            flash(gettext("Template %(name)s is offered again.", name=found.name), "info")
        else:
            flash(gettext("Template %(name)s is no longer offered.", name=found.name), "info")
    session.commit()
    return redirect(url_for("admin_desk.answer_templates"))


# News ---------------------------------------------------------------------


@bp.get("/news")
@admin_required
def news() -> str:
    """Every announcement, unpublished ones included, and a form for a new one."""
    return render_template("admin_news.html", items=all_news(db.session()))


@bp.post("/news")
@admin_required
def save_news() -> Response:
    """Post, edit, publish or unpublish an announcement."""
    action = _action({"create", "edit", "publish", "unpublish"})
    session = db.session()
    title, body = request.form.get("title", ""), _text("body")
    try:
        if action == "create":
            item = post_news(session, title, body, current_volunteer().username)
            _audit(f"posted news {item.id}")
            session.commit()
            flash(gettext("News posted; it shows on the login page."), "info")
            return redirect(url_for("admin_desk.news"))
        found = session.get(News, _row_id("news_id"))
        if found is None:
            abort(404)
        if action == "edit":
            if edit_news(found, title, body):
                _audit(f"edited news {found.id}")
                flash(gettext("News saved."), "info")
        elif action == "publish":
            if publish(found):
                _audit(f"published news {found.id}")
            flash(gettext("News shows on the login page."), "info")
        else:
            if unpublish(found):
                _audit(f"unpublished news {found.id}")
            flash(gettext("News no longer shows on the login page; it is kept."), "info")
    except NewsError as exc:
        session.rollback()
        abort(400, description=str(exc))
    session.commit()
    return redirect(url_for("admin_desk.news"))
