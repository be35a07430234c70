"""Turning one incoming message into a ticket or an article of one.

The raw bytes are stored with every article, whatever could be read of them;
delivery is idempotent on ``Message-ID`` and the database enforces it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets import mail as mailparse
from tickets.html import sanitise
from tickets.models import Article, Attachment, Blob, RawMessage, State, Ticket
from tickets.queues import ensure_queues, queue_by_name
from tickets.routing import Decision, Detector, Policy, route
from tickets.tickets import create_ticket, insert_ignoring_conflicts, record, ticket_by_number
from tickets.workflow import resolve_merged


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one message."""

    number: str
    queue: str
    rule: str
    created: bool
    language: str | None = None
    reason: str = ""
    #: Over the size limit: stored unread, its raw bytes kept.
    too_large: bool = False


def _existing_by_message_id(session: Session, message_id: str) -> Ticket | None:
    article = session.scalars(select(Article).where(Article.message_id == message_id)).one_or_none()
    return article.ticket if article else None


def _followed_up(session: Session, parsed: mailparse.ParsedMail) -> tuple[Ticket, str] | None:
    for number in parsed.ticket_tags:
        ticket = ticket_by_number(session, number)
        if ticket is not None:
            return ticket, f"subject names [Ticket#{number}]"
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        ticket = _existing_by_message_id(session, ref)
        if ticket is not None:
            return ticket, f"replies to {ref}"
    return None


def is_known(session: Session, parsed: mailparse.ParsedMail) -> bool:
    """Whether ``parsed`` is stored already or follows up a stored ticket (reads only).

    Such a message needs no routing (no language detection, no model to load).
    """
    if parsed.key and _existing_by_message_id(session, parsed.key) is not None:
        return True
    return _followed_up(session, parsed) is not None


def decide(
    session: Session | None,
    parsed: mailparse.ParsedMail,
    policy: Policy,
    detector: Detector,
    forced_queue: str | None = None,
    *,
    routed: Decision | None = None,
) -> tuple[Decision, Ticket | None]:
    """Where ``parsed`` goes, and the existing ticket it belongs to, if any.

    Reads but never writes, so ``wikibridge mail classify`` can explain a
    message without storing it.  A message already stored is reported as a
    duplicate before anything else, so no rule can store it twice.  ``routed``
    is :func:`route`'s decision made beforehand (outside the write transaction).
    """
    if session is not None:
        if parsed.key:
            existing = _existing_by_message_id(session, parsed.key)
            if existing is not None:
                return Decision(
                    existing.queue.name, "duplicate", reason=f"{parsed.key} stored"
                ), existing
        follow = _followed_up(session, parsed)
        if follow is not None:
            ticket, why = follow
            return Decision(ticket.queue.name, "followup", reason=why), ticket
    if forced_queue:
        return Decision(forced_queue, "forced", reason="--queue given"), None
    return routed or route(parsed, policy, detector), None


_TOO_LARGE_NOTE = (
    "This message is too large to read: {size:,} bytes, over the limit of {limit:,} "
    "bytes (MAIL_MAX_BYTES). Its text, HTML part and attachments were not taken from it. "
    "It is kept exactly as received: download the original message (.eml) from this article."
)


def _compress(data: bytes) -> bytes:
    return zlib.compress(data, 6)


@dataclass(frozen=True)
class Incoming:
    """A message made ready to store: all the work that needs no database, done.

    Parsing, sanitising, hashing and compressing take time growing with the
    message; doing them before the write transaction keeps the single writer
    (on SQLite, every other delivery and every page that saves) waiting only
    for the inserts.
    """

    parsed: mailparse.ParsedMail
    raw_size: int
    #: The raw bytes, zlib-compressed.
    raw_data: bytes
    body: str
    body_html: str | None
    #: The attachments' contents by SHA-256: (size, zlib-compressed bytes).
    blobs: dict[str, tuple[int, bytes]]
    #: The SHA-256 of each of ``parsed.attachments``, in their order.
    hashes: tuple[str, ...] = ()
    #: Over the size limit: only the header section was read.
    too_large: bool = False
    limit: int | None = None


def prepare(raw: bytes, max_bytes: int | None = None) -> Incoming:
    """Read ``raw`` and make everything :func:`store_incoming` writes; never raises.

    A message longer than ``max_bytes`` is not read beyond its header section
    (routing, threading and idempotency need nothing more): its article says
    so, and its raw bytes are kept like any other's.
    """
    if max_bytes is not None and len(raw) > max_bytes:
        headers = mailparse.parse_headers(raw)
        parsed = dataclasses.replace(
            headers,
            problems=[
                f"too large: {len(raw)} bytes, over the limit of {max_bytes}; not read",
                *headers.problems,
            ],
        )
        return Incoming(
            parsed=parsed,
            raw_size=len(raw),
            raw_data=_compress(raw),
            body=_TOO_LARGE_NOTE.format(size=len(raw), limit=max_bytes),
            body_html=None,
            blobs={},
            too_large=True,
            limit=max_bytes,
        )
    parsed = mailparse.parse(raw)
    blobs: dict[str, tuple[int, bytes]] = {}
    hashes = []
    for part in parsed.attachments:
        digest = hashlib.sha256(part.data).hexdigest()
        hashes.append(digest)
        if digest not in blobs:
            blobs[digest] = (len(part.data), _compress(part.data))
    return Incoming(
        parsed=parsed,
        raw_size=len(raw),
        raw_data=_compress(raw),
        body=parsed.body,
        body_html=sanitise(parsed.html) if parsed.html else None,
        blobs=blobs,
        hashes=tuple(hashes),
        limit=max_bytes,
    )


def _insert_ignoring_conflicts(session: Session, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table``, for many rows at once."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()


def _store_blobs(session: Session, incoming: Incoming) -> None:
    """Insert the attachments' contents, each once, in one statement whatever their number."""
    if incoming.blobs:
        session.execute(
            _insert_ignoring_conflicts(session, Blob.__table__),
            [
                {"sha256": digest, "size": size, "compression": "zlib", "data": data}
                for digest, (size, data) in incoming.blobs.items()
            ],
        )


def _store_attachment_rows(session: Session, article_id: int, incoming: Incoming) -> None:
    """Insert the attachment rows in one statement whatever their number.

    A Core insert with many parameter sets: no ORM object per attachment, so no
    flush that revisits the article's growing collection for every new row.
    """
    if incoming.parsed.attachments:
        session.execute(
            insert(cast(Table, Attachment.__table__)),
            [
                {
                    "article_id": article_id,
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "disposition": part.disposition,
                    "content_id": part.content_id,
                    "size": len(part.data),
                    "sha256": digest,
                }
                for part, digest in zip(incoming.parsed.attachments, incoming.hashes, strict=True)
            ],
        )


def store_blob(session: Session, data: bytes) -> str:
    """Store ``data`` once by its SHA-256 (a second copy costs nothing); return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    session.execute(
        insert_ignoring_conflicts(
            session,
            Blob,
            sha256=digest,
            size=len(data),
            compression="zlib",
            data=_compress(data),
        )
    )
    return digest


def blob_bytes(blob: Blob) -> bytes:
    """The stored content."""
    return zlib.decompress(blob.data) if blob.compression == "zlib" else blob.data


def begin_write(session: Session) -> None:
    """Start the transaction as a writer from its first statement.

    SQLite lets only one writer in; a transaction that reads first and writes
    later fails at once if another wrote in between, instead of waiting its
    turn.  ``BEGIN IMMEDIATE`` queues the delivery up front.  PostgreSQL
    needs nothing: the counter row's lock orders deliveries there.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    connection = session.connection()
    # pysqlite opens its own transaction only before a write, so earlier reads
    # leave it outside one; ask the driver, not SQLAlchemy.
    if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def raw_bytes(row: RawMessage) -> bytes:
    """The message exactly as received."""
    return zlib.decompress(row.data) if row.compression == "zlib" else row.data


def _ticket_for(
    session: Session,
    parsed: mailparse.ParsedMail,
    decision: Decision,
    existing: Ticket | None,
    system_id: str,
) -> Ticket:
    if existing is not None:
        # A reply to a merged ticket belongs to the ticket it was merged into.
        existing = resolve_merged(session, existing)
        if State(existing.state).is_closed:
            existing.state = State.OPEN.value
            record(session, existing, "reopened", "system", by="customer reply")
        return existing
    queue = queue_by_name(session, decision.queue) or ensure_queues(session, [decision.queue])[-1]
    ticket = create_ticket(
        session,
        queue=queue,
        title=parsed.subject or "(no subject)",
        customer=parsed.sender_address or parsed.from_addr,
        system_id=system_id,
    )
    ticket.language = decision.language
    ticket.route_rule = decision.rule
    return ticket


def deliver(
    session: Session,
    raw: bytes,
    *,
    policy: Policy,
    detector: Detector,
    system_id: str,
    forced_queue: str | None = None,
    max_bytes: int | None = None,
) -> Delivery:
    """Store ``raw`` as a new ticket or as an article of the ticket it follows up.

    :func:`prepare` and :func:`store_incoming` in one; the caller commits.
    """
    return store_incoming(
        session,
        prepare(raw, max_bytes),
        policy=policy,
        detector=detector,
        system_id=system_id,
        forced_queue=forced_queue,
    )


def store_incoming(
    session: Session,
    incoming: Incoming,
    *,
    policy: Policy,
    detector: Detector,
    system_id: str,
    forced_queue: str | None = None,
    routed: Decision | None = None,
) -> Delivery:
    """Store a prepared message as a new ticket or as an article of the ticket it follows up.

    The caller commits.  A second delivery of the same ``Message-ID`` reports the
    ticket that already holds it and stores nothing; when two deliveries race,
    the unique index on ``article.message_id`` lets exactly one of them win.
    ``routed``, the routing decision made before the transaction, stands
    unless the message turns out to be a duplicate or a follow-up.
    """
    parsed = incoming.parsed
    begin_write(session)
    decision, existing = decide(session, parsed, policy, detector, forced_queue, routed=routed)
    if decision.rule == "duplicate" and existing is not None:
        return Delivery(
            existing.number, existing.queue.name, "duplicate", False, too_large=incoming.too_large
        )
    # Content-addressed and harmless if rolled back: written before the day's
    # ticket counter is locked (on PostgreSQL it orders the deliveries).
    _store_blobs(session, incoming)
    ticket = _ticket_for(session, parsed, decision, existing, system_id)
    article = Article(
        ticket=ticket,
        raw=RawMessage(
            sha256=parsed.sha256,
            size=incoming.raw_size,
            compression="zlib",
            data=incoming.raw_data,
        ),
        message_id=parsed.key,
        channel="email",
        sender_type="customer",
        from_addr=parsed.from_addr,
        to_addr=", ".join(parsed.to),
        cc_addr=", ".join(parsed.cc),
        subject=parsed.subject,
        body=incoming.body,
        body_html=incoming.body_html,
        language=decision.language,
    )
    session.add(article)
    try:
        session.flush()
    except IntegrityError:
        # Another delivery of the same Message-ID committed between our check
        # and our insert: theirs stands, ours (ticket and all) is rolled back.
        session.rollback()
        if parsed.key:
            other = _existing_by_message_id(session, parsed.key)
            if other is not None:
                return Delivery(
                    other.number,
                    other.queue.name,
                    "duplicate",
                    False,
                    too_large=incoming.too_large,
                )
        raise
    _store_attachment_rows(session, article.id, incoming)
    record(
        session,
        ticket,
        "article",
        "system",
        article_id=article.id,
        rule=decision.rule,
        reason=decision.reason,
        problems=parsed.problems[:20],
    )
    return Delivery(
        ticket.number,
        ticket.queue.name,
        decision.rule,
        True,
        decision.language,
        decision.reason,
        too_large=incoming.too_large,
    )
