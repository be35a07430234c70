"""Composing an answer: template variables, the quoted reply, the tagged subject.

Pure functions over rows already loaded (plus one query for the template
list), so the compose page, the mail builder and the tests share them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tickets.models import AnswerTemplate, Article, Queue, Ticket
from tickets.recipients import display_name

#: Variables a template may use, with what they stand for (shown on the form).
VARIABLES = {
    "customer_name": "the customer's name (or address, when the mail gave no name)",
    "customer_email": "the customer's address",
    "ticket_number": "the ticket number",
    "volunteer_name": "your user name",
    "queue_signature": "the queue's signature",
    "queue_name": "the queue's name",
}

_VARIABLE_RE = re.compile(r"\{(\w+)\}")
_TAG_RE = re.compile(r"\s*\[Ticket#\d+\]\s*", re.IGNORECASE)
# "Re:", "RE :", "AW:", "Fwd:", "Re[2]:" … as mail programs prefix them, repeated.
_PREFIX_RE = re.compile(r"^\s*(?:(?:re|aw|sv|antw|fwd?|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` with ``values[name]``.

    Unknown names stay as written, so a typo shows up in the preview instead
    of failing the page; braces used as ordinary text are left alone too.
    """
    return _VARIABLE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def customer_name_and_address(from_header: str, fallback: str = "") -> tuple[str, str]:
    """The display name and address of a ``From`` header (name falls back to the address)."""
    name, address = email.utils.parseaddr(from_header)
    address = address or fallback
    # Decoded and on one line: a name may carry an encoded line break.
    return (display_name(name) or address), address


def variables(
    ticket: Ticket, queue: Queue, volunteer_name: str, customer_from: str = ""
) -> dict[str, str]:
    """The values of :data:`VARIABLES` for an answer on ``ticket``."""
    name, address = customer_name_and_address(customer_from or ticket.customer, ticket.customer)
    return {
        "customer_name": name,
        "customer_email": address,
        "ticket_number": ticket.number,
        "volunteer_name": volunteer_name,
        "queue_signature": queue.signature,
        "queue_name": queue.name,
    }


def reply_subject(number: str, subject: str) -> str:
    """``Re: [Ticket#N] subject``, with the tag exactly once.

    Every ticket tag is removed first, also another ticket's: intake threads
    by the first tag it sees, so a stray one would send the reply elsewhere.
    """
    rest = _TAG_RE.sub(" ", subject).strip()
    rest = _PREFIX_RE.sub("", rest).strip()
    return f"Re: [Ticket#{number}] {rest}".rstrip()


def quote(body: str, sender: str, when: dt.datetime) -> str:
    """``On <date>, <sender> wrote:`` and the body with ``> `` before each line."""
    lines = body.replace("\r\n", "\n").rstrip("\n").split("\n")
    quoted = [
        (">" + line if line.startswith(">") else "> " + line) if line else ">" for line in lines
    ]
    return f"On {when:%Y-%m-%d %H:%M} UTC, {sender} wrote:\n" + "\n".join(quoted)


def last_customer_article(ticket: Ticket) -> Article | None:
    """The customer's latest mail on ``ticket``: the one an answer replies to."""
    for article in reversed(ticket.articles):
        if article.sender_type == "customer" and article.channel == "email":
            return article
    return None


def compose_body(template_body: str, values: Mapping[str, str], quoted: str = "") -> str:
    """The answer's first draft: filled template, signature (unless placed), quote."""
    text = fill(template_body, values).rstrip()
    signature = values.get("queue_signature", "").strip()
    parts = [text] if text else [""]
    if signature and "{queue_signature}" not in template_body:
        parts.append(signature)
    if quoted:
        parts.append(quoted)
    return "\n\n".join(parts).lstrip("\n") + "\n"


def queue_chain(queue: Queue) -> list[Queue]:
    """``queue`` and its ancestors, nearest first."""
    chain: list[Queue] = []
    current: Queue | None = queue
    while current is not None and current not in chain:
        chain.append(current)
        current = current.parent
    return chain


def templates_for(session: Session, queue: Queue) -> Sequence[AnswerTemplate]:
    """Valid templates offered on ``queue``: global ones and those of it or its parents.

    A template of ``Permissions`` is offered in ``Permissions::de`` too, as
    grants on a queue cover its subqueues.
    """
    ids = [q.id for q in queue_chain(queue)]
    query = (
        select(AnswerTemplate)
        .where(
            AnswerTemplate.valid,
            or_(AnswerTemplate.queue_id.is_(None), AnswerTemplate.queue_id.in_(ids)),
        )
        .order_by(AnswerTemplate.name, AnswerTemplate.id)
    )
    return session.scalars(query).all()


def sender_address(queue: Queue, mail_domain: str) -> str:
    """The address answers from ``queue`` come from.

    Unset, it is the root queue's name at the mail domain
    (``permissions@wikimedia.org`` for ``Permissions::de``), the address
    customers wrote to in the first place.
    """
    for q in queue_chain(queue):
        if q.email_address:
            return q.email_address
    root = queue_chain(queue)[-1]
    local = re.sub(r"[^a-z0-9._-]+", "-", root.name.lower()).strip("-") or "info"
    return f"{local}@{mail_domain}"
