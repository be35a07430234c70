"""Who may do what: roles, and per-queue rights granted to volunteers.

Volunteers (agents) get rights per queue; a grant on a queue covers its
subqueues (``Permissions`` covers ``Permissions::de``), as the teams are
organised.  Volunteer administrators and the head have every right on every
queue, and administer the desk.  Grants are never deleted: a revoked grant
keeps who revoked it and when.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tickets.models import Base, Queue, Volunteer, utcnow


class Role(enum.StrEnum):
    """A volunteer's role on the desk."""

    #: Logged in with a wiki account but not (yet) on the team: may apply,
    #: never sees a queue, a ticket or the search.
    APPLICANT = "applicant"
    VOLUNTEER = "volunteer"
    ADMIN = "admin"
    HEAD = "head"


class Right(enum.StrEnum):
    """What a grant on a queue allows."""

    READ = "read"  # see the queue and its tickets
    NOTE = "note"  # add internal notes and phone-call records
    ANSWER = "answer"  # write to the customer
    MOVE_INTO = "move_into"  # move tickets into this queue
    OWN = "own"  # lock, take, and change state or priority


ALL_RIGHTS = frozenset(Right)


class QueueGrant(Base):
    """Rights of one volunteer on one queue (and its subqueues)."""

    __tablename__ = "queue_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    #: Comma-separated :class:`Right` values.
    rights: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    queue: Mapped[Queue] = relationship()
    volunteer: Mapped[Volunteer] = relationship()

    @property
    def right_set(self) -> frozenset[Right]:
        """The rights as a set."""
        return frozenset(Right(r) for r in self.rights.split(",") if r)


def is_admin(volunteer: Volunteer) -> bool:
    """Administrators and the head run the desk and see every queue."""
    return volunteer.role in (Role.ADMIN.value, Role.HEAD.value)


def _covers(granted: Queue, queue: Queue) -> bool:
    return queue.name == granted.name or queue.name.startswith(granted.name + "::")


def rights_by_queue(session: Session, volunteer: Volunteer) -> dict[int, frozenset[Right]]:
    """Every queue the volunteer has any right on, with those rights."""
    queues = list(session.scalars(select(Queue).where(Queue.valid)))
    if is_admin(volunteer):
        return {q.id: ALL_RIGHTS for q in queues}
    grants = list(
        session.scalars(
            select(QueueGrant).where(
                QueueGrant.volunteer_id == volunteer.id, QueueGrant.revoked_at.is_(None)
            )
        )
    )
    result: dict[int, frozenset[Right]] = {}
    for queue in queues:
        rights: set[Right] = set()
        for grant in grants:
            if _covers(grant.queue, queue):
                rights |= grant.right_set
        if rights:
            # Every right on a queue implies seeing it.
            result[queue.id] = frozenset(rights | {Right.READ})
    return result


def can(session: Session, volunteer: Volunteer, queue: Queue, right: Right) -> bool:
    """Whether ``volunteer`` has ``right`` on ``queue``."""
    return right in rights_by_queue(session, volunteer).get(queue.id, frozenset())


def grant(
    session: Session,
    volunteer: Volunteer,
    queue: Queue,
    rights: Iterable[Right],
    by: str,
) -> QueueGrant:
    """Give ``volunteer`` ``rights`` on ``queue``, replacing their current grant there."""
    revoke(session, volunteer, queue, by)
    row = QueueGrant(
        volunteer=volunteer,
        queue=queue,
        rights=",".join(sorted(set(rights) | {Right.READ})),
        granted_by=by,
    )
    session.add(row)
    session.flush()
    return row


def revoke(session: Session, volunteer: Volunteer, queue: Queue, by: str) -> int:
    """End ``volunteer``'s grants on ``queue``; return how many ended."""
    rows = list(
        session.scalars(
            select(QueueGrant).where(
                QueueGrant.volunteer_id == volunteer.id,
                QueueGrant.queue_id == queue.id,
                QueueGrant.revoked_at.is_(None),
            )
        )
    )
    for row in rows:
        row.revoked_at = utcnow()
        row.revoked_by = by
    return len(rows)


def volunteer_named(session: Session, username: str) -> Volunteer:
    """The volunteer with this wiki user name, created (with no rights) if new."""
    found = session.scalars(select(Volunteer).where(Volunteer.username == username)).one_or_none()
    if found is None:
        found = Volunteer(username=username)
        session.add(found)
        session.flush()
    return found


def grants_of(session: Session, volunteer: Volunteer) -> list[QueueGrant]:
    """The volunteer's grants in force."""
    return list(
        session.scalars(
            select(QueueGrant)
            .where(QueueGrant.volunteer_id == volunteer.id, QueueGrant.revoked_at.is_(None))
            .order_by(QueueGrant.id)
        )
    )


def parse_rights(text: str) -> frozenset[Right]:
    """Rights from ``read,answer`` or ``all``.

    :raises ValueError: naming an unknown right.
    """
    if text.strip() == "all":
        return ALL_RIGHTS
    try:
        return frozenset(Right(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as exc:
        known = ", ".join(r.value for r in Right)
        raise ValueError(f"unknown right in {text!r}; known: {known}, or all") from exc
