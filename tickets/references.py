"""Ticket references on the wikis: which page cites which ticket, since when, and until when.

A reference is one citation (a template, a pending mark, a ticket URL, an
interwiki link) on one page. It is never deleted: one that disappears from
its page is marked gone with the revision that no longer had it, and one that
comes back is a new row. ``ReferenceCursor`` keeps where a scan or a sync of
a wiki stopped, so a restart neither misses nor repeats work. ``KnownTicket``
holds tickets of an older system this desk never held, so an audit can tell
an old valid ticket from a forged number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.models import Base, utcnow

#: The kinds of reference.
TEMPLATE = "template"
PENDING = "pending"
URL = "url"
INTERWIKI = "interwiki"
KINDS = (TEMPLATE, PENDING, URL, INTERWIKI)


@dataclass(frozen=True)
class Citation:
    """One citation of a ticket found in a page's text."""

    kind: str
    #: The ticket number (or old-system id) as written, without spaces.
    ticket: str
    #: True when ``ticket`` is the old system's internal id, not a number.
    is_id: bool = False
    #: The template's canonical name, or the URL / interwiki target as written.
    source: str = ""


@dataclass(frozen=True)
class PageText:
    """A page as read from the wiki: what references are recorded against."""

    page_id: int
    title: str
    namespace: int
    revision: int
    citations: Sequence[Citation]


class WikiReference(Base):
    """A ticket cited on a wiki page, from the first scan that saw it until it is gone."""

    __tablename__ = "wiki_reference"
    __table_args__ = (
        # At most one live row per citation; gone rows are history.
        Index(
            "uq_wiki_reference_live",
            "wiki",
            "page_id",
            "kind",
            "ticket",
            "is_id",
            unique=True,
            sqlite_where=text("gone_at IS NULL"),
            postgresql_where=text("gone_at IS NULL"),
        ),
        Index("ix_wiki_reference_number", "number"),
        Index("ix_wiki_reference_page", "wiki", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wiki: Mapped[str] = mapped_column(String(64))
    page_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(512))
    namespace: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16))
    #: As written on the page (spaces removed): may be malformed.
    ticket: Mapped[str] = mapped_column(String(64))
    is_id: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The ticket number it resolves to (a 16-digit string), when it does.
    number: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(512), default="")
    #: The latest revision of the page that still had it.
    revision: Mapped[int] = mapped_column(BigInteger)
    #: The revision that introduced it and its author, found lazily (None: not yet).
    added_revision: Mapped[int | None] = mapped_column(BigInteger)
    added_by: Mapped[str | None] = mapped_column(String(255))
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: When a scan or sync found it gone, and the revision that no longer had it
    #: (None for a page deleted or no longer readable).
    gone_at: Mapped[dt.datetime | None]
    gone_revision: Mapped[int | None] = mapped_column(BigInteger)


class ReferenceCursor(Base):
    """Where a scan or sync of one wiki stopped: continuation kept across restarts."""

    __tablename__ = "reference_cursor"

    wiki: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: "scan" (a full scan in progress) or "sync" (recent changes followed).
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KnownTicket(Base):
    """A ticket of an older system (or this one) known to be real, from an import."""

    __tablename__ = "known_ticket"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The old system's internal id, where known (``TicketID=`` and ``otrs:`` links).
    old_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    queue: Mapped[str] = mapped_column(String(200), default="")
    permission_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_from: Mapped[str] = mapped_column(String(255), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def number_of(citation: Citation, ids: dict[str, str]) -> str | None:
    """The ticket number a citation resolves to: itself, or the number its old id maps to."""
    if citation.is_id:
        return ids.get(citation.ticket)
    return citation.ticket if citation.ticket.isdigit() else None


def _old_ids(session: Session, pages: Iterable[PageText]) -> dict[str, str]:
    wanted = {c.ticket for p in pages for c in p.citations if c.is_id}
    if not wanted:
        return {}
    rows = session.execute(
        select(KnownTicket.old_id, KnownTicket.number).where(KnownTicket.old_id.in_(wanted))
    )
    return {str(old): str(number) for old, number in rows}


@dataclass
class Recorded:
    """What recording some pages changed."""

    added: int = 0
    gone: int = 0
    kept: int = 0


def record_pages(
    session: Session, wiki: str, pages: Sequence[PageText], now: dt.datetime | None = None
) -> Recorded:
    """Bring the stored references of ``pages`` in line with what they cite now.

    New citations become rows; citations no longer on a page are marked gone
    with the page's current revision; the rest get the revision and last-seen
    time. One query reads the live rows of all the pages.
    """
    now = now or utcnow()
    outcome = Recorded()
    if not pages:
        return outcome
    live: dict[int, dict[tuple[str, str, bool], WikiReference]] = {}
    rows = session.scalars(
        select(WikiReference).where(
            WikiReference.wiki == wiki,
            WikiReference.page_id.in_([p.page_id for p in pages]),
            WikiReference.gone_at.is_(None),
        )
    )
    for row in rows:
        live.setdefault(row.page_id, {})[(row.kind, row.ticket, row.is_id)] = row
    ids = _old_ids(session, pages)
    for page in pages:
        stored = live.get(page.page_id, {})
        current = {(c.kind, c.ticket, c.is_id): c for c in page.citations}
        for key, row in stored.items():
            if key in current:
                row.revision, row.last_seen = page.revision, now
                row.title, row.namespace = page.title, page.namespace
                outcome.kept += 1
            else:
                row.gone_at, row.gone_revision = now, page.revision
                outcome.gone += 1
        for key, citation in current.items():
            if key in stored:
                continue
            session.add(
                WikiReference(
                    wiki=wiki,
                    page_id=page.page_id,
                    title=page.title,
                    namespace=page.namespace,
                    kind=citation.kind,
                    ticket=citation.ticket,
                    is_id=citation.is_id,
                    number=number_of(citation, ids),
                    source=citation.source[:512],
                    revision=page.revision,
                    first_seen=now,
                    last_seen=now,
                )
            )
            outcome.added += 1
    return outcome


def record_missing(
    session: Session, wiki: str, page_ids: Iterable[int], now: dt.datetime | None = None
) -> int:
    """Mark every live reference of pages that no longer exist (deleted) as gone."""
    now = now or utcnow()
    count = 0
    rows = session.scalars(
        select(WikiReference).where(
            WikiReference.wiki == wiki,
            WikiReference.page_id.in_(list(page_ids)),
            WikiReference.gone_at.is_(None),
        )
    )
    for row in rows:
        row.gone_at = now
        count += 1
    return count


def cursor(session: Session, wiki: str, name: str) -> ReferenceCursor:
    """The cursor of ``wiki``'s scan or sync, made empty when there is none yet."""
    row = session.get(ReferenceCursor, (wiki, name))
    if row is None:
        row = ReferenceCursor(wiki=wiki, name=name, state={})
        session.add(row)
        session.flush()
    return row


def live_references_of_ticket(session: Session, number: str) -> list[WikiReference]:
    """Every page citing ``number`` now, by wiki and title."""
    return list(
        session.scalars(
            select(WikiReference)
            .where(WikiReference.number == number, WikiReference.gone_at.is_(None))
            .order_by(WikiReference.wiki, WikiReference.title, WikiReference.id)
        )
    )


@dataclass(frozen=True)
class PublicTicket:
    """What anyone may know of a ticket number cited on a wiki: never more.

    ``status`` is one of "confirmed" (a permission ticket whose permission was
    confirmed), "pending" (a permission ticket not confirmed yet), "not-permission"
    (a real ticket outside the permission queues) and "unknown" (no ticket this
    desk knows, a malformed number, or a number no wiki cites: all answered alike).
    """

    number: str
    status: str
    known: bool = False
    permission: bool = False
    confirmed: bool = False


#: Queue names (and their subqueues) whose tickets are permission tickets.
PERMISSION_QUEUE = "Permissions"


def is_permission_queue(name: str) -> bool:
    name = name.strip().lower()
    base = PERMISSION_QUEUE.lower()
    return name == base or name.startswith(base + "::")


def public_facts(session: Session, numbers: Iterable[str]) -> dict[str, PublicTicket]:
    """The public facts of each number, by number; the same "unknown" for anything not cited.

    A number no page cites gets the answer a malformed one gets, so the public
    pages and the API cannot be used to learn which tickets exist beyond what
    the wikis already show.
    """
    from tickets.models import PageAction, PageLink, Queue, Ticket

    wanted = sorted({n.strip() for n in numbers})
    facts = {n: PublicTicket(n, "unknown") for n in wanted}
    digits = [n for n in wanted if n.isdigit() and len(n) <= 32]
    if not digits:
        return facts
    cited = set(
        session.scalars(
            select(WikiReference.number).where(WikiReference.number.in_(digits)).distinct()
        )
    )
    if not cited:
        return facts
    desk = {
        number: (queue, state)
        for number, queue, state in session.execute(
            select(Ticket.number, Queue.name, Ticket.state)
            .join(Queue, Queue.id == Ticket.queue_id)
            .where(Ticket.number.in_(cited))
        )
    }
    tagged = (
        set(
            session.scalars(
                select(Ticket.number)
                .join(PageLink, PageLink.ticket_id == Ticket.id)
                .join(PageAction, PageAction.link_id == PageLink.id)
                .where(
                    Ticket.number.in_(list(desk)),
                    PageAction.kind == "confirm",
                    PageAction.status == "done",
                )
            )
        )
        if desk
        else set()
    )
    old = {
        row.number: row
        for row in session.scalars(select(KnownTicket).where(KnownTicket.number.in_(cited)))
    }
    for number in cited:
        if number in desk:
            queue, state = desk[number]
            permission = is_permission_queue(queue)
            confirmed = permission and (number in tagged or state == "closed successful")
        elif number in old:
            permission = is_permission_queue(old[number].queue)
            confirmed = permission and old[number].permission_confirmed
        else:
            continue
        status = "confirmed" if confirmed else "pending" if permission else "not-permission"
        facts[number] = PublicTicket(number, status, True, permission, confirmed)
    return facts


def live_references_of_page(session: Session, wiki: str, title: str) -> list[WikiReference]:
    """The references a page carries now."""
    return list(
        session.scalars(
            select(WikiReference)
            .where(
                WikiReference.wiki == wiki,
                WikiReference.title == title,
                WikiReference.gone_at.is_(None),
            )
            .order_by(WikiReference.id)
        )
    )
