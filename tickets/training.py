"""Training: practice tickets for new volunteers, feedback on their answers.

Administrators keep sample messages.  When a volunteer is approved, they get
the Training queue and a few practice tickets made from the samples: real
tickets, numbered and stored like any other, but locked to the trainee and
marked as practice.  Nothing in Training is ever mailed: answers there are
stored and shown, never sent (:mod:`wikibridge.mail.outgoing` checks
:func:`is_training` on every path out).

Administrators leave feedback on the trainee's answers.  The queues the
volunteer was approved for can wait ("held") until enough of their training
answers have been reviewed; the feedback that reaches the number opens them.

Nothing is deleted: samples are retired and keep every earlier version,
feedback is corrected by a new row, held grants are released or ended with
who and when.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, exists, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from tickets.access import ALL_RIGHTS, QueueGrant, Right, grant, grants_of
from tickets.models import (
    Article,
    Base,
    History,
    Queue,
    Ticket,
    TicketCounter,
    Volunteer,
    utcnow,
)
from tickets.queues import ensure_queues, queue_by_name
from tickets.recruiting_settings import RecruitingSettings
from tickets.tickets import create_ticket, record

#: The queue practice tickets live in; its subqueues count as Training too.
TRAINING_QUEUE = "Training"
#: Rights a trainee gets on Training: answer and note their practice tickets,
#: own them (state, priority).  Read comes with every grant.
TRAINEE_RIGHTS = frozenset({Right.ANSWER, Right.NOTE, Right.OWN})
#: The send status of an answer in Training: stored and shown, never mailed.
PRACTICE = "practice"
#: The system id used for practice ticket numbers when the caller names none
#: and no ticket was ever numbered (the default of ``SYSTEM_ID``).
DEFAULT_SYSTEM_ID = "10"

TITLE_MAX = 200
NAME_MAX = 255
SUBJECT_MAX = 500
FEEDBACK_MAX = 20_000
BODY_MAX = 100_000

#: Domains reserved for examples and tests (RFC 2606, RFC 6761): mail there
#: reaches nobody, so a sample's sender can never be a real person.
RESERVED_DOMAINS = ("example.org", "example.com", "example.net")
RESERVED_TLDS = ("example", "invalid", "test", "localhost")

_ADDRESS_RE = re.compile(r"^[^@\s<>\"(),;:]+@([a-z0-9-]+(?:\.[a-z0-9-]+)*)$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


class TrainingError(ValueError):
    """A training change that cannot be made; ``code`` names the reason.

    The message is English for logs and the command line; the web layer
    shows a translated text chosen by ``code``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TrainingSample(Base):
    """A sample message administrators keep for practice tickets."""

    __tablename__ = "training_sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What administrators call it in their list (the ticket uses the subject).
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    from_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    #: Always at a reserved domain (:func:`check_address`).
    from_address: Mapped[str] = mapped_column(String(NAME_MAX))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="en")
    #: Retired samples are kept (and their practice tickets too) but not used.
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(255), default="")
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TrainingSampleVersion(Base):
    """A sample as it was saved: one row per create, edit, retire or restore."""

    __tablename__ = "training_sample_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("training_sample.id"), index=True)
    #: ``created``, ``edited``, ``retired`` or ``restored``.
    change: Mapped[str] = mapped_column(String(20))
    document: Mapped[dict[str, Any]] = mapped_column()
    saved_by: Mapped[str] = mapped_column(String(255))
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PracticeTicket(Base):
    """Marks a ticket made for a trainee from a sample (wherever it is moved)."""

    __tablename__ = "practice_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("training_sample.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(255), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    volunteer: Mapped[Volunteer] = relationship()
    sample: Mapped[TrainingSample] = relationship()


class AnswerFeedback(Base):
    """An administrator's feedback on a training answer; a correction is a new row."""

    __tablename__ = "answer_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    #: The volunteer who wrote the answer (from the ticket's history), when known.
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    article: Mapped[Article] = relationship()
    trainee: Mapped[Volunteer | None] = relationship()


class HeldGrant(Base):
    """An approved queue waiting for the volunteer's reviewed training answers.

    Released (granted for real) when the feedback reaches the number, or by
    an administrator by hand; ended if an administrator cancels it.
    """

    __tablename__ = "held_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    #: Comma-separated :class:`~tickets.access.Right` values granted on release.
    rights: Mapped[str] = mapped_column(String(200))
    held_by: Mapped[str] = mapped_column(String(255))
    held_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(255))
    released_at: Mapped[dt.datetime | None] = mapped_column()
    ended_by: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[dt.datetime | None] = mapped_column()

    volunteer: Mapped[Volunteer] = relationship()
    queue: Mapped[Queue] = relationship()

    @property
    def open(self) -> bool:
        """Still waiting: neither released nor ended."""
        return self.released_at is None and self.ended_at is None

    @property
    def right_set(self) -> frozenset[Right]:
        """The rights granted on release."""
        return frozenset(Right(r) for r in self.rights.split(",") if r)


# Samples ------------------------------------------------------------------


def is_reserved_domain(domain: str) -> bool:
    """Whether mail to ``domain`` can reach nobody (example domains, .invalid, .test …)."""
    domain = domain.lower().rstrip(".")
    if any(domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS):
        return True
    return domain.rsplit(".", 1)[-1] in RESERVED_TLDS


def check_address(address: str) -> str:
    """The sample sender's address, lower-cased; it must be at a reserved domain.

    :raises TrainingError: not an address, or one a real person could own.
    """
    address = address.strip().lower()
    found = _ADDRESS_RE.match(address)
    if not found:
        raise TrainingError("address", f"{address!r} is not an email address")
    if not is_reserved_domain(found.group(1)):
        raise TrainingError(
            "domain",
            "a sample's sender must be at a reserved domain (example.org, example.com, "
            f"example.net, .example, .invalid, .test), not {found.group(1)}",
        )
    return address


@dataclass(frozen=True)
class SampleFields:
    """What an administrator types for a sample."""

    title: str
    from_name: str
    from_address: str
    subject: str
    body: str
    language: str = "en"


def _checked(fields: SampleFields) -> SampleFields:
    title = " ".join(fields.title.split())
    subject = " ".join(fields.subject.split())
    name = " ".join(fields.from_name.split())
    body = fields.body.replace("\r\n", "\n").strip("\n")
    language = fields.language.strip().lower() or "en"
    if not title:
        raise TrainingError("title", "give the sample a title")
    if not subject:
        raise TrainingError("subject", "give the sample message a subject")
    if not body.strip():
        raise TrainingError("body", "write the sample message")
    if len(title) > TITLE_MAX or len(subject) > SUBJECT_MAX or len(name) > NAME_MAX:
        raise TrainingError("long", "a field is too long")
    if len(body) > BODY_MAX:
        raise TrainingError("long", "the sample message is too long")
    if not _LANGUAGE_RE.match(language):
        raise TrainingError("language", f"{language!r} is not a language code like en or de")
    return SampleFields(
        title=title,
        from_name=name,
        from_address=check_address(fields.from_address),
        subject=subject,
        body=body,
        language=language,
    )


def _document(sample: TrainingSample) -> dict[str, Any]:
    return {
        "title": sample.title,
        "from_name": sample.from_name,
        "from_address": sample.from_address,
        "subject": sample.subject,
        "body": sample.body,
        "language": sample.language,
        "valid": sample.valid,
    }


def _version(session: Session, sample: TrainingSample, change: str, by: str) -> None:
    session.add(
        TrainingSampleVersion(
            sample_id=sample.id, change=change, document=_document(sample), saved_by=by
        )
    )


def create_sample(session: Session, fields: SampleFields, by: str) -> TrainingSample:
    """Store a new sample message (flushes).

    :raises TrainingError: a field is missing or wrong, or the sender is real.
    """
    good = _checked(fields)
    sample = TrainingSample(
        title=good.title,
        from_name=good.from_name,
        from_address=good.from_address,
        subject=good.subject,
        body=good.body,
        language=good.language,
        created_by=by,
        changed_by=by,
    )
    session.add(sample)
    session.flush()
    _version(session, sample, "created", by)
    session.flush()
    return sample


def edit_sample(
    session: Session, sample: TrainingSample, fields: SampleFields, by: str
) -> list[str]:
    """Change a sample, keeping the earlier text as a version; return what changed."""
    good = _checked(fields)
    wanted = {
        "title": good.title,
        "from_name": good.from_name,
        "from_address": good.from_address,
        "subject": good.subject,
        "body": good.body,
        "language": good.language,
    }
    changed = [k for k, v in wanted.items() if getattr(sample, k) != v]
    if changed:
        for key in changed:
            setattr(sample, key, wanted[key])
        sample.changed_by, sample.changed_at = by, utcnow()
        _version(session, sample, "edited", by)
        session.flush()
    return changed


def set_sample_valid(session: Session, sample: TrainingSample, valid: bool, by: str) -> bool:
    """Retire a sample (no more practice tickets from it) or restore it; return if changed."""
    if sample.valid == valid:
        return False
    sample.valid = valid
    sample.changed_by, sample.changed_at = by, utcnow()
    _version(session, sample, "restored" if valid else "retired", by)
    session.flush()
    return True


def all_samples(session: Session) -> list[TrainingSample]:
    """Every sample, valid ones first, by language and title."""
    return list(
        session.scalars(
            select(TrainingSample).order_by(
                TrainingSample.valid.desc(),
                TrainingSample.language,
                TrainingSample.title,
                TrainingSample.id,
            )
        )
    )


def sample_versions(session: Session, sample: TrainingSample) -> list[TrainingSampleVersion]:
    """The sample's saved versions, oldest first."""
    return list(
        session.scalars(
            select(TrainingSampleVersion)
            .where(TrainingSampleVersion.sample_id == sample.id)
            .order_by(TrainingSampleVersion.id)
        )
    )


# Starting training --------------------------------------------------------


def training_queue(session: Session) -> Queue:
    """The Training queue, created when missing (and made valid if it was not)."""
    queue = queue_by_name(session, TRAINING_QUEUE) or ensure_queues(session, [TRAINING_QUEUE])[-1]
    return queue


def _system_id(session: Session) -> str:
    """The system id of the newest ticket number, else the default.

    An installation numbers every ticket with one system id; the web layer
    passes its setting, this covers callers that have none.
    """
    found = session.scalars(
        select(TicketCounter.system_id).order_by(TicketCounter.day.desc()).limit(1)
    ).first()
    return found or DEFAULT_SYSTEM_ID


def _grant_training(session: Session, volunteer: Volunteer, queue: Queue, by: str) -> None:
    """Give the trainee answer, note and own on Training, never fewer rights than they had."""
    have: set[Right] = set()
    for row in grants_of(session, volunteer):
        if row.queue_id == queue.id:
            have |= row.right_set
    if have >= TRAINEE_RIGHTS:
        return
    grant(session, volunteer, queue, have | TRAINEE_RIGHTS, by)


def _pick_samples(session: Session, volunteer: Volunteer, count: int) -> list[TrainingSample]:
    """``count`` valid samples, in turn: the volunteer's language first, unused ones first."""
    samples = list(
        session.scalars(
            select(TrainingSample).where(TrainingSample.valid).order_by(TrainingSample.id)
        )
    )
    if not samples or count <= 0:
        return []
    used: dict[int, int] = {s.id: 0 for s in samples}
    for sample_id in session.scalars(
        select(PracticeTicket.sample_id).where(PracticeTicket.volunteer_id == volunteer.id)
    ):
        if sample_id in used:
            used[sample_id] += 1
    language = (volunteer.language or "").split("-")[0].lower()
    picked: list[TrainingSample] = []
    for _ in range(count):
        # Round robin: the least used sample next, the volunteer's language
        # winning among equally used ones.
        best = min(
            samples,
            key=lambda s: (used[s.id], bool(language) and s.language != language, s.id),
        )
        used[best.id] += 1
        picked.append(best)
    return picked


def make_practice_ticket(
    session: Session,
    volunteer: Volunteer,
    sample: TrainingSample,
    by: str,
    *,
    queue: Queue | None = None,
    system_id: str | None = None,
) -> Ticket:
    """One practice ticket for ``volunteer`` from ``sample``, locked to them (flushes)."""
    queue = queue or training_queue(session)
    customer = email.utils.formataddr((sample.from_name, sample.from_address))
    ticket = create_ticket(
        session,
        queue=queue,
        title=sample.subject,
        customer=sample.from_address,
        system_id=system_id or _system_id(session),
        actor=by,
    )
    ticket.language = sample.language
    ticket.route_rule = "training"
    # Owned and locked: other trainees in Training read it but do not answer it.
    ticket.owner_id = volunteer.id
    ticket.locked = True
    article = Article(
        ticket=ticket,
        channel="email",
        sender_type="customer",
        from_addr=customer,
        to_addr=queue.email_address,
        subject=sample.subject,
        body=sample.body,
        language=sample.language,
    )
    session.add(article)
    session.add(
        PracticeTicket(
            ticket_id=ticket.id, volunteer_id=volunteer.id, sample_id=sample.id, created_by=by
        )
    )
    session.flush()
    record(
        session,
        ticket,
        "practice",
        by,
        article_id=article.id,
        sample_id=sample.id,
        trainee=volunteer.username,
    )
    record(session, ticket, "locked", by, owner=volunteer.username)
    return ticket


def _hold(
    session: Session, volunteer: Volunteer, queue: Queue, rights: frozenset[Right], by: str
) -> HeldGrant:
    """Hold ``queue`` for the volunteer (the open hold there, if one exists, stands)."""
    for held in held_grants(session, volunteer):
        if held.queue_id == queue.id:
            return held
    held = HeldGrant(
        volunteer_id=volunteer.id,
        queue_id=queue.id,
        rights=",".join(sorted(rights | {Right.READ})),
        held_by=by,
    )
    session.add(held)
    session.flush()
    return held


def start_training(
    session: Session,
    volunteer: Volunteer,
    queues: list[Queue],
    by: str,
    settings: RecruitingSettings,
    *,
    system_id: str | None = None,
) -> list[Ticket]:
    """Start a newly approved volunteer's training; return their new practice tickets.

    Grants the Training queue (answer, note, own), makes
    ``settings.practice_tickets`` practice tickets from the valid samples
    (none when there are no samples), then grants each approved queue at once
    if the volunteer already has ``settings.training_reviews_required``
    reviewed training answers, else holds it until they have.  ``system_id``
    numbers the tickets (the ``SYSTEM_ID`` setting; by default the newest
    ticket's).  Flushes, does not commit.
    """
    queue = training_queue(session)
    _grant_training(session, volunteer, queue, by)
    made = [
        make_practice_ticket(session, volunteer, sample, by, queue=queue, system_id=system_id)
        for sample in _pick_samples(session, volunteer, settings.practice_tickets)
    ]
    ready = reviewed_answers(session, volunteer) >= settings.training_reviews_required
    for approved in queues:
        if approved.id == queue.id:
            continue
        if ready:
            grant(session, volunteer, approved, ALL_RIGHTS, by)
        else:
            _hold(session, volunteer, approved, ALL_RIGHTS, by)
    session.flush()
    return made


# What counts as Training -------------------------------------------------


def _in_training_queue(queue: Queue) -> bool:
    return queue.name == TRAINING_QUEUE or queue.name.startswith(TRAINING_QUEUE + "::")


def is_practice_ticket(session: Session, ticket: Ticket) -> bool:
    """Whether the ticket was made for a trainee from a sample."""
    return bool(session.scalar(select(exists().where(PracticeTicket.ticket_id == ticket.id))))


def is_training(session: Session, ticket: Ticket) -> bool:
    """Whether ``ticket`` is in Training (or a subqueue), or is a practice ticket anywhere.

    Nothing on such a ticket is ever mailed.
    """
    queue = ticket.queue or session.get(Queue, ticket.queue_id)
    if queue is not None and _in_training_queue(queue):
        return True
    return is_practice_ticket(session, ticket)


def practice_of(session: Session, ticket: Ticket) -> PracticeTicket | None:
    """The practice-ticket mark of ``ticket``, if it is one."""
    return session.scalars(
        select(PracticeTicket).where(PracticeTicket.ticket_id == ticket.id)
    ).one_or_none()


def _training_ticket_clause() -> Any:
    """SQL: the ticket (joined with its queue) is a training ticket."""
    return or_(
        Queue.name == TRAINING_QUEUE,
        Queue.name.like(TRAINING_QUEUE + "::%"),
        Ticket.id.in_(select(PracticeTicket.ticket_id)),
    )


def is_answer(article: Article) -> bool:
    """An answer: a mail a volunteer wrote to the customer."""
    return article.sender_type == "agent" and article.channel == "email"


# Feedback -----------------------------------------------------------------


def answer_author(session: Session, article: Article) -> str | None:
    """The user name of the volunteer who wrote the answer (from the ticket's history)."""
    rows = session.scalars(
        select(History)
        .where(History.ticket_id == article.ticket_id, History.kind == "answer")
        .order_by(History.id)
    )
    for row in rows:
        if (row.detail or {}).get("article_id") == article.id:
            return row.actor
    return None


def reviewed_answers(session: Session, volunteer: Volunteer) -> int:
    """How many of the volunteer's training answers have at least one feedback."""
    return len(
        set(
            session.scalars(
                select(AnswerFeedback.article_id).where(AnswerFeedback.trainee_id == volunteer.id)
            )
        )
    )


def held_grants(session: Session, volunteer: Volunteer) -> list[HeldGrant]:
    """The volunteer's queues still waiting for reviewed training answers."""
    return list(
        session.scalars(
            select(HeldGrant)
            .where(
                HeldGrant.volunteer_id == volunteer.id,
                HeldGrant.released_at.is_(None),
                HeldGrant.ended_at.is_(None),
            )
            .order_by(HeldGrant.id)
        )
    )


def release_held(session: Session, held: HeldGrant, by: str) -> QueueGrant:
    """Grant a held queue for real and record who released it.

    :raises TrainingError: it was released or ended already.
    """
    if not held.open:
        raise TrainingError("closed", "this held queue was released or ended already")
    row = grant(session, held.volunteer, held.queue, held.right_set, by)
    held.released_at, held.released_by = utcnow(), by
    session.flush()
    return row


def end_held(session: Session, held: HeldGrant, by: str) -> None:
    """Cancel a held queue: it will not open (the row is kept, with who and when).

    :raises TrainingError: it was released or ended already.
    """
    if not held.open:
        raise TrainingError("closed", "this held queue was released or ended already")
    held.ended_at, held.ended_by = utcnow(), by
    session.flush()


def release_if_ready(
    session: Session, volunteer: Volunteer, by: str, settings: RecruitingSettings
) -> list[HeldGrant]:
    """Release the volunteer's held queues once enough answers are reviewed; return them."""
    held = held_grants(session, volunteer)
    if not held or reviewed_answers(session, volunteer) < settings.training_reviews_required:
        return []
    for row in held:
        release_held(session, row, by)
    return held


def leave_feedback(
    session: Session,
    article: Article,
    author: str,
    text: str,
    settings: RecruitingSettings,
) -> AnswerFeedback:
    """Store an administrator's feedback on a training answer (flushes).

    When the trainee's reviewed answers reach
    ``settings.training_reviews_required``, their held queues open, released
    by ``author``.

    :raises TrainingError: the article is no answer, or not in Training, or
        the text is empty or too long.
    """
    text = text.replace("\r\n", "\n").strip()
    if not is_answer(article):
        raise TrainingError("not-answer", "feedback goes on answers only")
    ticket = article.ticket
    if not is_training(session, ticket):
        raise TrainingError("not-training", "feedback goes on answers in Training only")
    if not text:
        raise TrainingError("empty", "write the feedback first")
    if len(text) > FEEDBACK_MAX:
        raise TrainingError("long", "the feedback is too long")
    username = answer_author(session, article)
    trainee = (
        session.scalars(select(Volunteer).where(Volunteer.username == username)).one_or_none()
        if username
        else None
    )
    row = AnswerFeedback(
        article_id=article.id,
        ticket_id=ticket.id,
        trainee_id=trainee.id if trainee else None,
        author=author,
        text=text,
    )
    session.add(row)
    session.flush()
    record(session, ticket, "feedback", author, article_id=article.id, feedback_id=row.id)
    if trainee is not None:
        release_if_ready(session, trainee, author, settings)
    return row


def feedback_for(session: Session, ticket: Ticket) -> dict[int, list[AnswerFeedback]]:
    """The feedback on the ticket's answers, by article id, oldest first."""
    found: dict[int, list[AnswerFeedback]] = {}
    for row in session.scalars(
        select(AnswerFeedback)
        .where(AnswerFeedback.ticket_id == ticket.id)
        .order_by(AnswerFeedback.id)
    ):
        found.setdefault(row.article_id, []).append(row)
    return found


def answers_awaiting_feedback(session: Session) -> list[Article]:
    """Answers in training tickets with no feedback yet, oldest first."""
    return list(
        session.scalars(
            select(Article)
            .join(Ticket, Article.ticket_id == Ticket.id)
            .join(Queue, Ticket.queue_id == Queue.id)
            .where(
                Article.sender_type == "agent",
                Article.channel == "email",
                _training_ticket_clause(),
                ~exists().where(AnswerFeedback.article_id == Article.id),
            )
            .order_by(Article.created_at, Article.id)
        )
    )


@dataclass(frozen=True)
class Trainee:
    """A volunteer in training, as the administrators' page lists them."""

    volunteer: Volunteer
    practice_tickets: int
    reviewed: int
    held: list[HeldGrant]


def trainees(session: Session) -> list[Trainee]:
    """Volunteers with practice tickets or held queues, by user name."""
    ids = set(session.scalars(select(PracticeTicket.volunteer_id)))
    ids |= set(
        session.scalars(
            select(HeldGrant.volunteer_id).where(
                HeldGrant.released_at.is_(None), HeldGrant.ended_at.is_(None)
            )
        )
    )
    if not ids:
        return []
    people = session.scalars(
        select(Volunteer).where(Volunteer.id.in_(ids)).order_by(Volunteer.username)
    )
    result = []
    for volunteer in people:
        count = len(
            list(
                session.scalars(
                    select(PracticeTicket.id).where(PracticeTicket.volunteer_id == volunteer.id)
                )
            )
        )
        result.append(
            Trainee(
                volunteer=volunteer,
                practice_tickets=count,
                reviewed=reviewed_answers(session, volunteer),
                held=held_grants(session, volunteer),
            )
        )
    return result
