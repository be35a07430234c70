"""Writing on a ticket: answers to the customer, internal notes, phone calls."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from tickets.access import Right
from tickets.answers import (
    VARIABLES,
    compose_body,
    last_customer_article,
    quote,
    reply_subject,
    sender_address,
    templates_for,
    variables,
)
from tickets.followup import NEXT_STATES, PENDING_STATES, change_state
from tickets.models import AnswerTemplate, Article, State, Ticket
from tickets.recipients import (
    FieldProblem,
    answer_recipient,
    field_problem,
    reply_to_addresses,
    same_addresses,
)
from tickets.tickets import record
from tickets.training import PRACTICE, is_training
from tickets.workflow import locked_by_other
from wikibridge import db
from wikibridge.jobs import jobs_of
from wikibridge.mail.outgoing import (
    FAILED,
    PENDING,
    Draft,
    TrainingRefused,
    resend,
    store_answer,
)
from wikibridge.web.access import current_volunteer, has_right, ticket_for
from wikibridge.web.security import logged_in, login_required

log = logging.getLogger(__name__)

bp = Blueprint("answers", __name__)

#: Longest text a note, call record or answer may have (a pasted mail archive is not one).
MAX_TEXT = 200_000


def _unsent(ticket: Ticket) -> list[Article]:
    return [a for a in ticket.articles if a.send_status in (PENDING, FAILED, "sending")]


def _compose_page(
    ticket: Ticket,
    chosen: AnswerTemplate | None = None,
    form: dict[str, str] | None = None,
    errors: list[str] | None = None,
    templates: Sequence[AnswerTemplate] | None = None,
) -> str:
    """The answer form: the first draft, or what the volunteer sent with what is wrong."""
    session = db.session()
    last = last_customer_article(ticket)
    reply_to = reply_to_addresses(session, [last]).get(last.id, "") if last else ""
    recipient = answer_recipient(last, reply_to, ticket.customer)
    if form is None:
        values = variables(ticket, ticket.queue, logged_in().username, recipient)
        quoted = quote(last.body, last.from_addr, last.created_at) if last else ""
        original = last.subject if last else ticket.title
        form = {
            "to": recipient,
            "cc": "",
            "subject": reply_subject(
                ticket.number, chosen.subject if chosen and chosen.subject else original
            ),
            "body": compose_body(chosen.body if chosen else "", values, quoted),
        }
    return render_template(
        "answer.html",
        ticket=ticket,
        templates=templates if templates is not None else templates_for(session, ticket.queue),
        chosen=chosen,
        form=form,
        errors=errors or [],
        # Said on the form when the mail asked for answers elsewhere than its sender.
        reply_to=reply_to if last and not same_addresses(reply_to, last.from_addr) else "",
        customer_from=last.from_addr if last else "",
        sender=sender_address(ticket.queue, current_app.config["MAIL_DOMAIN"]),
        variables=VARIABLES,
        next_states=NEXT_STATES,
        may_change_state=has_right(ticket.queue_id, Right.OWN),
        unsent=_unsent(ticket),
        training=is_training(session, ticket),
    )


@bp.get("/tickets/<number>/answer")
@login_required
def compose(number: str) -> str:
    """The answer form, prefilled from a template (or empty), quoting the customer.

    It goes to the Reply-To of the customer's latest mail (a web form's or a
    list's mail names the person there), else to its From.
    """
    ticket = ticket_for(number, Right.ANSWER)
    chosen: AnswerTemplate | None = None
    wanted = request.args.get("template", type=int)
    if wanted is not None:
        chosen = next(
            (t for t in templates_for(db.session(), ticket.queue) if t.id == wanted), None
        )
        if chosen is None:
            abort(404, description=gettext("No such answer template for this queue."))
    return _compose_page(ticket, chosen)


def _field_errors(form: dict[str, str]) -> list[str]:
    """What is wrong with the header fields, each message naming its field."""
    fields = [
        ("to", gettext("To"), True, True),
        ("cc", gettext("Cc"), True, False),
        ("subject", gettext("Subject"), False, False),
    ]
    errors = []
    for name, label, addresses, required in fields:
        problem = field_problem(form[name], addresses=addresses, required=required)
        if problem is FieldProblem.LINE_BREAK:
            message = gettext(
                "%(field)s: the field must be a single line; remove the line break.", field=label
            )
        elif problem is FieldProblem.CONTROL_CHARACTER:
            message = gettext(
                "%(field)s: the field contains a control character; remove it.", field=label
            )
        elif problem is FieldProblem.EMPTY:
            message = gettext("%(field)s: give at least one address.", field=label)
        elif problem is FieldProblem.NOT_AN_ADDRESS:
            message = gettext(
                "%(field)s: write addresses like jane@example.org or Jane Doe"
                " <jane@example.org>, separated by commas.",
                field=label,
            )
        else:
            continue
        errors.append(message)
    return errors


def _pending_until(state: str) -> dt.datetime | None:
    """The due time the form gives for a pending state (``datetime-local``, UTC)."""
    if state not in PENDING_STATES:
        return None
    text = request.form.get("pending_until", "").strip()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        abort(400, description=gettext("Give the date and time the ticket is due again (UTC)."))
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    if when <= dt.datetime.now(dt.UTC):
        abort(400, description=gettext("The pending date must be in the future."))
    return when


@bp.post("/tickets/<number>/answer")
@login_required
def send(number: str) -> Response | tuple[str, int]:
    """Store the answer, commit, then queue its sending; optionally change the state."""
    ticket = ticket_for(number, Right.ANSWER)
    if locked_by_other(ticket, current_volunteer()):
        # The lock is what keeps two volunteers from answering the same mail.
        owner = ticket.owner.username if ticket.owner else gettext("another volunteer")
        abort(
            409,
            description=gettext(
                "%(owner)s has locked this ticket and is answering it.", owner=owner
            ),
        )
    form = {
        "to": request.form.get("to", "").strip(),
        "cc": request.form.get("cc", "").strip(),
        "subject": request.form.get("subject", "").strip(),
        "body": request.form.get("body", ""),
    }
    errors = _field_errors(form)
    if not form["body"].strip():
        errors.append(gettext("Text: write the answer first."))
    if len(form["body"]) > MAX_TEXT:
        abort(400, description=gettext("The answer is too long."))
    if errors:
        # The form again with everything typed: a stray line break costs no text.
        return _compose_page(ticket, form=form, errors=errors), 400
    state = request.form.get("next_state", "")
    if state and state not in NEXT_STATES:
        abort(400, description=gettext("Choose one of the offered states."))
    if state and state != ticket.state and not has_right(ticket.queue_id, Right.OWN):
        # Checked before anything is stored, so nothing half-done is left.
        abort(
            403,
            description=gettext(
                "You may answer but not change the state (needs the right %(right)s).",
                right=Right.OWN,
            ),
        )
    until = _pending_until(state)
    draft = Draft(
        to=form["to"],
        cc=form["cc"],
        subject=reply_subject(ticket.number, form["subject"] or ticket.title),
        body=form["body"],
    )
    session = db.session()
    article = store_answer(session, current_app.config, ticket, draft, logged_in().username)
    if state:
        change_state(session, ticket, state, logged_in().username, until, by="answer")
    elif ticket.state == State.NEW.value:
        # Answered is no longer new: it stays in the lists, as open.
        change_state(session, ticket, State.OPEN.value, logged_in().username, by="answer")
    session.commit()
    if article.send_status == PRACTICE:
        flash(gettext("Practice answer saved: answers in Training are never mailed."), "info")
    else:
        _enqueue(article.id)
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))


def _enqueue(article_id: int) -> None:
    """Queue the sending; if the queue is down, the sweep picks it up."""
    try:
        jobs_of(current_app).send_article(article_id)
    except Exception:  # the answer is stored; the sweep sends it
        log.exception("cannot enqueue article %s; the sweep will", article_id)
        flash(gettext("The answer is saved; it will be sent in a few minutes."), "info")
    else:
        flash(gettext("The answer is saved and being sent."), "info")


@bp.get("/tickets/<number>/note")
@login_required
def note_form(number: str) -> str:
    """The form for an internal note or a phone call record."""
    ticket = ticket_for(number, Right.NOTE)
    kind = "phone" if request.args.get("kind") == "phone" else "note"
    return render_template("note.html", ticket=ticket, kind=kind)


def _text() -> str:
    text = request.form.get("body", "")
    if not text.strip():
        abort(400, description=gettext("Write something first."))
    if len(text) > MAX_TEXT:
        abort(400, description=gettext("The text is too long."))
    return text


@bp.post("/tickets/<number>/note")
@login_required
def add_note(number: str) -> Response:
    """An internal note: for volunteers only, never sent."""
    ticket = ticket_for(number, Right.NOTE)
    session = db.session()
    article = Article(
        ticket=ticket,
        channel="note",
        sender_type="agent",
        from_addr=logged_in().username,
        subject=request.form.get("subject", "").strip()[:500] or "Note",
        body=_text(),
    )
    session.add(article)
    session.flush()
    record(session, ticket, "note", logged_in().username, article_id=article.id)
    session.commit()
    flash(gettext("Note added."), "info")
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))


@bp.post("/tickets/<number>/phone")
@login_required
def add_phone(number: str) -> Response:
    """A record of a phone call, in either direction."""
    ticket = ticket_for(number, Right.NOTE)
    inbound = request.form.get("direction", "inbound") != "outbound"
    other = request.form.get("other", "").strip()[:500] or ticket.customer
    session = db.session()
    article = Article(
        ticket=ticket,
        channel="phone",
        # Who spoke first: a customer's call reads like their mail would.
        sender_type="customer" if inbound else "agent",
        from_addr=other if inbound else logged_in().username,
        to_addr=logged_in().username if inbound else other,
        subject=request.form.get("subject", "").strip()[:500]
        or ("Call from " + other if inbound else "Call to " + other),
        body=_text(),
    )
    session.add(article)
    session.flush()
    record(
        session,
        ticket,
        "phone",
        logged_in().username,
        article_id=article.id,
        direction="inbound" if inbound else "outbound",
    )
    session.commit()
    flash(gettext("Phone call recorded."), "info")
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))


@bp.post("/tickets/<number>/articles/<int:article_id>/resend")
@login_required
def resend_article(number: str, article_id: int) -> Response:
    """Try a failed answer again."""
    ticket = ticket_for(number, Right.ANSWER)
    session = db.session()
    article = session.get(Article, article_id)
    if article is None or article.ticket_id != ticket.id:
        abort(404)
    try:
        resend(session, article, logged_in().username)
    except TrainingRefused:
        session.commit()  # the refusal stays in the ticket's history
        abort(
            409,
            description=gettext(
                "Not sent: the ticket is in Training, and nothing in Training is ever mailed."
            ),
        )
    except ValueError as exc:
        abort(409, description=str(exc))
    session.commit()
    _enqueue(article.id)
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))
