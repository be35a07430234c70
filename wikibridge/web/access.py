"""The access checks every route makes: per queue, on the server, every time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g
from flask_babel import gettext
from sqlalchemy import select

from tickets.access import Right, is_admin, rights_by_queue
from tickets.models import Queue, Ticket, Volunteer
from tickets.tickets import ticket_by_number
from wikibridge import db
from wikibridge.web.security import current_login, login_required

F = TypeVar("F", bound=Callable[..., Any])


def current_volunteer() -> Volunteer:
    """The logged-in volunteer (use behind :func:`login_required`)."""
    if "volunteer" not in g:
        login = current_login()
        volunteer = db.session().get(Volunteer, login.volunteer_id) if login else None
        if volunteer is None:
            abort(401)
        g.volunteer = volunteer
    found: Volunteer = g.volunteer
    return found


def my_rights() -> dict[int, frozenset[Right]]:
    """Rights of the current volunteer per queue id (computed once per request)."""
    if "rights" not in g:
        g.rights = rights_by_queue(db.session(), current_volunteer())
    rights: dict[int, frozenset[Right]] = g.rights
    return rights


def visible_queues() -> list[Queue]:
    """The queues the current volunteer may read, by name."""
    ids = my_rights()
    if not ids:
        return []
    return list(db.session().scalars(select(Queue).where(Queue.id.in_(ids)).order_by(Queue.name)))


def has_right(queue_id: int, right: Right) -> bool:
    """Whether the current volunteer has ``right`` on the queue."""
    return right in my_rights().get(queue_id, frozenset())


def require(queue_id: int, right: Right) -> None:
    """Stop the request unless the current volunteer has ``right`` on the queue.

    Without even read access the answer is 404, so ticket numbers of other
    queues cannot be probed; with read access but not this right, 403.
    """
    if not has_right(queue_id, Right.READ):
        abort(404)
    if not has_right(queue_id, right):
        abort(
            403,
            description=gettext(
                "You may not do this in this queue (needs the right %(right)s).", right=right
            ),
        )


def ticket_for(number: str, right: Right = Right.READ) -> Ticket:
    """The ticket with ``number`` if the current volunteer has ``right`` on its queue."""
    ticket = ticket_by_number(db.session(), number)
    if ticket is None:
        abort(404)
    require(ticket.queue_id, right)
    return ticket


def admin_required(view: F) -> F:
    """Only volunteer administrators and the head."""

    @login_required
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_admin(current_volunteer()):
            abort(403, description=gettext("Only volunteer administrators may do this."))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
