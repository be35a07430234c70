"""Server-side login sessions: the cookie holds only an opaque id.

Wiki access tokens live here, sealed with the token key; the database keeps
only a hash of the cookie's value, so a copy of the database opens no session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.models import Base, utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(Base):
    """One browser's login, from the OAuth handshake until logout or expiry."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    username: Mapped[str] = mapped_column(String(255), default="")
    oauth_version: Mapped[str] = mapped_column(String(4), default="1")
    handshake: Mapped[bytes | None] = mapped_column(LargeBinary)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    #: When the volunteer's wiki block is next checked (None: a while after login).
    block_check_due: Mapped[dt.datetime | None] = mapped_column()
    #: Why the desk ended the login, for the login page ("blocked:<wiki>"); None: logout.
    ended_because: Mapped[str | None] = mapped_column(String(255))
    #: What the wiki's identify statement said of the user at login (edit
    #: count, registration, groups, confirmed e-mail), for the eligibility check.
    identity_facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def start(db: Session, lifetime: dt.timedelta) -> tuple[str, LoginSession]:
    """Open a session; return the cookie value and its row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(id=_hash(token), expires_at=utcnow() + lifetime)
    db.add(row)
    return token, row


def find(db: Session, token: str | None) -> LoginSession | None:
    """The live session for a cookie value, or ``None`` if ended or expired."""
    if not token:
        return None
    row = db.get(LoginSession, _hash(token))
    if row is None or row.ended_at is not None:
        return None
    expires = row.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive datetimes
        expires = expires.replace(tzinfo=dt.UTC)
    if expires <= utcnow():
        return None
    return row


def row_id(token: str) -> str:
    """The database id of the session behind a cookie value."""
    return _hash(token)


def end(row: LoginSession, because: str | None = None) -> None:
    """End a session and forget its wiki credentials.

    :param because: why the desk ended it (e.g. ``blocked:meta``), for the
        login page to tell the volunteer; None for a logout.
    """
    row.ended_at = utcnow()
    row.credentials = None
    row.handshake = None
    row.ended_because = because


def ended_because(db: Session, token: str | None) -> tuple[str, str] | None:
    """Why the desk ended the session behind a cookie value: (reason, username), or None."""
    if not token:
        return None
    row = db.get(LoginSession, _hash(token))
    if row is None or row.ended_at is None or not row.ended_because:
        return None
    return row.ended_because, row.username


def end_all_for(db: Session, volunteer_id: int) -> None:
    """End every open session of a volunteer at once (access revoked)."""
    db.execute(
        update(LoginSession)
        .where(LoginSession.volunteer_id == volunteer_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), credentials=None, handshake=None)
    )


def live_for(db: Session, volunteer_id: int) -> list[LoginSession]:
    """A volunteer's sessions that have not ended."""
    return list(
        db.scalars(
            select(LoginSession).where(
                LoginSession.volunteer_id == volunteer_id, LoginSession.ended_at.is_(None)
            )
        )
    )
