"""Writes to wiki pages that are not tied to a ticket: a section, a line, a whole page.

Recruiting posts an application on Meta, an administrator's decision goes
under it, a new volunteer's name onto a list. Each such write is a row here,
run by a worker (``wikibridge.wiki.writes``) as the requesting volunteer
(their OAuth login) or as the desk's bot, with a lease like the tagging
batches, so a worker that dies is replaced and nothing is written twice.

Writes of one ``purpose`` (a free string such as ``"application:12"``) are
made in the order they were requested: a write waits while an earlier one of
its purpose is neither done, unchanged nor cancelled.

Rows are never deleted: a write given up is "cancelled", with who and when
in its message.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.leases import LEASE, extend, release, stalled_ids, take
from tickets.models import Base, utcnow


class Op(enum.StrEnum):
    """What a write does to its page."""

    #: Add a section headed ``section`` with ``text`` as its body (creates the page).
    NEW_SECTION = "new-section"
    #: Append ``text`` to the end of the section headed ``section`` (added anew if gone).
    APPEND_TO_SECTION = "append-to-section"
    #: Add ``text`` as a line at the end of the page (creates the page).
    ADD_LINE = "add-line"
    #: Remove the lines equal to ``text``.
    REMOVE_LINE = "remove-line"
    #: Make ``text`` the whole page (creates the page).
    REPLACE_PAGE = "replace-page"


#: Ops that need a section heading.
SECTION_OPS = frozenset({Op.NEW_SECTION, Op.APPEND_TO_SECTION})
#: Every state of a write: waiting ones first, then the ends.
WRITE_STATES = (
    "queued",
    "running",
    "paused",
    "stopped",
    "failed",
    "done",
    "unchanged",
    "cancelled",
)
#: Outcomes after which later writes of the same purpose go ahead.
SETTLED = ("done", "unchanged", "cancelled")
#: Written to the page, or found already there.
SUCCEEDED = ("done", "unchanged")
#: Waiting for a person: paused (the requester logs in again), stopped (an
#: admin: bot login, internal error), failed (the wiki refused: an admin may retry).
RETRYABLE = ("paused", "stopped", "failed")
#: States from which a write may be given up (no worker holds it).
CANCELLABLE = ("queued", "paused", "stopped", "failed")
#: Shown on the admin page unless asked otherwise: everything not yet settled.
UNSETTLED = ("queued", "running", "paused", "stopped", "failed")


class WikiWrite(Base):
    """One write to one wiki page, and how it went."""

    __tablename__ = "wiki_write"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A name from the ``WIKIS`` setting.
    wiki: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    #: An :class:`Op` value.
    op: Mapped[str] = mapped_column(String(30))
    #: The heading of the section (NEW_SECTION, APPEND_TO_SECTION), else "".
    section: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    #: The edit summary as asked; the desk adds what makes the edit traceable.
    summary: Mapped[str] = mapped_column(String(500), default="")
    requested_by: Mapped[str] = mapped_column(String(255))
    #: The login whose OAuth credentials edit (None for the bot).
    login_session_id: Mapped[str | None] = mapped_column(String(64))
    as_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What the write is for, e.g. "application:12": orders writes and finds them.
    purpose: Mapped[str] = mapped_column(String(200), default="", index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    #: How often a worker took it up.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: How it went, in plain words for people.
    message: Mapped[str] = mapped_column(Text, default="")
    #: The revision the write made (None when it made none).
    revision: Mapped[int | None] = mapped_column(BigInteger)
    lease_until: Mapped[dt.datetime | None]
    #: Which runner holds the lease ("host:pid:random").
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: When it was settled (done, unchanged, cancelled).
    done_at: Mapped[dt.datetime | None]


def request_write(
    session: Session,
    *,
    wiki: str,
    title: str,
    op: Op,
    text: str,
    summary: str,
    requested_by: str,
    login_session_id: str | None,
    as_bot: bool,
    section: str = "",
    purpose: str = "",
) -> WikiWrite:
    """Queue a write; the caller commits, then hands its id to ``enqueue_writes``.

    :raises ValueError: for an unknown op, an empty title, or a section op
        without a heading.
    """
    op = Op(op)
    title = title.strip()
    section = section.strip()
    if not wiki or not title:
        raise ValueError("a write needs a wiki and a page title")
    if op in SECTION_OPS and not section:
        raise ValueError(f"{op} needs the section's heading")
    if not as_bot and not login_session_id:
        raise ValueError("a write as a volunteer needs their login (or as_bot=True)")
    write = WikiWrite(
        wiki=wiki,
        title=title,
        op=op.value,
        section=section if op in SECTION_OPS else "",
        text=text,
        summary=summary[:500],
        requested_by=requested_by,
        login_session_id=None if as_bot else login_session_id,
        as_bot=as_bot,
        purpose=purpose,
        status="queued",
        attempts=0,
        message="",
    )
    session.add(write)
    session.flush()
    return write


def writes_for(session: Session, purpose: str) -> list[WikiWrite]:
    """The writes of ``purpose``, in the order they were requested."""
    return list(
        session.scalars(
            select(WikiWrite).where(WikiWrite.purpose == purpose).order_by(WikiWrite.id)
        )
    )


def listing(
    session: Session,
    statuses: Iterable[str] = UNSETTLED,
    purpose: str | None = None,
    limit: int = 500,
) -> list[WikiWrite]:
    """Writes in ``statuses`` (of ``purpose`` when given), newest first."""
    query = select(WikiWrite).where(WikiWrite.status.in_(list(statuses)))
    if purpose is not None:
        query = query.where(WikiWrite.purpose == purpose)
    return list(session.scalars(query.order_by(WikiWrite.id.desc()).limit(limit)))


def earlier_unsettled(session: Session, write: WikiWrite) -> WikiWrite | None:
    """The first earlier write of ``write``'s purpose that is not settled, if any."""
    if not write.purpose:
        return None
    return session.scalars(
        select(WikiWrite)
        .where(
            WikiWrite.purpose == write.purpose,
            WikiWrite.id < write.id,
            WikiWrite.status.not_in(SETTLED),
        )
        .order_by(WikiWrite.id)
        .limit(1)
    ).first()


def next_in_line(session: Session, write: WikiWrite) -> int | None:
    """The queued write of ``write``'s purpose that may go next, now that ``write`` settled."""
    if not write.purpose:
        return None
    return session.scalars(
        select(WikiWrite.id)
        .where(
            WikiWrite.purpose == write.purpose,
            WikiWrite.id > write.id,
            WikiWrite.status == "queued",
        )
        .order_by(WikiWrite.id)
        .limit(1)
    ).first()


def claim_write(session: Session, write_id: int, lease: dt.timedelta, owner: str) -> bool:
    """Take the write for ``owner`` unless another runner holds a live lease; commits."""
    taken = take(
        session, WikiWrite, write_id, lease, owner, attempts=WikiWrite.attempts + 1, message=""
    )
    session.commit()
    return taken


def renew_write(session: Session, write_id: int, owner: str, lease: dt.timedelta = LEASE) -> bool:
    """Extend ``owner``'s lease on the write; False if another runner has it. Does not commit."""
    return extend(session, WikiWrite, write_id, owner, lease)


def finish_write(
    session: Session,
    write_id: int,
    owner: str,
    status: str,
    message: str,
    revision: int | None = None,
) -> bool:
    """Give the write up in ``status`` if ``owner`` still holds it. Does not commit."""
    values: dict[str, object] = {"status": status, "message": message}
    if revision is not None:
        values["revision"] = revision
    if status in SETTLED:
        values["done_at"] = utcnow()
    return release(session, WikiWrite, write_id, owner, **values)


def stalled_writes(session: Session, lease: dt.timedelta = LEASE) -> list[int]:
    """Writes to hand to a worker: queued with their job lost, or running with their worker dead."""
    return stalled_ids(session, WikiWrite, lease)


def resume_paused_writes(session: Session, username: str, login_session_id: str) -> list[int]:
    """Give a volunteer's paused writes their new login; the ids to enqueue. Does not commit."""
    paused = session.scalars(
        select(WikiWrite)
        .where(
            WikiWrite.status == "paused",
            WikiWrite.requested_by == username,
            WikiWrite.as_bot.is_(False),
        )
        .order_by(WikiWrite.id)
    ).all()
    for write in paused:
        write.login_session_id = login_session_id
        write.status = "queued"
        write.message = f"resumed after {username} logged in again"
    return [w.id for w in paused]


def _move(
    session: Session, write_id: int, sources: Sequence[str], **values: object
) -> WikiWrite | None:
    """Change a write that is in one of ``sources`` (one conditional UPDATE); commits."""
    changed = session.execute(
        update(WikiWrite)
        .where(WikiWrite.id == write_id, WikiWrite.status.in_(list(sources)))
        .values(lease_until=None, lease_owner=None, **values)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        return None
    session.commit()
    write = session.get(WikiWrite, write_id)
    if write is not None:
        session.refresh(write)
    return write


def retry_write(session: Session, write_id: int, username: str) -> WikiWrite | None:
    """Queue a paused, stopped or failed write again; None if it is in another state.

    The write keeps its identity (the volunteer's login or the bot): a write
    whose volunteer is still logged out pauses again.
    """
    return _move(session, write_id, RETRYABLE, status="queued", message=f"retried by {username}")


def cancel_write(session: Session, write_id: int, username: str) -> WikiWrite | None:
    """Give up a write no worker holds; None if it runs or has ended.

    Later writes of its purpose then go ahead without it.
    """
    return _move(
        session,
        write_id,
        CANCELLABLE,
        status="cancelled",
        message=f"cancelled by {username}",
        done_at=utcnow(),
    )
