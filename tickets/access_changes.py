"""The access audit: every change of who may use the desk, with who made it.

Grants, revocations, role changes, decisions on applications and ended
memberships each add one row; rows are never changed or removed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tickets.access import QueueGrant, Right, Role, grant
from tickets.models import Base, Queue, Volunteer, utcnow


class AccessChangeKind(enum.StrEnum):
    """What changed."""

    GRANT = "grant"
    REVOKE = "revoke"
    ROLE = "role"
    APPROVE = "approve"
    DECLINE = "decline"
    CONFIRM_POSITION = "confirm_position"
    END_MEMBERSHIP = "end_membership"


class AccessChange(Base):
    """One change of a volunteer's access."""

    __tablename__ = "access_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who made the change (a wiki user name, or ``system``).
    actor: Mapped[str] = mapped_column(String(255))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    #: Whose access changed, by name (kept as it was then).
    username: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    volunteer: Mapped[Volunteer | None] = relationship()


def record_change(
    session: Session,
    *,
    actor: str,
    volunteer: Volunteer | None,
    kind: AccessChangeKind,
    username: str = "",
    **detail: Any,
) -> AccessChange:
    """Add an audit row (flushes, does not commit)."""
    row = AccessChange(
        actor=actor,
        volunteer=volunteer,
        username=username or (volunteer.username if volunteer else ""),
        kind=kind.value,
        detail=detail,
    )
    session.add(row)
    session.flush()
    return row


def recent_changes(
    session: Session, *, username: str = "", limit: int = 200
) -> Sequence[AccessChange]:
    """The newest changes first, all or of one user."""
    query = select(AccessChange).order_by(AccessChange.id.desc()).limit(limit)
    if username:
        query = query.where(AccessChange.username == username)
    return session.scalars(query).all()


def grant_recorded(
    session: Session, volunteer: Volunteer, queue: Queue, rights: Iterable[Right], by: str
) -> QueueGrant:
    """Grant ``rights`` on ``queue`` and log it; an applicant given a queue joins the team.

    The one way the web pages and the command line grant access, so both
    leave the same audit rows (flushes, does not commit).
    """
    wanted = set(rights)
    row = grant(session, volunteer, queue, wanted, by)
    record_change(
        session,
        actor=by,
        volunteer=volunteer,
        kind=AccessChangeKind.GRANT,
        queue=queue.name,
        rights=sorted(wanted | {Right.READ}),
    )
    if volunteer.role == Role.APPLICANT.value:
        # Access to a queue is membership of the team.
        volunteer.role = Role.VOLUNTEER.value
        record_change(
            session,
            actor=by,
            volunteer=volunteer,
            kind=AccessChangeKind.ROLE,
            old=Role.APPLICANT.value,
            new=Role.VOLUNTEER.value,
        )
    return row
