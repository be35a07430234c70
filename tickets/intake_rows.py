"""Writing prepared messages: the rows of one delivery, inside the caller's transaction.

Plain SQL with named parameters, run through :class:`tickets.sql.Db`: on the
mail pipe's own sqlite3 or psycopg connection, and on the SQLAlchemy
connection of the listener, ``mail import`` and the web (:meth:`Db.over`).
One set of statements for every way in, so every way in writes the same rows;
and no SQLAlchemy to import for ``mail deliver``, a process per message.

The models' Python-side defaults (timestamps, priority, empty strings) are
given explicitly here, since no ORM fills them in.  The write transaction (on
SQLite the single writer) is held for a few indexed reads and inserts, and
many messages can share one transaction (LMTP's group commit, ``mail
import``).  :mod:`tickets.intake` prepares and routes before any of this runs.
"""

from __future__ import annotations

import json

from tickets.clock import utcnow
from tickets.numbers import format_number, is_valid
from tickets.queues import DEFAULT_COMMENTS
from tickets.records import Record
from tickets.states import DEFAULT_PRIORITY, State

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tickets.mail import ParsedMail
    from tickets.sql import Db, Pending

#: Column limit of the article's Message-ID (PostgreSQL refuses longer).
MESSAGE_ID_MAX = 998

_FOUND = (
    "SELECT ticket.id, ticket.number, queue.name, ticket.state, ticket.merged_into_id "
    "FROM ticket JOIN queue ON queue.id = ticket.queue_id "
)
FOUND_BY_NUMBER = _FOUND + "WHERE ticket.number = :number"
FOUND_BY_ID = _FOUND + "WHERE ticket.id = :id"
STORED = (
    "SELECT ticket.id, ticket.number, queue.name FROM raw_message "
    "JOIN article ON article.raw_id = raw_message.id "
    "JOIN ticket ON ticket.id = article.ticket_id "
    "JOIN queue ON queue.id = ticket.queue_id "
    "WHERE raw_message.content_sha256 = :digest LIMIT 1"
)
# The ticket of the newest article carrying a Message-ID, in one statement
# (a batch's lookups travel together: tickets.sql.Db.later).  Not "ORDER BY
# id DESC LIMIT 1": with it SQLite walks the primary key backwards past every
# article for an unknown Message-ID (15 ms a lookup at 100,000 tickets);
# max(id) is read from ix_article_message_id alone.
FOUND_BY_MESSAGE_ID = _FOUND + (  # noqa: S608 - our SQL, values are parameters
    "WHERE ticket.id = (SELECT article.ticket_id FROM article WHERE article.id = "
    "(SELECT max(article.id) FROM article WHERE article.message_id = :message_id))"
)
QUEUE_ID = "SELECT id FROM queue WHERE name = :name"
# Locks the day's row until the caller commits: two deliveries never get the
# same number, and a rolled-back delivery gives its number back.
BUMP = (
    "UPDATE ticket_counter SET value = value + 1 "
    "WHERE day = :day AND system_id = :system_id RETURNING value"
)
# The value a held counter ends at (see hold_numbers): its row is locked
# since the bump that took its first number.
SET_COUNTER = "UPDATE ticket_counter SET value = :value WHERE day = :day AND system_id = :system_id"
INSERT_COUNTER = (
    "INSERT INTO ticket_counter (day, system_id, value) VALUES (:day, :system_id, 0) "
    "ON CONFLICT DO NOTHING"
)
INSERT_QUEUE = (
    "INSERT INTO queue (name, parent_id, comment, valid, email_address, signature, created_at) "
    "VALUES (:name, :parent_id, :comment, :valid, '', '', :created_at) ON CONFLICT DO NOTHING"
)
# Only under a number no ticket has: the check rides on the insert (one round
# trip), and a taken number inserts nothing, not even a sequence value (no gap
# in the ids, as ON CONFLICT would leave on PostgreSQL).  Racing deliveries
# are still kept apart by the unique number.  The CASTs give a parameter used
# twice one type for PostgreSQL (the column's; SQLite's affinity is the same).
INSERT_TICKET = (
    "INSERT INTO ticket (number, title, queue_id, state, priority, customer, language, "
    "route_rule, locked, created_at, changed_at) "
    "SELECT :number, :title, :queue_id, :state, :priority, :customer, :language, "
    ":route_rule, :locked, :created_at, :changed_at "
    "WHERE NOT EXISTS (SELECT 1 FROM ticket WHERE number = CAST(:number AS VARCHAR(32))) "
    "RETURNING id"
)
INSERT_ARTICLE = (
    "INSERT INTO article (ticket_id, raw_id, message_id, channel, sender_type, from_addr, "
    "to_addr, cc_addr, subject, body, body_html, language, send_status, send_attempts, "
    "send_error, created_at) "
    "VALUES (:ticket_id, :raw_id, :message_id, :channel, :sender_type, :from_addr, "
    ":to_addr, :cc_addr, :subject, :body, :body_html, :language, '', 0, '', :created_at) "
    "RETURNING id"
)
_HISTORY_COLUMNS = ("ticket_id", "kind", "actor", "detail", "created_at")
INSERT_HISTORY = (
    "INSERT INTO history (ticket_id, kind, actor, detail, created_at) "
    "VALUES (:ticket_id, :kind, :actor, :detail, :created_at)"
)
REOPEN = "UPDATE ticket SET state = :state, changed_at = :changed_at WHERE id = :id"
# The unique content digest decides: of two deliveries of one message racing
# on PostgreSQL, the second waits for the first's commit and inserts nothing.
# A message stored before inserts nothing either, and takes no id from the
# sequence: that is how intake learns it is a redelivery (one round trip).
_INSERT_RAW = (
    "INSERT INTO raw_message (sha256, size, compression, data, received_at, content_sha256, "
    "envelope_to) SELECT :sha256, :size, 'zlib', :data, :received_at, :content_sha256, "
    "{envelope_to} WHERE NOT EXISTS "
    "(SELECT 1 FROM raw_message WHERE content_sha256 = CAST(:content_sha256 AS VARCHAR(64))) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
#: By dialect: a value in a SELECT list is text to PostgreSQL, and text is
#: not cast to JSON unasked (VALUES cast it; SQLite stores the text as is).
INSERT_RAW = {
    "sqlite": _INSERT_RAW.format(envelope_to=":envelope_to"),
    "postgresql": _INSERT_RAW.format(envelope_to="CAST(:envelope_to AS json)"),
}
INSERT_BLOB = (
    "INSERT INTO blob (sha256, size, compression, data, created_at) "
    "VALUES (:sha256, :size, :compression, :data, :created_at) ON CONFLICT DO NOTHING"
)
INSERT_ATTACHMENT = (
    "INSERT INTO attachment (article_id, filename, content_type, disposition, content_id, "
    "size, sha256) VALUES (:article_id, :filename, :content_type, :disposition, :content_id, "
    ":size, :sha256)"
)


def json_text(value: Any) -> str:
    """A JSON column's value as SQLAlchemy's JSON type writes it (``None`` is ``null``)."""
    return json.dumps(value)


class Found(Record):
    """A stored ticket a message belongs to."""

    id: int
    number: str
    queue: str
    state: str
    merged_into_id: int | None = None


def found_row(row: tuple[Any, ...] | None) -> Found | None:
    """The :class:`Found` of a row of the ``FOUND_*`` statements."""
    return Found(row[0], row[1], row[2], row[3], row[4]) if row else None


def _found(db: Db, sql: str, **params: Any) -> Found | None:
    return found_row(db.first(sql, params))


def stored_delivery(db: Db, content_sha256: str) -> tuple[int, str, str] | None:
    """The ticket (id, number, queue) holding a message with this content, if any."""
    row = send_stored(db, content_sha256).row()
    return (row[0], row[1], row[2]) if row else None


class Clue(Record):
    """Something a message names that may make it a follow-up, in the order clues are tried."""

    #: ``number`` (a subject's ``[Ticket#N]``) or ``message_id`` (In-Reply-To, References).
    kind: str
    #: The ticket number, or the Message-ID as articles store it.
    value: str
    #: Why the message follows up the ticket the clue finds.
    reason: str


def clues(parsed: ParsedMail) -> list[Clue]:
    """What ``parsed`` names that may find the ticket it follows up, best first.

    Subject tags first, then In-Reply-To, then References newest first.
    """
    found = [
        Clue("number", number, f"subject names [Ticket#{number}]") for number in parsed.ticket_tags
    ]
    own = parsed.message_id
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        if ref != own:  # a reused Message-ID is not a reply to itself
            found.append(Clue("message_id", ref[:MESSAGE_ID_MAX], f"replies to {ref}"))
    return found


def look_up(db: Db, clue: Clue) -> Pending:
    """The ticket ``clue`` finds, as a row for :func:`found_row`, read when asked for.

    Message-IDs repeat in the wild: the newest message that carries one is
    the one a reply most likely answers.
    """
    if clue.kind == "number":
        return db.later(FOUND_BY_NUMBER, {"number": clue.value})
    return db.later(FOUND_BY_MESSAGE_ID, {"message_id": clue.value})


def followed_up(db: Db, parsed: ParsedMail) -> tuple[Found, str] | None:
    """The stored ticket ``parsed`` follows up (subject tag, In-Reply-To, References)."""
    for clue in clues(parsed):
        found = found_row(look_up(db, clue).row())
        if found is not None:
            return found, clue.reason
    return None


def resolve_merged(db: Db, found: Found) -> Found:
    """Follow merges to the ticket that now holds the conversation."""
    seen = set()
    while found.merged_into_id and found.id not in seen:
        seen.add(found.id)
        target = _found(db, FOUND_BY_ID, id=found.merged_into_id)
        if target is None:
            break
        found = target
    return found


def history_row(ticket_id: int, kind: str, actor: str, **detail: Any) -> dict[str, Any]:
    """A history entry's values, to write with :func:`record_rows`."""
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "actor": actor,
        "detail": json_text(detail),
        "created_at": utcnow(),
    }


def _insert_history(count: int) -> str:
    values = ", ".join(
        "(" + ", ".join(f":{column}_{n}" for column in _HISTORY_COLUMNS) + ")" for n in range(count)
    )
    columns = ", ".join(_HISTORY_COLUMNS)
    return f"INSERT INTO history ({columns}) VALUES {values}"  # noqa: S608 - names, no values


#: Multi-row inserts by row count (made once each; intake writes two or three).
_INSERT_HISTORIES: dict[int, str] = {}


def record_rows(db: Db, entries: list[dict[str, Any]]) -> None:
    """Write history entries (of :func:`history_row`) in one statement, in their order.

    A multi-row VALUES numbers its rows in order on SQLite and PostgreSQL
    alike: the same ids as one insert each, for one round trip.
    """
    if len(entries) == 1:
        db.execute(INSERT_HISTORY, entries[0]).close()
    elif entries:
        sql = _INSERT_HISTORIES.get(len(entries))
        if sql is None:
            sql = _INSERT_HISTORIES[len(entries)] = _insert_history(len(entries))
        params = {
            f"{key}_{n}": value for n, row in enumerate(entries) for key, value in row.items()
        }
        db.execute(sql, params).close()


def record(db: Db, ticket_id: int, kind: str, actor: str, **detail: Any) -> None:
    """Add a history entry to the ticket (every change to a ticket leaves one)."""
    record_rows(db, [history_row(ticket_id, kind, actor, **detail)])


def reopen_if_closed(db: Db, found: Found, history: list[dict[str, Any]] | None = None) -> bool:
    """A customer's reply to a closed ticket opens it again; whether it was closed.

    Its history entry goes to ``history`` when given (for the caller to
    write with the next ones), else it is written at once.
    """
    closed = State(found.state).is_closed
    if closed:
        db.execute(
            REOPEN, {"id": found.id, "state": State.OPEN.value, "changed_at": utcnow()}
        ).close()
        entry = history_row(found.id, "reopened", "system", by="customer reply")
        if history is None:
            record_rows(db, [entry])
        else:
            history.append(entry)
    return closed


def queue_id(db: Db, name: str) -> int:
    """The id of the queue ``name``, created (with its parents) when missing.

    Read once a connection (:attr:`Db.queue_ids`): queues are never renamed or deleted.
    """
    known = db.queue_ids.get(name)
    if known is not None:
        return known
    found = db.scalar(QUEUE_ID, {"name": name})
    if found is not None:
        db.queue_ids[name] = int(found)
        return int(found)
    parent: int | None = None
    parts = name.split("::")
    for depth in range(1, len(parts) + 1):
        path = "::".join(parts[:depth])
        # Two first deliveries to a new queue may race: the loser takes the winner's.
        db.execute(
            INSERT_QUEUE,
            {
                "name": path,
                "parent_id": parent,
                "comment": DEFAULT_COMMENTS.get(path, ""),
                "valid": True,
                "created_at": utcnow(),
            },
        ).close()
        parent = int(db.scalar(QUEUE_ID, {"name": path}))
    assert parent is not None
    db.queue_ids[name] = parent
    return parent


def next_number(db: Db, system_id: str) -> str:
    """Take the next ticket number of the day (see :func:`tickets.tickets.next_number`)."""
    day = utcnow().date()
    params = {"day": f"{day:%Y%m%d}", "system_id": system_id}
    held = None if db.numbers is None else db.numbers.get((params["day"], system_id))
    if held is not None:
        # The row is locked by this transaction since its first bump: the
        # numbers that follow are this transaction's to hand out.
        held[1] += 1
        return format_number(day, system_id, held[1])
    value = db.scalar(BUMP, params)
    if value is None:
        db.execute(INSERT_COUNTER, params).close()
        value = db.scalar(BUMP, params)
    if db.numbers is not None:
        db.numbers[params["day"], system_id] = [int(value), int(value)]
    return format_number(day, system_id, int(value))


def hold_numbers(db: Db) -> None:
    """Take a transaction's ticket numbers with one counter bump a day, not one a ticket.

    The first number of a day bumps and locks the counter's row, as
    :func:`next_number` always does; the next ones are counted here and the
    row is set to the last of them just before the commit.  Nobody else can
    take a number meanwhile (the row stays locked), and a rollback gives them
    all back: the same numbers, in the same order, without a gap.
    """
    if db.numbers is None:
        db.numbers = {}
        db.before_commit = _settle_numbers


def _settle_numbers(db: Db) -> None:
    for (day, system_id), (stored, handed) in (db.numbers or {}).items():
        if handed != stored:
            db.execute(SET_COUNTER, {"value": handed, "day": day, "system_id": system_id}).close()


def ticket_values(
    parsed: ParsedMail, queue_id: int, *, language: str | None, rule: str
) -> dict[str, Any]:
    """A new ticket's row for ``parsed`` in queue ``queue_id``, but for its number."""
    now = utcnow()
    return {
        "title": (parsed.subject or "(no subject)")[:500],
        "queue_id": queue_id,
        "state": State.NEW.value,
        "priority": DEFAULT_PRIORITY,
        "customer": (parsed.sender_address or parsed.from_addr)[:500],
        "language": language,
        "route_rule": rule[:20],
        "locked": False,
        "created_at": now,
        "changed_at": now,
    }


def usable_number(number: str | None) -> str | None:
    """``number`` (an archive's old ticket number) when it is a valid one, else None."""
    return number if number and is_valid(number) else None


def send_ticket(db: Db, number: str, values: dict[str, Any]) -> Pending:
    """Insert a ticket under ``number``; its id, or None when a ticket has that number."""
    return db.later(INSERT_TICKET, {"number": number, **values})


def insert_ticket(db: Db, values: dict[str, Any], system_id: str) -> tuple[int, str]:
    """Insert a ticket under the day's next free number; its id and number.

    An imported archive may hold today's numbers already: those insert
    nothing, and the next number is taken.
    """
    while True:
        number = next_number(db, system_id)
        ticket_id = send_ticket(db, number, values).scalar()
        if ticket_id is not None:
            return int(ticket_id), number


def send_raw(
    db: Db,
    *,
    sha256: str,
    content_sha256: str,
    size: int,
    data: bytes,
    envelope_to: list[str] | None,
) -> Pending:
    """Store the raw bytes; their id, or None when a message with this content is stored already."""
    values = {
        "sha256": sha256,
        "content_sha256": content_sha256 or None,
        "size": size,
        "data": data,
        "envelope_to": json_text(envelope_to),
        "received_at": utcnow(),
    }
    return db.later(INSERT_RAW[db.dialect], values)


def send_stored(db: Db, content_sha256: str) -> Pending:
    """The ticket (id, number, queue) holding a message with this content, as a row."""
    return db.later(STORED, {"digest": content_sha256})


def store_blobs(db: Db, blobs: dict[str, tuple[int, str, bytes]]) -> None:
    """Insert attachment contents, each once, in one call whatever their number."""
    now = utcnow()
    db.executemany(
        INSERT_BLOB,
        [
            {
                "sha256": digest,
                "size": size,
                "compression": compression,
                "data": data,
                "created_at": now,
            }
            for digest, (size, compression, data) in blobs.items()
        ],
    )


def send_article(db: Db, **values: Any) -> Pending:
    """Insert an article row; its id."""
    if values.get("message_id"):
        values["message_id"] = values["message_id"][:MESSAGE_ID_MAX]
    return db.later(INSERT_ARTICLE, values)


def insert_attachments(db: Db, rows: list[dict[str, Any]]) -> None:
    """Insert attachment rows in one call (no ORM object per attachment)."""
    db.executemany(INSERT_ATTACHMENT, rows)
