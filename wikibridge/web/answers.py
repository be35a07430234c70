"""Writing on a ticket: answers to the customer, internal notes, phone calls."""

from __future__ import annotations

import datetime as dt
import logging

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
from tickets.tickets import record
from tickets.workflow import locked_by_other
from wikibridge import db
from wikibridge.jobs import jobs_of
from wikibridge.mail.outgoing import FAILED, PENDING, Draft, resend, store_answer
from wikibridge.web.access import current_volunteer, has_right, ticket_for
from wikibridge.web.security import logged_in, login_required

log = logging.getLogger(__name__)

bp = Blueprint("answers", __name__)

#: Longest text a note, call record or answer may have (a pasted mail archive is not one).
MAX_TEXT = 200_000


def _unsent(ticket: Ticket) -> list[Article]:
    return [a for a in ticket.articles if a.send_status in (PENDING, FAILED, "sending")]


@bp.get("/tickets/<number>/answer")
@login_required
def compose(number: str) -> str:
    """The answer form, prefilled from a template (or empty), quoting the customer."""
    ticket = ticket_for(number, Right.ANSWER)
    session = db.session()
    templates = templates_for(session, ticket.queue)
    chosen: AnswerTemplate | None = None
    wanted = request.args.get("template", type=int)
    if wanted is not None:
        chosen = next((t for t in templates if t.id == wanted), None)
        if chosen is None:
            abort(404, description=gettext("No such answer template for this queue."))
    last = last_customer_article(ticket)
    values = variables(ticket, ticket.queue, logged_in().username, last.from_addr if last else "")
    quoted = quote(last.body, last.from_addr, last.created_at) if last else ""
    body = compose_body(chosen.body if chosen else "", values, quoted)
    original = last.subject if last else ticket.title
    subject = reply_subject(
        ticket.number, chosen.subject if chosen and chosen.subject else original
    )
    return render_template(
        "answer.html",
        ticket=ticket,
        templates=templates,
        chosen=chosen,
        to=last.from_addr if last else ticket.customer,
        subject=subject,
        body=body,
        sender=sender_address(ticket.queue, current_app.config["MAIL_DOMAIN"]),
        variables=VARIABLES,
        next_states=NEXT_STATES,
        may_change_state=has_right(ticket.queue_id, Right.OWN),
        unsent=_unsent(ticket),
    )


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
def send(number: str) -> Response:
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
    to = request.form.get("to", "").strip()
    body = request.form.get("body", "")
    if not to or not body.strip():
        abort(400, description=gettext("An answer needs a recipient and a text."))
    if len(body) > MAX_TEXT:
        abort(400, description=gettext("The answer is too long."))
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
        to=to,
        cc=request.form.get("cc", "").strip(),
        subject=reply_subject(ticket.number, request.form.get("subject", "") or ticket.title),
        body=body,
    )
    session = db.session()
    article = store_answer(session, current_app.config, ticket, draft, logged_in().username)
    if state:
        change_state(session, ticket, state, logged_in().username, until, by="answer")
    elif ticket.state == State.NEW.value:
        # Answered is no longer new: it stays in the lists, as open.
        change_state(session, ticket, State.OPEN.value, logged_in().username, by="answer")
    session.commit()
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
    except ValueError as exc:
        abort(409, description=str(exc))
    session.commit()
    _enqueue(article.id)
    return redirect(url_for("queues.zoom", number=number, _anchor=f"article-{article.id}"))
