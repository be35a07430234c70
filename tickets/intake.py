"""Turning incoming messages into tickets or articles of them, one or a batch at a time.

The raw bytes are stored with every article exactly as received, whatever
could be read of them; delivery is idempotent on the message's content
(transport headers aside, routing rule 2) and the database enforces it.
Message-IDs may repeat: a different message with a known one is stored too.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from tickets import intake_rows as rows
from tickets import mail as mailparse
from tickets.clock import utcnow
from tickets.digests import sha256_hex
from tickets.html import sanitise
from tickets.intake_rows import followed_up, stored_delivery
from tickets.records import Record
from tickets.routing import Decision, Policy, route
from tickets.sql import Db, Pending, as_db

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # Only the web and the tools hand in SQLAlchemy sessions and connections;
    # the mail pipe stores through :class:`tickets.sql.Db` without importing it.
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from tickets.models import Blob, RawMessage, Ticket
    from tickets.routing import Detector


class Delivery(Record):
    """The outcome of delivering one message."""

    number: str
    queue: str
    rule: str
    created: bool
    language: str | None = None
    reason: str = ""
    #: Over the size limit: stored unread, its raw bytes kept.
    too_large: bool = False


def routing_view(parsed: mailparse.ParsedMail, envelope: Sequence[str]) -> mailparse.ParsedMail:
    """``parsed`` as the routing sees it: the envelope recipients after its headers.

    Routing reads To, then Cc, then Delivered-To; the envelope recipients
    (LMTP's RCPT TO: a Bcc, an alias the MTA expanded) come last, so headers
    that name a known address always decide.  The stored bytes are untouched.
    """
    if not envelope:
        return parsed
    named = {a.lower() for a in parsed.delivered_to}
    extra = [r for r in dict.fromkeys(e.lower() for e in envelope) if r and r not in named]
    if not extra:
        return parsed
    return parsed.replace(delivered_to=[*parsed.delivered_to, *extra])


def is_known(session: Session | Connection | Db, parsed: mailparse.ParsedMail) -> bool:
    """Whether ``parsed`` is stored already or follows up a stored ticket (reads only).

    Such a message needs no routing (no language detection, no model to load).
    """
    db = as_db(session)
    if parsed.content_sha256 and stored_delivery(db, parsed.content_sha256) is not None:
        return True
    return followed_up(db, parsed) is not None


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
    message without storing it.  A message already stored (the same content,
    transport headers aside) is reported as a duplicate before anything else,
    so no rule can store it twice.  ``routed`` is :func:`route`'s decision
    made beforehand (outside the write transaction).
    """
    if session is not None:
        from tickets.models import Ticket

        db = as_db(session)
        if parsed.content_sha256:
            stored = stored_delivery(db, parsed.content_sha256)
            if stored is not None:
                ticket_id, _number, queue = stored
                return Decision(
                    queue, "duplicate", reason="the same message is stored"
                ), session.get(Ticket, ticket_id)
        follow = followed_up(db, parsed)
        if follow is not None:
            found, why = follow
            return Decision(found.queue, "followup", reason=why), session.get(Ticket, found.id)
    if forced_queue:
        return Decision(forced_queue, "forced", reason="--queue given"), None
    return routed or route(parsed, policy, detector), None


_TOO_LARGE_NOTE = (
    "This message is too large to read: {size:,} bytes, over the limit of {limit:,} "
    "bytes (MAIL_MAX_BYTES). Its text, HTML part and attachments were not taken from it. "
    "It is kept exactly as received: download the original message (.eml) from this article."
)


def _compress(data: bytes) -> bytes:
    # Level 1: mail is mostly base64 and text; level 6 saved 2 % more space
    # on the bench corpus for 10 % more time.  Any level reads back the same.
    return zlib.compress(data, 1)


#: Bytes tried before compressing a whole attachment.
_PROBE = 64 * 1024


def _blob_data(data: bytes) -> tuple[str, bytes]:
    """An attachment as stored: compressed, unless compressing would not pay.

    Photos, PDFs and archives are compressed already; zlib spent a quarter
    of intake's time on them for nothing.  A probe of the first 64 KB decides.
    """
    if len(data) > _PROBE and len(_compress(data[:_PROBE])) > 0.9 * _PROBE:
        return "none", data
    return "zlib", _compress(data)


class Incoming(Record):
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
    #: The attachments' contents by SHA-256: (size, compression, stored bytes).
    blobs: dict[str, tuple[int, str, bytes]]
    #: The SHA-256 of each of ``parsed.attachments``, in their order.
    hashes: tuple[str, ...] = ()
    #: Over the size limit: only the header section was read.
    too_large: bool = False
    limit: int | None = None
    #: The envelope recipients (LMTP), kept beside the raw bytes and routed by.
    envelope_to: tuple[str, ...] = ()

    @property
    def content_sha256(self) -> str:
        """What recognises a redelivery (see :func:`tickets.mail.content_digest`)."""
        return self.parsed.content_sha256


def prepare(raw: bytes, max_bytes: int | None = None, envelope_to: Sequence[str] = ()) -> Incoming:
    """Read ``raw`` and make everything :func:`store_incoming` writes; never raises.

    A message longer than ``max_bytes`` is not read beyond its header section
    (routing, threading and idempotency need nothing more): its article says
    so, and its raw bytes are kept like any other's.  ``envelope_to`` (the
    recipients an MTA named over LMTP) is stored beside the bytes, never in them.
    """
    envelope = tuple(dict.fromkeys(r.strip() for r in envelope_to if r and r.strip()))
    if max_bytes is not None and len(raw) > max_bytes:
        headers = mailparse.parse_headers(raw)
        parsed = headers.replace(
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
            envelope_to=envelope,
        )
    parsed = mailparse.parse(raw)
    blobs: dict[str, tuple[int, str, bytes]] = {}
    hashes = []
    for part in parsed.attachments:
        digest = sha256_hex(part.data)
        hashes.append(digest)
        if digest not in blobs:
            blobs[digest] = (len(part.data), *_blob_data(part.data))
    return Incoming(
        parsed=parsed,
        raw_size=len(raw),
        raw_data=_compress(raw),
        body=parsed.body,
        body_html=sanitise(parsed.html) if parsed.html else None,
        blobs=blobs,
        hashes=tuple(hashes),
        limit=max_bytes,
        envelope_to=envelope,
    )


def store_blob(session: Session, data: bytes) -> str:
    """Store ``data`` once by its SHA-256 (a second copy costs nothing); return the hash."""
    from tickets.models import Blob
    from tickets.tickets import insert_ignoring_conflicts

    digest = sha256_hex(data)
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


def begin_write(session: Session | Connection | Db) -> None:
    """Start the transaction as a writer from its first statement (see :meth:`Db.begin_write`)."""
    as_db(session).begin_write()


def raw_bytes(row: RawMessage) -> bytes:
    """The message exactly as received."""
    return zlib.decompress(row.data) if row.compression == "zlib" else row.data


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


class Storing(Record):
    """One prepared message for :func:`store_all`, with what was decided before the transaction."""

    incoming: Incoming
    #: Store in this queue (``--queue``), unless it is a redelivery or a follow-up.
    forced_queue: str | None = None
    #: :func:`route`'s decision, made before the transaction.
    routed: Decision | None = None
    #: An archive's ticket number, kept when valid and free.
    number: str | None = None


def store_incoming(
    session: Session | Connection | Db,
    incoming: Incoming,
    *,
    policy: Policy,
    detector: Detector,
    system_id: str,
    forced_queue: str | None = None,
    routed: Decision | None = None,
    number: str | None = None,
    earlier: dict[str, Delivery] | None = None,
) -> Delivery:
    """Store a prepared message as a new ticket or as an article of the ticket it follows up.

    The caller commits (several messages may share one transaction).  A
    redelivery (the same content, transport headers aside) reports the
    ticket that already holds it and stores nothing; when two deliveries
    race, the unique content digest lets exactly one of them store it.  A
    message that only shares a Message-ID with a stored one is stored too.
    ``routed``, the routing decision made before the transaction, stands
    unless the message turns out to be a duplicate or a follow-up.
    ``number``: an archive's ticket number, kept when valid and free.
    ``earlier``: deliveries of this transaction by content digest (filled in).
    """
    (result,) = store_all(
        session,
        [Storing(incoming, forced_queue, routed, number)],
        policy=policy,
        detector=detector,
        system_id=system_id,
        earlier=earlier,
    )
    return result


def store_all(
    session: Session | Connection | Db,
    messages: Sequence[Storing],
    *,
    policy: Policy,
    detector: Detector,
    system_id: str,
    earlier: dict[str, Delivery] | None = None,
) -> list[Delivery]:
    """Store prepared messages in the caller's transaction, as :func:`store_incoming` one by one.

    The rows are those :func:`store_incoming` would write for each message
    in turn, in the same order, and a later message sees the earlier ones
    (a reply to one, the same message twice).  The statements are sent a
    step at a time for all the messages (the raw rows and lookups, the
    tickets, the articles, the rest), so on a pipelined connection a batch
    waits for a few round trips instead of a few per message.

    :raises NumberTaken: when, in a batch of several, a ticket number turns
        out to be taken (an archive imported today's numbers): write the
        messages one at a time instead.
    """
    db = as_db(session)
    db.begin_write()
    results = _store_all(
        db,
        [_Work(m) for m in messages],
        policy,
        detector,
        system_id,
        {} if earlier is None else earlier,
    )
    expire_all = getattr(session, "expire_all", None)
    if expire_all is not None:
        # Rows were written beside the ORM (a reopened ticket): objects the
        # session holds must be read again.
        expire_all()
    return results


class NumberTaken(RuntimeError):
    """A ticket number given out in a batch was taken already; see :func:`store_all`."""


class _Work:
    """One message on its way through :func:`_store_all`, filled in step by step."""

    __slots__ = (
        "article",
        "decision",
        "delivery",
        "history",
        "lookups",
        "message",
        "new_ticket",
        "number",
        "raw",
        "raw_id",
        "same_as",
        "target",
        "ticket_id",
        "ticket_row",
    )

    def __init__(self, message: Storing) -> None:
        self.message = message
        #: An earlier message of the run with the same content (by digest).
        self.same_as: str | None = None
        self.raw: Pending | None = None
        self.raw_id: int | None = None
        self.lookups: list[tuple[rows.Clue, Pending]] = []
        #: Set when nothing more is to be stored (a redelivery).
        self.delivery: Delivery | None = None
        self.decision: Decision | None = None
        #: The ticket it joins: a stored one, or the new ticket of a message of this run.
        self.target: rows.Found | _Work | None = None
        self.new_ticket: Pending | None = None
        self.number: str | None = None
        self.ticket_id: int | None = None
        self.ticket_row: dict[str, Any] = {}
        self.article: Pending | None = None
        self.history: list[dict[str, Any]] = []


def _store_all(
    db: Db,
    run: list[_Work],
    policy: Policy,
    detector: Detector,
    system_id: str,
    earlier: dict[str, Delivery],
) -> list[Delivery]:
    _send_raw_and_lookups(db, run, earlier)
    _read_redeliveries(db, run)
    _decide_and_send_tickets(db, run, policy, detector, system_id)
    _read_tickets(db, run, system_id)
    for work in run:
        if work.delivery is None and work.same_as is None:
            work.article = _send_article(db, work)
    results: list[Delivery] = []
    for work in run:
        if work.same_as is not None:
            first = earlier[work.same_as]
            results.append(first.replace(rule="duplicate", created=False, reason=""))
            continue
        if work.delivery is None:
            work.delivery = _finish(db, work)
        key = work.message.incoming.content_sha256
        if key:
            earlier[key] = work.delivery
        results.append(work.delivery)
    return results


def _send_raw_and_lookups(db: Db, run: list[_Work], earlier: dict[str, Delivery]) -> None:
    """Step 1: the raw bytes (their insert is the redelivery check) and the clues' lookups."""
    keys: set[str] = set()
    for work in run:
        incoming = work.message.incoming
        key = incoming.content_sha256
        if key in earlier or key in keys:
            work.same_as = key
            continue
        if key:
            keys.add(key)
        work.raw = rows.send_raw(
            db,
            sha256=incoming.parsed.sha256,
            content_sha256=key,
            size=incoming.raw_size,
            data=incoming.raw_data,
            envelope_to=list(incoming.envelope_to) or None,
        )
        # A redelivery needs none of them; read only when it is not one.
        work.lookups = [(clue, rows.look_up(db, clue)) for clue in rows.clues(incoming.parsed)]
    for work in run:
        if work.raw is not None:
            raw_id = work.raw.scalar()
            work.raw_id = int(raw_id) if raw_id is not None else None


def _read_redeliveries(db: Db, run: list[_Work]) -> None:
    """A message stored before inserted nothing: report the ticket that holds it."""
    stored = [
        (work, rows.send_stored(db, work.message.incoming.content_sha256))
        for work in run
        if work.raw is not None and work.raw_id is None
    ]
    for work, pending in stored:
        row = pending.row()
        if row is None:  # pragma: no cover - the conflict names a stored row
            raise RuntimeError("content digest conflict without a stored message")
        work.delivery = Delivery(
            row[1], row[2], "duplicate", False, too_large=work.message.incoming.too_large
        )


def _decide_and_send_tickets(
    db: Db, run: list[_Work], policy: Policy, detector: Detector, system_id: str
) -> None:
    """Step 2, in order: what each message follows up, or where its new ticket goes."""
    # What this run stored so far, as a later message's lookups could not see it.
    by_message_id: dict[str, rows.Found | _Work] = {}
    by_number: dict[str, _Work] = {}
    reopened: set[int] = set()
    for work in run:
        if work.delivery is not None or work.same_as is not None:
            continue
        message = work.message
        incoming = message.incoming
        parsed = incoming.parsed
        follow = _followed_up(work, by_message_id, by_number)
        if follow is not None:
            target, reason = follow
            work.decision = Decision(_queue_of(target), "followup", reason=reason)
        elif message.forced_queue:
            work.decision = Decision(message.forced_queue, "forced", reason="--queue given")
        else:
            work.decision = message.routed or route(
                routing_view(parsed, incoming.envelope_to), policy, detector
            )
        rows.store_blobs(db, incoming.blobs)
        if follow is not None:
            target = follow[0]
            if isinstance(target, rows.Found):
                target = rows.resolve_merged(db, target)
                if target.id not in reopened and rows.reopen_if_closed(db, target, work.history):
                    reopened.add(target.id)
            work.target = target
        else:
            work.target = work
            values = rows.ticket_values(
                parsed,
                rows.queue_id(db, work.decision.queue),
                language=work.decision.language,
                rule=work.decision.rule,
            )
            number = rows.usable_number(message.number) or rows.next_number(db, system_id)
            work.number, work.ticket_row = number, values
            by_number[number] = work
            work.new_ticket = rows.send_ticket(db, number, values)
        if parsed.key:
            by_message_id[parsed.key[: rows.MESSAGE_ID_MAX]] = work.target


def _followed_up(
    work: _Work, by_message_id: dict[str, rows.Found | _Work], by_number: dict[str, _Work]
) -> tuple[rows.Found | _Work, str] | None:
    """The first clue that finds a ticket: one this run made or joined, else a stored one."""
    for clue, pending in work.lookups:
        ours = (by_number if clue.kind == "number" else by_message_id).get(clue.value)
        if ours is not None:
            return ours, clue.reason
        found = rows.found_row(pending.row())
        if found is not None:
            return found, clue.reason
    return None


def _queue_of(target: rows.Found | _Work) -> str:
    if isinstance(target, rows.Found):
        return target.queue
    assert target.decision is not None
    return target.decision.queue


def _read_tickets(db: Db, run: list[_Work], system_id: str) -> None:
    """The new tickets' ids; a number found taken is replaced (alone) or refused (in a batch)."""
    for work in run:
        if work.new_ticket is None:
            continue
        ticket_id = work.new_ticket.scalar()
        if ticket_id is None:
            if len(run) > 1:
                # The numbers after it are given out already, in order.
                raise NumberTaken(f"ticket number {work.number} is taken")
            ticket_id, work.number = rows.insert_ticket(db, work.ticket_row, system_id)
        work.ticket_id = int(ticket_id)
        assert work.decision is not None
        work.history.append(
            rows.history_row(
                work.ticket_id, "created", "system", queue=work.decision.queue, number=work.number
            )
        )


def _ticket_of(target: rows.Found | _Work | None) -> tuple[int, str]:
    """The id and number of the ticket a message joins."""
    if isinstance(target, rows.Found):
        return target.id, target.number
    assert target is not None and target.ticket_id is not None and target.number is not None
    return target.ticket_id, target.number


def _send_article(db: Db, work: _Work) -> Pending:
    incoming = work.message.incoming
    parsed = incoming.parsed
    assert work.decision is not None
    return rows.send_article(
        db,
        ticket_id=_ticket_of(work.target)[0],
        raw_id=work.raw_id,
        message_id=parsed.key,
        channel="email",
        sender_type="customer",
        from_addr=parsed.from_addr,
        to_addr=", ".join(parsed.to),
        cc_addr=", ".join(parsed.cc),
        subject=parsed.subject,
        body=incoming.body,
        body_html=incoming.body_html,
        language=work.decision.language,
        created_at=utcnow(),
    )


def _finish(db: Db, work: _Work) -> Delivery:
    """The last step: attachments and history, once the article's id is known."""
    incoming = work.message.incoming
    parsed = incoming.parsed
    decision = work.decision
    assert decision is not None and work.article is not None and work.target is not None
    ticket_id, number = _ticket_of(work.target)
    article_id = int(work.article.scalar())
    rows.insert_attachments(
        db,
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
            for part, digest in zip(parsed.attachments, incoming.hashes, strict=True)
        ],
    )
    work.history.append(
        rows.history_row(
            ticket_id,
            "article",
            "system",
            article_id=article_id,
            rule=decision.rule,
            reason=decision.reason,
            problems=parsed.problems[:20],
        )
    )
    rows.record_rows(db, work.history)
    return Delivery(
        number,
        _queue_of(work.target),
        decision.rule,
        True,
        decision.language,
        decision.reason,
        too_large=incoming.too_large,
    )
