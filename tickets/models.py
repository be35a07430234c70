"""The help desk's tables: queues, tickets, articles, raw mail and history.

Nothing here is ever hard-deleted: tickets are closed or merged, articles are
kept, raw mail is kept compressed.  Rows only ever gain state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Defined apart so that the mail pipe can read them without SQLAlchemy;
# imported from here by everything else.
from tickets.clock import utcnow as utcnow
from tickets.states import DEFAULT_PRIORITY as DEFAULT_PRIORITY
from tickets.states import PRIORITY_NAMES as PRIORITY_NAMES
from tickets.states import State as State
from tickets.states import priority_label as priority_label

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Queue(Base):
    """A queue; subqueues are written ``Parent::child`` as in Znuny."""

    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"))
    comment: Mapped[str] = mapped_column(String(500), default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Sender address of answers ("" = the root queue's name at ``MAIL_DOMAIN``).
    email_address: Mapped[str] = mapped_column(String(255), default="")
    #: Appended to answers, or placed where a template says ``{queue_signature}``.
    signature: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    parent: Mapped[Queue | None] = relationship(remote_side=[id])

    @property
    def leaf_name(self) -> str:
        """The last part of the name: ``de`` for ``Info::de``."""
        return self.name.rsplit("::", 1)[-1]


class TicketCounter(Base):
    """The daily counter behind ticket numbers; one row per day and system id."""

    __tablename__ = "ticket_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    system_id: Mapped[str] = mapped_column(String(2), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


#: The tickets the working lists show; partial indexes cover just these.
OPEN_TICKETS_SQL = "state NOT IN ('closed successful', 'closed unsuccessful', 'merged')"


class Ticket(Base):
    """A ticket: one conversation with a customer, in one queue."""

    __tablename__ = "ticket"
    __table_args__ = (
        # Queue views list open tickets oldest first and count them per queue;
        # closed tickets (the vast majority, over the years) stay out of both.
        # The queue is in the index so that skipping to a deep page reads the
        # index alone (tickets.listing.page_of).
        Index(
            "ix_ticket_open_created",
            "created_at",
            "id",
            "queue_id",
            postgresql_where=text(OPEN_TICKETS_SQL),
            sqlite_where=text(OPEN_TICKETS_SQL),
        ),
        Index(
            "ix_ticket_open_queue",
            "queue_id",
            "created_at",
            postgresql_where=text(OPEN_TICKETS_SQL),
            sqlite_where=text(OPEN_TICKETS_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    state: Mapped[str] = mapped_column(String(40), default=State.NEW.value, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=DEFAULT_PRIORITY)
    customer: Mapped[str] = mapped_column(String(500), default="")
    #: Language of the first message's own text (ISO 639-1), when detected.
    language: Mapped[str | None] = mapped_column(String(8))
    #: The routing rule that chose the first queue, so moves can be counted
    #: as corrections of that rule.
    route_rule: Mapped[str] = mapped_column(String(20), default="")
    #: When a pending ticket is due (reminder, or auto close); None otherwise.
    pending_until: Mapped[dt.datetime | None] = mapped_column(index=True)
    #: The volunteer responsible; with ``locked``, nobody else answers it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The ticket this one was merged into (state ``merged``).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: Moves with every change (and is set on insert).
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    queue: Mapped[Queue] = relationship()
    owner: Mapped[Volunteer | None] = relationship(foreign_keys=[owner_id])
    articles: Mapped[list[Article]] = relationship(back_populates="ticket", order_by="Article.id")
    page_links: Mapped[list[PageLink]] = relationship(
        back_populates="ticket", order_by="PageLink.id"
    )


class QueueStateCount(Base):
    """How many tickets are in each queue and state, kept exact by the database.

    Triggers of migration 0022 (not the models: SQLAlchemy cannot describe
    them) add and subtract in the same transaction as every insert, move,
    state change or delete of a ticket, whoever makes it, so the queue tree
    reads these few rows instead of counting every ticket.
    """

    __tablename__ = "queue_state_count"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(40), primary_key=True)
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)


class RawMessage(Base):
    """The bytes of a message exactly as received, compressed, never altered."""

    __tablename__ = "raw_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[str] = mapped_column(String(10), default="zlib")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: SHA-256 of the content without what transport adds on the way
    #: (:func:`tickets.mail.content_digest`): a second delivery of the same
    #: message has the same one, so the database refuses to store it twice.
    #: None for mail we sent.
    content_sha256: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    #: The envelope recipients the mail system named (LMTP's RCPT TO), kept
    #: beside the bytes, never written into them; None where none were given.
    envelope_to: Mapped[list[str] | None] = mapped_column(JSON)


class Article(Base):
    """One entry of a ticket's conversation: a mail in or out, a note, a call."""

    __tablename__ = "article"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_message.id"))
    #: Not unique: real mail reuses Message-IDs (broken mailers, ``<xxxx>``);
    #: a redelivery is recognised by ``RawMessage.content_sha256`` instead.
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    sender_type: Mapped[str] = mapped_column(String(20), default="customer")
    from_addr: Mapped[str] = mapped_column(Text, default="")
    to_addr: Mapped[str] = mapped_column(Text, default="")
    cc_addr: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: The HTML part, already sanitised (no script, no remote content loaded).
    body_html: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    #: Outgoing mail only ("" for everything else): ``pending`` until the SMTP
    #: server took it, then ``sent``; ``sending`` while a worker holds it;
    #: ``failed`` once the attempts ran out.  ``raw`` keeps the message as built.
    send_status: Mapped[str] = mapped_column(String(10), default="", index=True)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_error: Mapped[str] = mapped_column(Text, default="")
    #: When the last attempt began (a ``sending`` row far older was cut off).
    send_tried_at: Mapped[dt.datetime | None] = mapped_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="articles")
    raw: Mapped[RawMessage | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="article", order_by="Attachment.id"
    )


class Blob(Base):
    """Content stored once by its SHA-256, outside the rows that refer to it."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[str] = mapped_column(String(10), default="zlib")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file that came with an article; its bytes are a :class:`Blob`."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    filename: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    disposition: Mapped[str] = mapped_column(String(20), default="attachment")
    content_id: Mapped[str] = mapped_column(String(500), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), index=True)

    article: Mapped[Article] = relationship(back_populates="attachments")


class History(Base):
    """Who changed what on a ticket, and when."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(255), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RoutingPolicy(Base):
    """One version of the routing policy; exactly one is active.

    Versions are never changed or removed, so every past decision can be
    explained by the policy that made it, and a bad change rolled back.
    """

    __tablename__ = "routing_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(255), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RoutingCorrection(Base):
    """A volunteer moved a ticket out of the queue the routing chose."""

    __tablename__ = "routing_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    from_queue: Mapped[str] = mapped_column(String(200))
    to_queue: Mapped[str] = mapped_column(String(200))
    corrected_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Volunteer(Base):
    """A volunteer (agent), known by their wiki account."""

    __tablename__ = "volunteer"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    wiki_sub: Mapped[str] = mapped_column(String(64), default="")
    #: ``volunteer``, ``admin`` or ``head`` (see :mod:`tickets.access`).
    role: Mapped[str] = mapped_column(String(20), default="volunteer")
    #: Interface language chosen by the volunteer ("" = from the wiki or browser).
    language: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()


class TicketLink(Base):
    """Two tickets that belong together (a volunteer said so)."""

    __tablename__ = "ticket_link"
    __table_args__ = (UniqueConstraint("source_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PageLink(Base):
    """A wiki page linked to a ticket (the file a permission statement is about)."""

    __tablename__ = "page_link"
    __table_args__ = (UniqueConstraint("ticket_id", "wiki", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    wiki: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(512))
    linked_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    #: How the link came: "typed", "suggested", "category", "uploads".
    source: Mapped[str] = mapped_column(String(20), default="typed", server_default="typed")
    #: What the page carried when last read (exists, tags, revision); None: not read yet.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checked_at: Mapped[dt.datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="page_links")
    actions: Mapped[list[PageAction]] = relationship(
        back_populates="link", order_by="PageAction.id"
    )


class PageAction(Base):
    """An edit a volunteer asked for on a linked page, and how it went."""

    __tablename__ = "page_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("page_link.id"), index=True)
    #: The batch it belongs to (None only for actions older than batches).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("wiki_batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    requested_by: Mapped[str] = mapped_column(String(255))
    login_session_id: Mapped[str | None] = mapped_column(String(64))
    #: The revision the edit was based on, and the one it made.
    base_revision: Mapped[int | None] = mapped_column(BigInteger)
    revision: Mapped[int | None] = mapped_column(BigInteger)
    #: For an undo: the action whose edit it reverts.
    undo_of_id: Mapped[int | None] = mapped_column(ForeignKey("page_action.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    link: Mapped[PageLink] = relationship(back_populates="actions")
    batch: Mapped[WikiBatch | None] = relationship(back_populates="actions")
    undo_of: Mapped[PageAction | None] = relationship(remote_side="PageAction.id")


class WikiBatch(Base):
    """Page edits asked for together on one wiki: one job, one progress bar.

    The batch holds a lease while a worker runs it, so a worker that died
    mid-batch is noticed and another one resumes the pages still queued.
    """

    __tablename__ = "wiki_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    wiki: Mapped[str] = mapped_column(String(64))
    #: "confirm" (permission verified), "pending" (received), "undo".
    kind: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(255))
    login_session_id: Mapped[str | None] = mapped_column(String(64))
    #: Edit as the configured bot account instead of the volunteer.
    as_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Licence id to add with the permission ("" for none).
    licence: Mapped[str] = mapped_column(String(40), default="")
    #: queued, running, paused (waits for the volunteer to log in again),
    #: stopped (waits for someone to resume it: bot login refused, internal error),
    #: done, cancelled (its pages left were given up).
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    lease_until: Mapped[dt.datetime | None]
    #: Which runner holds the lease ("host:pid:random"): only it may renew the
    #: lease or write an outcome, so a runner whose lease ran out cannot
    #: overwrite what the runner that took over wrote.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    ticket: Mapped[Ticket] = relationship()
    actions: Mapped[list[PageAction]] = relationship(
        back_populates="batch", order_by="PageAction.id"
    )


class AnswerTemplate(Base):
    """A prepared answer with ``{variables}``, for one queue or (no queue) all of them."""

    __tablename__ = "answer_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: None: offered in every queue; else in this queue and its subqueues.
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"), index=True)
    #: Replaces the reply subject when set ("" keeps ``Re: <subject>``).
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    queue: Mapped[Queue | None] = relationship()


class News(Base):
    """An announcement of the volunteer administrators, shown on the login page."""

    __tablename__ = "news"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    #: Unpublished news stays (nothing is deleted) but is no longer shown.
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
