"""The volunteers' workspace: queue view, ticket zoom, linked pages."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from tickets.access import Right, is_admin
from tickets.listing import (
    SORTS,
    TicketFilter,
    locked_count,
    open_counts_of,
    open_tickets,
    page_numbers,
    state_counts,
    subtree_ids,
)
from tickets.models import Article, History, PageLink, Queue, RoutingCorrection, Ticket
from tickets.moves import move_ticket
from tickets.recipients import reply_to_addresses
from tickets.recruiting_settings import current_settings
from tickets.references import live_references_of_ticket
from tickets.search import same_customer
from tickets.tickets import ticket_by_number
from tickets.training import (
    feedback_for,
    held_grants,
    is_answer,
    is_training,
    practice_of,
    reviewed_answers,
)
from tickets.workflow import (
    SETTABLE_STATES,
    WorkflowError,
    linked_tickets,
    merge,
    parse_pending,
    set_priority,
    set_state,
    take,
)
from wikibridge import db, metrics
from wikibridge.web.access import current_volunteer, has_right, ticket_for, visible_queues
from wikibridge.web.articles import header_block
from wikibridge.web.history import describe
from wikibridge.web.labels import age_text, priority_label
from wikibridge.web.pages import pages_context
from wikibridge.web.security import logged_in, login_required

bp = Blueprint("queues", __name__)


@bp.get("/")
def index() -> Response:
    """Start at the queue view (or the login page)."""
    return redirect(url_for("queues.queue_view"))


def _filters() -> TicketFilter:
    """The list's filters and order from the query string."""
    args = request.args
    locked = {"yes": True, "no": False}.get(args.get("locked", ""))
    owner = None
    if args.get("owner") == "me" or args.get("mine"):
        owner = current_volunteer().id
    if args.get("mine"):
        locked = True
    return TicketFilter(
        state=args.get("state", ""),
        owner_id=owner,
        locked=locked,
        language=args.get("language") or None,
        sort=args.get("sort", "age") if args.get("sort") in SORTS else "age",
    )


@bp.get("/queues")
@bp.get("/queues/<path:name>")
@login_required
def queue_view(name: str | None = None) -> str:
    """The queue tree with open counts, and one page of the chosen queue's tickets."""
    queues = visible_queues()
    by_state = state_counts(db.session())
    counts = open_counts_of(by_state)
    if name is None:
        ids = [q.id for q in queues]
        chosen = None
    else:
        chosen = next((q for q in queues if q.name == name), None)
        if chosen is None:
            abort(404)
        ids = subtree_ids(queues, chosen)
    filters = _filters()
    page = open_tickets(
        db.session(),
        ids,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["TICKETS_PER_PAGE"],
        filters=filters,
        counts=counts,
        by_state=by_state,
    )
    mine = locked_count(db.session(), current_volunteer().id, [q.id for q in queues])
    return render_template(
        "queue.html",
        held=_held_note(),
        queues=queues,
        counts=counts,
        chosen=chosen,
        page=page,
        filters=filters,
        page_numbers=page_numbers(page.page, page.pages),
        # ?lang= chooses the interface language; it is not a list filter.
        args={k: v for k, v in request.args.items() if k not in ("page", "lang")},
        states=SETTABLE_STATES,
        my_locked=mine,
        age_text=age_text,
        priority_label=priority_label,
    )


def _held_note() -> dict[str, Any] | None:
    """The queues waiting for the volunteer's reviewed training answers, if any."""
    session = db.session()
    me = current_volunteer()
    held = held_grants(session, me)
    if not held:
        return None
    return {
        "queues": ", ".join(h.queue.name for h in held),
        "required": current_settings(session).training_reviews_required,
        "done": reviewed_answers(session, me),
    }


BULK_ACTIONS = ("move", "state", "priority", "lock", "merge")


def _move(session: Session, ticket: Ticket, target: Queue, actor: str) -> bool:
    """:func:`move_ticket`, noting the routing correction it made for the metrics."""
    seen = {id(row) for row in session.new}
    moved = move_ticket(session, ticket, target, actor)
    # move_ticket adds the correction without flushing: it is among the new rows.
    g.setdefault("routing_corrections", []).extend(
        row.rule
        for row in session.new
        if isinstance(row, RoutingCorrection) and id(row) not in seen
    )
    return moved


def _count_corrections() -> None:
    """Count the routing corrections this request committed."""
    for rule in g.pop("routing_corrections", []):
        metrics.routing_corrected(rule)


@bp.post("/queues/bulk")
@login_required
def bulk() -> Response:
    """Apply one action to the selected tickets; each ticket is checked on its own."""
    action = request.form.get("action", "")
    numbers = request.form.getlist("tickets")
    if action not in BULK_ACTIONS or not numbers:
        abort(400, description=gettext("Select tickets and an action."))
    session = db.session()
    done, refused = [], []
    into = ticket_for(numbers[0], Right.OWN) if action == "merge" else None
    for number in numbers[1:] if action == "merge" else numbers:
        ticket = ticket_by_number(session, number)
        if ticket is None or not has_right(ticket.queue_id, Right.OWN):
            refused.append(number)
            continue
        try:
            _bulk_one(action, ticket, into)
        except WorkflowError:
            refused.append(number)
            continue
        done.append(number)
    session.commit()
    _count_corrections()
    if refused:
        message = gettext(
            "%(action)s: %(done)s done, %(refused)s refused",
            action=action,
            done=len(done),
            refused=len(refused),
        )
    else:
        message = gettext("%(action)s: %(done)s done", action=action, done=len(done))
    flash(message, "info" if not refused else "error")
    return redirect(request.referrer or url_for("queues.queue_view"))


def _bulk_one(action: str, ticket: Ticket, into: Ticket | None) -> None:
    session = db.session()
    me = current_volunteer()
    form = request.form
    if action == "move":
        target = next((q for q in visible_queues() if q.name == form.get("queue")), None)
        if target is None or not has_right(target.id, Right.MOVE_INTO):
            raise WorkflowError("no such queue")
        _move(session, ticket, target, me.username)
    elif action == "state":
        until = parse_pending(form.get("pending_until", ""))
        set_state(session, ticket, form.get("state", ""), me.username, until)
    elif action == "priority":
        set_priority(session, ticket, form.get("priority", 0, type=int), me.username)
    elif action == "lock":
        take(session, ticket, me)
    elif action == "merge" and into is not None:
        merge(session, ticket, into, me.username)


@bp.get("/tickets/<number>")
@login_required
def zoom(number: str) -> str:
    """Everything about one ticket."""
    ticket = ticket_for(number)
    # One query per collection, not one per article: zooms of long tickets stay fast.
    db.session().scalars(
        select(Ticket)
        .where(Ticket.id == ticket.id)
        .options(
            selectinload(Ticket.articles).selectinload(Article.attachments),
            selectinload(Ticket.page_links).selectinload(PageLink.actions),
            selectinload(Ticket.owner),
        )
    ).one()
    wikis: dict[str, Any] = current_app.config["WIKIS"]
    history = db.session().scalars(
        select(History).where(History.ticket_id == ticket.id).order_by(History.id)
    )
    return render_template(
        "zoom.html",
        ticket=ticket,
        ticket_history=list(history),
        describe=describe,
        states=SETTABLE_STATES,
        header_block=header_block,
        # Answers go there: the volunteer sees it beside From.
        reply_tos=reply_to_addresses(
            db.session(), [a for a in ticket.articles if a.sender_type == "customer"]
        ),
        # Headers are parsed from the raw message only for the article asked for.
        shown_headers=request.args.get("headers", type=int),
        other_tickets=_customer_tickets(ticket),
        linked=[
            t for t in linked_tickets(db.session(), ticket) if has_right(t.queue_id, Right.READ)
        ],
        queues=visible_queues(),
        age=age_text(ticket.created_at),
        priority=priority_label(ticket.priority),
        wikis=wikis,
        default_wiki=next(iter(wikis)),
        # The pages of the wikis citing this ticket now (references scan and sync).
        cited_on=live_references_of_ticket(db.session(), ticket.number),
        training=is_training(db.session(), ticket),
        practice=practice_of(db.session(), ticket),
        feedback=feedback_for(db.session(), ticket),
        is_answer=is_answer,
        may_give_feedback=is_admin(current_volunteer()),
        **pages_context(ticket),
    )


def _customer_tickets(ticket: Ticket) -> list[Ticket]:
    """The same customer's other tickets, in the queues this volunteer may read."""
    if not ticket.customer:
        return []
    session = db.session()
    rows = session.scalars(
        select(Ticket)
        .where(
            same_customer(ticket.customer, session.get_bind().dialect.name),
            Ticket.id != ticket.id,
        )
        .order_by(Ticket.created_at.desc())
        .limit(20)
    )
    return [t for t in rows if has_right(t.queue_id, Right.READ)]


@bp.post("/tickets/<number>/move")
@login_required
def move(number: str) -> Response:
    """Move the ticket to another queue (a routing correction when it was misrouted)."""
    ticket = ticket_for(number, Right.OWN)
    target = next((q for q in visible_queues() if q.name == request.form.get("queue")), None)
    if target is None or not has_right(target.id, Right.MOVE_INTO):
        abort(400, description=gettext("Choose one of the queues you may move tickets into."))
    if _move(db.session(), ticket, target, logged_in().username):
        db.session().commit()
        _count_corrections()
        flash(gettext("Moved to %(queue)s.", queue=target.name), "info")
    return redirect(url_for("queues.zoom", number=number))
