"""Volunteers who have not been seen for a while, to keep the team list true.

"Seen" is the later of two dates: the last login to the desk
(``Volunteer.last_login_at``) and the last change they made to a ticket (the
newest ``History`` row with them as ``actor``: answers, notes, moves, state
changes all leave one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.access import Role, grants_of
from tickets.models import History, Volunteer


@dataclass(frozen=True)
class Inactive:
    """A volunteer not seen since ``last_seen`` (None: never)."""

    volunteer: Volunteer
    last_login: dt.datetime | None
    last_action: dt.datetime | None
    queues: list[str]

    @property
    def last_seen(self) -> dt.datetime | None:
        """The later of the last login and the last ticket action."""
        seen = [_aware(d) for d in (self.last_login, self.last_action) if d is not None]
        return max(seen) if seen else None


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; every stored one is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def inactive_volunteers(session: Session, days: int, now: dt.datetime) -> list[Inactive]:
    """Team members (not applicants) not seen for ``days`` days, longest unseen first."""
    since = now - dt.timedelta(days=days)
    last_actions: dict[str, dt.datetime] = {
        actor: when
        for actor, when in session.execute(
            select(History.actor, func.max(History.created_at)).group_by(History.actor)
        )
    }
    found = []
    for volunteer in session.scalars(
        select(Volunteer).where(Volunteer.role != Role.APPLICANT.value).order_by(Volunteer.username)
    ):
        entry = Inactive(
            volunteer=volunteer,
            last_login=volunteer.last_login_at,
            last_action=last_actions.get(volunteer.username),
            queues=[g.queue.name for g in grants_of(session, volunteer)],
        )
        if entry.last_seen is None or entry.last_seen < since:
            found.append(entry)
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda e: e.last_seen or oldest)
