"""Turning one incoming message into a ticket or an article of one.

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
from tickets.sql import Db, as_db

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
    db = as_db(session)
    db.begin_write()
    key = incoming.content_sha256
    if earlier is not None and key in earlier:
        return earlier[key].replace(rule="duplicate", created=False, reason="")
    result = _store(db, incoming, policy, detector, system_id, forced_queue, routed, number)
    if earlier is not None and key:
        earlier[key] = result
    expire_all = getattr(session, "expire_all", None)
    if expire_all is not None:
        # Rows were written beside the ORM (a reopened ticket): objects the
        # session holds must be read again.
        expire_all()
    return result


def _duplicate(db: Db, incoming: Incoming) -> Delivery | None:
    stored = rows.stored_delivery(db, incoming.content_sha256)
    if stored is None:
        return None
    return Delivery(stored[1], stored[2], "duplicate", False, too_large=incoming.too_large)


def _store(
    db: Db,
    incoming: Incoming,
    policy: Policy,
    detector: Detector,
    system_id: str,
    forced_queue: str | None,
    routed: Decision | None,
    number: str | None,
) -> Delivery:
    parsed = incoming.parsed
    # The raw bytes first: a message stored before inserts nothing (the
    # insert is the redelivery check), and the rest is not looked up at all.
    raw_id = rows.insert_raw(
        db,
        sha256=parsed.sha256,
        content_sha256=incoming.content_sha256,
        size=incoming.raw_size,
        data=incoming.raw_data,
        envelope_to=list(incoming.envelope_to) or None,
    )
    if raw_id is None:
        duplicate = _duplicate(db, incoming)
        if duplicate is None:  # pragma: no cover - the conflict names a stored row
            raise RuntimeError("content digest conflict without a stored message")
        return duplicate
    follow = rows.followed_up(db, parsed)
    if follow is not None:
        decision = Decision(follow[0].queue, "followup", reason=follow[1])
    elif forced_queue:
        decision = Decision(forced_queue, "forced", reason="--queue given")
    else:
        decision = routed or route(routing_view(parsed, incoming.envelope_to), policy, detector)
    rows.store_blobs(db, incoming.blobs)
    # The ticket's entries and the article's go in one statement, in order.
    history: list[dict[str, Any]] = []
    if follow is not None:
        ticket = rows.resolve_merged(db, follow[0])
        rows.reopen_if_closed(db, ticket, history)
        ticket_id, ticket_number, queue = ticket.id, ticket.number, ticket.queue
    else:
        queue = decision.queue
        ticket_id, ticket_number = rows.new_ticket(
            db,
            parsed,
            queue,
            system_id=system_id,
            language=decision.language,
            rule=decision.rule,
            number=number,
            history=history,
        )
    article_id = rows.insert_article(
        db,
        ticket_id=ticket_id,
        raw_id=raw_id,
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
        created_at=utcnow(),
    )
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
    history.append(
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
    rows.record_rows(db, history)
    return Delivery(
        ticket_number,
        queue,
        decision.rule,
        True,
        decision.language,
        decision.reason,
        too_large=incoming.too_large,
    )
