"""Applications to join the team, the administrators' notes and votes on them.

An application moves ``submitted`` (or ``awaiting confirmation`` when it
rests on a position someone must confirm) to ``approved``, ``declined`` or
``withdrawn``.  Every step adds an :class:`ApplicationEvent`; a changed vote
keeps the old one (marked superseded).  Nothing is deleted.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, case, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tickets.models import Base, Volunteer, utcnow


class Status(enum.StrEnum):
    """Where an application stands."""

    SUBMITTED = "submitted"
    #: Rests on a position (chapter, committee, staff) not confirmed yet.
    AWAITING_CONFIRMATION = "awaiting confirmation"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        """Still waiting for a decision."""
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.AWAITING_CONFIRMATION})


class Level(enum.StrEnum):
    """How well an applicant knows a language."""

    NATIVE = "native"
    FLUENT = "fluent"
    GOOD = "good"
    BASIC = "basic"


class VoteValue(enum.StrEnum):
    """An administrator's view of an application."""

    SUPPORT = "support"
    OPPOSE = "oppose"
    NEUTRAL = "neutral"


class ApplicationError(Exception):
    """A step the application does not allow; ``code`` names which, for the wording."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


#: Limits of what the form may send.
MOTIVATION_MAX = 5000
LINKS_MAX = 20
LINK_MAX = 500
POSITION_MAX = 500
REASON_MAX = 2000
NOTE_MAX = 5000
LANGUAGES_MAX = 12


class Application(Base):
    """One person's application to join the team."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=Status.SUBMITTED.value, index=True)
    #: ``[{"code": "de", "level": "native"}, ...]``
    languages: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: Queue names wanted, from the settings' list of wanted help.
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    motivation: Mapped[str] = mapped_column(Text, default="")
    #: Addresses of the applicant's wiki work.
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The terms accepted, exactly as shown.
    terms_version: Mapped[str] = mapped_column(String(40), default="")
    terms_text: Mapped[str] = mapped_column(Text, default="")
    #: A position that gives access (chapter, committee, staff), and who can confirm it.
    position: Mapped[str] = mapped_column(Text, default="")
    position_confirmer: Mapped[str] = mapped_column(String(500), default="")
    position_confirmed_by: Mapped[str | None] = mapped_column(String(255))
    position_confirmed_at: Mapped[dt.datetime | None] = mapped_column()
    #: The eligibility facts when it was sent (tickets.eligibility).
    eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The recruiting settings version in force then (None: the defaults).
    settings_version_id: Mapped[int | None] = mapped_column(ForeignKey("recruiting_settings.id"))
    #: The applicant's language, for the texts posted on the wiki.
    language: Mapped[str] = mapped_column(String(16), default="en")
    #: The section on the applications page on Meta.
    meta_section: Mapped[str] = mapped_column(String(255), default="")
    #: The queues the administrator approved: some or all of ``queues`` (empty unless approved).
    approved_queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    volunteer: Mapped[Volunteer] = relationship()

    @property
    def state(self) -> Status:
        """The status as its type."""
        return Status(self.status)


class ApplicationEvent(Base):
    """A step in an application's history."""

    __tablename__ = "application_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    #: The status it moved to, or ``position confirmed``.
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplicationNote(Base):
    """The administrators' discussion of an application (never shown to the applicant)."""

    __tablename__ = "application_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplicationVote(Base):
    """An administrator's vote; a new vote supersedes their previous one."""

    __tablename__ = "application_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    voter: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column()


POSITION_CONFIRMED = "position confirmed"


@dataclass(frozen=True)
class ApplicationForm:
    """What the applicant sent, checked by :func:`submit`."""

    languages: list[dict[str, str]]
    queues: list[str]
    motivation: str
    links: list[str]
    terms_version: str
    terms_text: str
    position: str = ""
    position_confirmer: str = ""


def section_title(username: str, day: dt.date) -> str:
    """The Meta section of an application: ``User:NAME (2026-12-03)``."""
    return f"User:{username} ({day.isoformat()})"


def _event(
    session: Session, application: Application, kind: str, actor: str, **detail: Any
) -> None:
    session.add(
        ApplicationEvent(application_id=application.id, kind=kind, actor=actor, detail=detail)
    )


def open_application(session: Session, volunteer_id: int) -> Application | None:
    """The volunteer's application still waiting for a decision, if any."""
    return session.scalars(
        select(Application).where(
            Application.volunteer_id == volunteer_id,
            Application.status.in_([s.value for s in OPEN_STATUSES]),
        )
    ).first()


def latest_application(session: Session, volunteer_id: int) -> Application | None:
    """The volunteer's newest application, whatever its status."""
    return session.scalars(
        select(Application)
        .where(Application.volunteer_id == volunteer_id)
        .order_by(Application.id.desc())
        .limit(1)
    ).first()


def _check_form(form: ApplicationForm, offered: Sequence[str]) -> None:
    if not form.languages:
        raise ApplicationError("no_language", "Name at least one language.")
    if len(form.languages) > LANGUAGES_MAX:
        raise ApplicationError("too_many_languages", "Too many languages.")
    levels = {level.value for level in Level}
    for entry in form.languages:
        if not entry.get("code") or entry.get("level") not in levels:
            raise ApplicationError("bad_language", "Give each language a level.")
    if not form.queues:
        raise ApplicationError("no_queue", "Choose at least one queue.")
    strange = [q for q in form.queues if q not in offered]
    if strange:
        raise ApplicationError("queue_not_offered", f"Not on offer: {', '.join(strange)}.")
    if not form.motivation.strip():
        raise ApplicationError("no_motivation", "Say why you want to help.")
    if len(form.motivation) > MOTIVATION_MAX:
        raise ApplicationError("motivation_too_long", "The motivation is too long.")
    if len(form.links) > LINKS_MAX or any(len(link) > LINK_MAX for link in form.links):
        raise ApplicationError("links_too_long", "Too many or too long links.")
    if len(form.position) > POSITION_MAX or len(form.position_confirmer) > POSITION_MAX:
        raise ApplicationError("position_too_long", "The position is too long.")
    if form.position.strip() and not form.position_confirmer.strip():
        raise ApplicationError("no_confirmer", "Say who can confirm the position.")
    if not form.terms_version:
        raise ApplicationError("terms_not_accepted", "Accept the terms.")


def submit(
    session: Session,
    volunteer: Volunteer,
    form: ApplicationForm,
    *,
    offered: Sequence[str],
    facts: dict[str, Any],
    settings_version_id: int | None = None,
    language: str = "en",
    now: dt.datetime | None = None,
) -> Application:
    """Store a new application of ``volunteer`` (flushes, does not commit).

    :param offered: the queues where help is wanted; others are refused.
    :param facts: the eligibility facts, kept as they were.
    :raises ApplicationError: ``already_open`` when one is waiting already,
        or a code naming the field that is wrong.
    """
    if open_application(session, volunteer.id) is not None:
        raise ApplicationError(
            "already_open", "You have an application waiting for a decision already."
        )
    _check_form(form, offered)
    now = now or utcnow()
    position = form.position.strip()
    application = Application(
        username=volunteer.username,
        volunteer_id=volunteer.id,
        status=(Status.AWAITING_CONFIRMATION if position else Status.SUBMITTED).value,
        languages=list(form.languages),
        queues=list(dict.fromkeys(form.queues)),
        motivation=form.motivation.strip(),
        links=[link.strip() for link in form.links if link.strip()],
        terms_version=form.terms_version,
        terms_text=form.terms_text,
        position=position,
        position_confirmer=form.position_confirmer.strip() if position else "",
        eligibility=facts,
        settings_version_id=settings_version_id,
        language=language or "en",
        meta_section=section_title(volunteer.username, now.date()),
        created_at=now,
    )
    session.add(application)
    session.flush()
    _event(session, application, application.status, volunteer.username)
    session.flush()
    return application


def _require_open(application: Application) -> None:
    if not application.state.is_open:
        raise ApplicationError(
            "not_open", f"The application is {application.status}, no longer open."
        )


def withdraw(session: Session, application: Application, by: str) -> Application:
    """The applicant takes back an open application.

    :raises ApplicationError: ``not_yours`` or ``not_open``.
    """
    if by != application.username:
        raise ApplicationError("not_yours", "Only the applicant withdraws an application.")
    _require_open(application)
    application.status = Status.WITHDRAWN.value
    application.withdrawn_at = utcnow()
    _event(session, application, Status.WITHDRAWN.value, by)
    session.flush()
    return application


def add_note(session: Session, application: Application, author: str, text: str) -> ApplicationNote:
    """An administrator's note on the application.

    :raises ApplicationError: ``empty_note`` or ``note_too_long``.
    """
    text = text.strip()
    if not text:
        raise ApplicationError("empty_note", "Write something in the note.")
    if len(text) > NOTE_MAX:
        raise ApplicationError("note_too_long", "The note is too long.")
    note = ApplicationNote(application_id=application.id, author=author, text=text)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, application: Application) -> Sequence[ApplicationNote]:
    """The notes, oldest first."""
    return session.scalars(
        select(ApplicationNote)
        .where(ApplicationNote.application_id == application.id)
        .order_by(ApplicationNote.id)
    ).all()


def vote(
    session: Session, application: Application, voter: str, value: str, comment: str = ""
) -> ApplicationVote:
    """Record ``voter``'s vote; their earlier vote stays, marked superseded.

    :raises ApplicationError: ``bad_vote`` or ``not_open``.
    """
    if value not in {v.value for v in VoteValue}:
        raise ApplicationError("bad_vote", "Vote support, oppose or neutral.")
    _require_open(application)
    if len(comment) > NOTE_MAX:
        raise ApplicationError("note_too_long", "The comment is too long.")
    now = utcnow()
    for old in current_votes(session, application):
        if old.voter == voter:
            old.superseded_at = now
    row = ApplicationVote(
        application_id=application.id, voter=voter, value=value, comment=comment.strip()
    )
    session.add(row)
    session.flush()
    return row


def current_votes(session: Session, application: Application) -> Sequence[ApplicationVote]:
    """Each administrator's vote in force, oldest first."""
    return session.scalars(
        select(ApplicationVote)
        .where(
            ApplicationVote.application_id == application.id,
            ApplicationVote.superseded_at.is_(None),
        )
        .order_by(ApplicationVote.id)
    ).all()


def all_votes(session: Session, application: Application) -> Sequence[ApplicationVote]:
    """Every vote ever cast, superseded ones included, oldest first."""
    return session.scalars(
        select(ApplicationVote)
        .where(ApplicationVote.application_id == application.id)
        .order_by(ApplicationVote.id)
    ).all()


def tally(votes: Sequence[ApplicationVote]) -> dict[str, int]:
    """How many of each vote: ``{"support": 2, "oppose": 0, "neutral": 1}``."""
    counts = Counter(v.value for v in votes)
    return {value.value: counts.get(value.value, 0) for value in VoteValue}


def confirm_position(session: Session, application: Application, by: str) -> Application:
    """An administrator confirms the position the application rests on.

    :raises ApplicationError: ``no_position`` or ``not_open``.
    """
    _require_open(application)
    if not application.position:
        raise ApplicationError("no_position", "The application names no position.")
    if application.position_confirmed_at is not None:
        raise ApplicationError("already_confirmed", "The position is confirmed already.")
    application.position_confirmed_by = by
    application.position_confirmed_at = utcnow()
    application.status = Status.SUBMITTED.value
    _event(session, application, POSITION_CONFIRMED, by)
    session.flush()
    return application


def _approvable(
    application: Application, queues: Sequence[str] | None, blocked: bool | None
) -> list[str]:
    """The queues to approve, once the application may be approved at all."""
    if application.state is Status.AWAITING_CONFIRMATION:
        raise ApplicationError(
            "needs_confirmation", "Confirm the position before approving the application."
        )
    if blocked:
        raise ApplicationError("blocked", "A blocked account cannot be approved.")
    chosen = list(dict.fromkeys(application.queues if queues is None else queues))
    if not chosen:
        raise ApplicationError("no_queue_approved", "Approve at least one queue.")
    strange = [q for q in chosen if q not in application.queues]
    if strange:
        raise ApplicationError("queue_not_applied", f"Not applied for: {', '.join(strange)}.")
    return chosen


def decide(
    session: Session,
    application: Application,
    *,
    approve: bool,
    reason: str,
    by: str,
    queues: Sequence[str] | None = None,
    blocked: bool | None = None,
) -> Application:
    """Approve or decline an open application, with a reason.

    :param queues: on approval, the queues approved: some or all of those
        applied for (None: all of them).
    :param blocked: on approval, whether the wiki says the account is blocked
        now (None: the wiki did not answer; the approval goes ahead and the
        history says the block was not checked).
    :raises ApplicationError: ``no_reason``, ``reason_too_long``, ``not_open``,
        ``needs_confirmation`` when approving before the position it rests on
        is confirmed, ``blocked``, ``no_queue_approved`` or ``queue_not_applied``.
    """
    reason = reason.strip()
    if not reason:
        raise ApplicationError("no_reason", "Give a reason for the decision.")
    if len(reason) > REASON_MAX:
        raise ApplicationError("reason_too_long", "The reason is too long.")
    _require_open(application)
    detail: dict[str, Any] = {"reason": reason}
    if approve:
        application.approved_queues = _approvable(application, queues, blocked)
        detail["queues"] = list(application.approved_queues)
        detail["block_check"] = "unknown" if blocked is None else "clear"
    application.status = (Status.APPROVED if approve else Status.DECLINED).value
    application.decided_by = by
    application.decided_at = utcnow()
    application.decision_reason = reason
    _event(session, application, application.status, by, **detail)
    session.flush()
    return application


def history(session: Session, application: Application) -> Sequence[ApplicationEvent]:
    """The application's steps, oldest first."""
    return session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.id)
    ).all()


def list_applications(session: Session, status: str = "") -> Sequence[Application]:
    """Applications, open ones first, newest first within each; or of one status."""
    query = select(Application)
    if status:
        query = query.where(Application.status == status)
    is_open = case((Application.status.in_([s.value for s in OPEN_STATUSES]), 0), else_=1)
    return session.scalars(query.order_by(is_open, Application.id.desc())).all()
