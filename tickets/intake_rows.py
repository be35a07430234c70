"""Writing prepared messages: the rows of one delivery, inside the caller's transaction.

Core statements on a :class:`~sqlalchemy.engine.Connection`, no ORM unit of
work: the write transaction (on SQLite the single writer) is held for a few
indexed reads and inserts, and many messages can share one transaction
(LMTP's group commit, ``mail import``).  :mod:`tickets.intake` prepares and
routes before any of this runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from tickets.mail import ParsedMail
from tickets.models import (
    DEFAULT_PRIORITY,
    Article,
    Attachment,
    Blob,
    History,
    Queue,
    RawMessage,
    State,
    Ticket,
    TicketCounter,
    utcnow,
)
from tickets.numbers import format_number, is_valid
from tickets.queues import DEFAULT_COMMENTS

TICKET = cast(Table, Ticket.__table__)
ARTICLE = cast(Table, Article.__table__)
RAW = cast(Table, RawMessage.__table__)
QUEUE = cast(Table, Queue.__table__)
HISTORY = cast(Table, History.__table__)
BLOB = cast(Table, Blob.__table__)
ATTACHMENT = cast(Table, Attachment.__table__)
COUNTER = cast(Table, TicketCounter.__table__)

#: Column limits of the article and ticket rows (PostgreSQL refuses longer).
_MESSAGE_ID_MAX = 998

# Statements built once: building and keying a statement per call cost more
# than running it (three quarters of the time spent writing a message).
_FOUND = select(
    TICKET.c.id, TICKET.c.number, QUEUE.c.name, TICKET.c.state, TICKET.c.merged_into_id
).join(QUEUE, QUEUE.c.id == TICKET.c.queue_id)
_FOUND_BY_NUMBER = _FOUND.where(TICKET.c.number == bindparam("number"))
_FOUND_BY_ID = _FOUND.where(TICKET.c.id == bindparam("id"))
_STORED = (
    select(TICKET.c.id, TICKET.c.number, QUEUE.c.name)
    .select_from(RAW)
    .join(ARTICLE, ARTICLE.c.raw_id == RAW.c.id)
    .join(TICKET, TICKET.c.id == ARTICLE.c.ticket_id)
    .join(QUEUE, QUEUE.c.id == TICKET.c.queue_id)
    .where(RAW.c.content_sha256 == bindparam("digest"))
    .limit(1)
)
# The newest article carrying a Message-ID.  Not "ORDER BY id DESC LIMIT 1":
# with it SQLite walks the primary key backwards past every article for an
# unknown Message-ID (15 ms a lookup at 100,000 tickets); max(id) is read
# from ix_article_message_id alone.
_CARRIER = select(ARTICLE.c.ticket_id).where(
    ARTICLE.c.id
    == select(func.max(ARTICLE.c.id))
    .where(ARTICLE.c.message_id == bindparam("message_id"))
    .scalar_subquery()
)
_QUEUE_ID = select(QUEUE.c.id).where(QUEUE.c.name == bindparam("name"))
_NUMBER_TAKEN = select(TICKET.c.id).where(TICKET.c.number == bindparam("number"))
_BUMP = (
    update(COUNTER)
    .where(COUNTER.c.day == bindparam("which_day"), COUNTER.c.system_id == bindparam("sid"))
    .values(value=COUNTER.c.value + 1)
    .returning(COUNTER.c.value)
)
_INSERT_TICKET = insert(TICKET).returning(TICKET.c.id)
_INSERT_ARTICLE = insert(ARTICLE).returning(ARTICLE.c.id)
_INSERT_HISTORY = insert(HISTORY)
_REOPEN = update(TICKET).where(TICKET.c.id == bindparam("which"))


@dataclasses.dataclass(frozen=True)
class Found:
    """A stored ticket a message belongs to."""

    id: int
    number: str
    queue: str
    state: str
    merged_into_id: int | None = None


_IGNORING: dict[tuple[str, str], Any] = {}


def insert_ignoring(conn: Connection, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` in the connection's dialect.

    The dialect modules are imported on demand: the PostgreSQL one alone costs
    the mail pipe a tenth of a second at start-up when it runs on SQLite.
    """
    key = (conn.dialect.name, table.name)
    statement = _IGNORING.get(key)
    if statement is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            statement = postgresql.insert(table).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects import sqlite

            statement = sqlite.insert(table).on_conflict_do_nothing()
        _IGNORING[key] = statement
    return statement


def _found(conn: Connection, statement: Any, **params: Any) -> Found | None:
    row = conn.execute(statement, params).first()
    return Found(row[0], row[1], row[2], row[3], row[4]) if row else None


def stored_delivery(conn: Connection, content_sha256: str) -> tuple[int, str, str] | None:
    """The ticket (id, number, queue) holding a message with this content, if any."""
    row = conn.execute(_STORED, {"digest": content_sha256}).first()
    return (row[0], row[1], row[2]) if row else None


def _by_message_id(conn: Connection, message_id: str) -> Found | None:
    # Message-IDs repeat in the wild: the newest message that carries it is
    # the one a reply most likely answers.
    ticket_id = conn.execute(_CARRIER, {"message_id": message_id[:_MESSAGE_ID_MAX]}).scalar()
    return _found(conn, _FOUND_BY_ID, id=ticket_id) if ticket_id is not None else None


def followed_up(conn: Connection, parsed: ParsedMail) -> tuple[Found, str] | None:
    """The stored ticket ``parsed`` follows up (subject tag, In-Reply-To, References)."""
    for number in parsed.ticket_tags:
        found = _found(conn, _FOUND_BY_NUMBER, number=number)
        if found is not None:
            return found, f"subject names [Ticket#{number}]"
    own = parsed.message_id
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        if ref == own:
            continue  # a reused Message-ID is not a reply to itself
        found = _by_message_id(conn, ref)
        if found is not None:
            return found, f"replies to {ref}"
    return None


def resolve_merged(conn: Connection, found: Found) -> Found:
    """Follow merges to the ticket that now holds the conversation."""
    seen = set()
    while found.merged_into_id and found.id not in seen:
        seen.add(found.id)
        target = _found(conn, _FOUND_BY_ID, id=found.merged_into_id)
        if target is None:
            break
        found = target
    return found


def record(conn: Connection, ticket_id: int, kind: str, actor: str, **detail: Any) -> None:
    """Add a history entry to the ticket (every change to a ticket leaves one)."""
    conn.execute(
        _INSERT_HISTORY,
        {"ticket_id": ticket_id, "kind": kind, "actor": actor, "detail": detail},
    )


def reopen_if_closed(conn: Connection, found: Found) -> None:
    """A customer's reply to a closed ticket opens it again."""
    if State(found.state).is_closed:
        conn.execute(_REOPEN, {"which": found.id, "state": State.OPEN.value})
        record(conn, found.id, "reopened", "system", by="customer reply")


def queue_id(conn: Connection, name: str) -> int:
    """The id of the queue ``name``, created (with its parents) when missing."""
    found = conn.execute(_QUEUE_ID, {"name": name}).scalar()
    if found is not None:
        return int(found)
    parent: int | None = None
    parts = name.split("::")
    for depth in range(1, len(parts) + 1):
        path = "::".join(parts[:depth])
        # Two first deliveries to a new queue may race: the loser takes the winner's.
        conn.execute(
            insert_ignoring(conn, QUEUE).values(
                name=path,
                parent_id=parent,
                comment=DEFAULT_COMMENTS.get(path, ""),
                valid=True,
                email_address="",
                signature="",
                created_at=utcnow(),
            )
        )
        parent = int(conn.execute(_QUEUE_ID, {"name": path}).scalar_one())
    assert parent is not None
    return parent


def next_number(conn: Connection, system_id: str) -> str:
    """Take the next ticket number of the day (see :func:`tickets.tickets.next_number`)."""
    day = utcnow().date()
    key = f"{day:%Y%m%d}"
    params = {"which_day": key, "sid": system_id}
    value = conn.execute(_BUMP, params).scalar()
    if value is None:
        conn.execute(
            insert_ignoring(conn, COUNTER), {"day": key, "system_id": system_id, "value": 0}
        )
        value = conn.execute(_BUMP, params).scalar_one()
    return format_number(day, system_id, int(value))


def _number_is_free(conn: Connection, number: str) -> bool:
    return conn.execute(_NUMBER_TAKEN, {"number": number}).first() is None


def new_ticket(
    conn: Connection,
    parsed: ParsedMail,
    queue: str,
    *,
    system_id: str,
    language: str | None,
    rule: str,
    number: str | None = None,
) -> tuple[int, str]:
    """Open a ticket for ``parsed`` in ``queue``; return its id and number.

    ``number`` (an archive's old ticket number) is used when it is a valid
    number no ticket has; otherwise the day's next number is taken.
    """
    qid = queue_id(conn, queue)
    if not (number and is_valid(number) and _number_is_free(conn, number)):
        number = next_number(conn, system_id)
        # An imported archive may hold today's numbers already: skip them.
        while not _number_is_free(conn, number):
            number = next_number(conn, system_id)
    now = utcnow()
    ticket_id = conn.execute(
        _INSERT_TICKET,
        {
            "number": number,
            "title": (parsed.subject or "(no subject)")[:500],
            "queue_id": qid,
            "state": State.NEW.value,
            "priority": DEFAULT_PRIORITY,
            "customer": (parsed.sender_address or parsed.from_addr)[:500],
            "language": language,
            "route_rule": rule[:20],
            "locked": False,
            "created_at": now,
            "changed_at": now,
        },
    ).scalar_one()
    record(conn, ticket_id, "created", "system", queue=queue, number=number)
    return int(ticket_id), number


def insert_raw(
    conn: Connection,
    *,
    sha256: str,
    content_sha256: str,
    size: int,
    data: bytes,
    envelope_to: list[str] | None,
) -> int | None:
    """Store the raw bytes; None when a message with this content is stored already.

    The unique content digest decides: two deliveries of one message racing
    on PostgreSQL, the second waits for the first's commit and gets None.
    """
    key = (conn.dialect.name, "raw_message returning")
    statement = _IGNORING.get(key)
    if statement is None:
        statement = _IGNORING[key] = insert_ignoring(conn, RAW).returning(RAW.c.id)
    values = {
        "sha256": sha256,
        "content_sha256": content_sha256 or None,
        "size": size,
        "compression": "zlib",
        "data": data,
        "envelope_to": envelope_to,
        "received_at": utcnow(),
    }
    return cast("int | None", conn.execute(statement, values).scalar())


def store_blobs(conn: Connection, blobs: dict[str, tuple[int, str, bytes]]) -> None:
    """Insert attachment contents, each once, in one statement whatever their number."""
    if blobs:
        conn.execute(
            insert_ignoring(conn, BLOB),
            [
                {
                    "sha256": digest,
                    "size": size,
                    "compression": compression,
                    "data": data,
                    "created_at": utcnow(),
                }
                for digest, (size, compression, data) in blobs.items()
            ],
        )


def insert_article(conn: Connection, **values: Any) -> int:
    """Insert an article row; its id."""
    if values.get("message_id"):
        values["message_id"] = values["message_id"][:_MESSAGE_ID_MAX]
    return int(conn.execute(_INSERT_ARTICLE, values).scalar_one())


def insert_attachments(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert attachment rows in one statement (no ORM object per attachment)."""
    if rows:
        conn.execute(insert(ATTACHMENT), rows)
