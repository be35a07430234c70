"""Turning one incoming message into a ticket or an article of one.

The raw bytes are stored first, whatever happens after; delivery is idempotent
on ``Message-ID`` and the database enforces it.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets import mail as mailparse
from tickets.models import Article, RawMessage, State, Ticket
from tickets.queues import ensure_queues, queue_by_name
from tickets.routing import Decision, Policy, route
from tickets.tickets import create_ticket, record, ticket_by_number


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one message."""

    number: str
    queue: str
    rule: str
    created: bool


def _existing_by_message_id(session: Session, message_id: str) -> Ticket | None:
    article = session.scalars(select(Article).where(Article.message_id == message_id)).one_or_none()
    return article.ticket if article else None


def _followed_up(session: Session, parsed: mailparse.ParsedMail) -> Ticket | None:
    for number in parsed.ticket_tags:
        ticket = ticket_by_number(session, number)
        if ticket is not None:
            return ticket
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        ticket = _existing_by_message_id(session, ref)
        if ticket is not None:
            return ticket
    return None


def _store_raw(session: Session, raw: bytes) -> RawMessage:
    row = RawMessage(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        compression="zlib",
        data=zlib.compress(raw, 6),
    )
    session.add(row)
    session.flush()
    return row


def begin_write(session: Session) -> None:
    """Start the transaction as a writer from its first statement.

    SQLite lets only one writer in; a transaction that reads first and writes
    later fails at once if another wrote in between, instead of waiting its
    turn.  ``BEGIN IMMEDIATE`` queues the delivery up front.  PostgreSQL
    needs nothing: the counter row's lock orders deliveries there.
    """
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def raw_bytes(row: RawMessage) -> bytes:
    """The message exactly as received."""
    return zlib.decompress(row.data) if row.compression == "zlib" else row.data


def deliver(
    session: Session,
    raw: bytes,
    *,
    policy: Policy,
    system_id: str,
    forced_queue: str | None = None,
) -> Delivery:
    """Store ``raw`` as a new ticket or as an article of the ticket it follows up.

    The caller commits.  A second delivery of the same ``Message-ID`` reports the
    ticket that already holds it and stores nothing; when two deliveries race,
    the unique index on ``article.message_id`` lets exactly one of them win.
    """
    parsed = mailparse.parse(raw)
    begin_write(session)
    if parsed.message_id:
        existing = _existing_by_message_id(session, parsed.message_id)
        if existing is not None:
            return Delivery(existing.number, existing.queue.name, "duplicate", created=False)

    ticket = _followed_up(session, parsed)
    if ticket is not None:
        decision = Decision(ticket.queue.name, "followup")
        if State(ticket.state).is_closed:
            ticket.state = State.OPEN.value
            record(session, ticket, "reopened", "system", by="customer reply")
    else:
        decision = Decision(forced_queue, "forced") if forced_queue else route(parsed, policy)
        queue = (
            queue_by_name(session, decision.queue) or ensure_queues(session, [decision.queue])[-1]
        )
        ticket = create_ticket(
            session,
            queue=queue,
            title=parsed.subject or "(no subject)",
            customer=parsed.sender_address or parsed.from_addr,
            system_id=system_id,
        )

    raw_row = _store_raw(session, raw)
    article = Article(
        ticket=ticket,
        raw=raw_row,
        message_id=parsed.message_id,
        channel="email",
        sender_type="customer",
        from_addr=parsed.from_addr,
        to_addr=", ".join(parsed.to),
        cc_addr=", ".join(parsed.cc),
        subject=parsed.subject,
        body=parsed.body,
    )
    session.add(article)
    try:
        session.flush()
    except IntegrityError:
        # Another delivery of the same Message-ID committed between our check
        # and our insert: theirs stands, ours (ticket and all) is rolled back.
        session.rollback()
        if parsed.message_id:
            existing = _existing_by_message_id(session, parsed.message_id)
            if existing is not None:
                return Delivery(existing.number, existing.queue.name, "duplicate", False)
        raise
    record(
        session,
        ticket,
        "article",
        "system",
        article_id=article.id,
        rule=decision.rule,
        problems=parsed.problems[:20],
    )
    return Delivery(ticket.number, ticket.queue.name, decision.rule, created=True)
