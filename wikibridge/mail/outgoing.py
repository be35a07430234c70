"""Answers by mail: build the message, store it, and send it over SMTP exactly once.

The order matters.  The answer is stored with the message as built
(``send_status = pending``) and committed before anything is sent, so a
crash can lose no answer; a job then sends it.  The job claims the row
(``pending`` → ``sending``) in its own transaction before talking to the
server, so two workers, or a job and the sweep, never send it twice.  A
failed attempt puts it back to ``pending`` with the error shown on the
ticket, and the job retries later; after ``SMTP_MAX_ATTEMPTS`` it is
``failed`` until a volunteer presses "Send again".

Nothing on a training ticket (:func:`tickets.training.is_training`) is ever
mailed: an answer there is stored as ``practice`` and never queued, and
every path that sends (the job, the sweep, "Send again") refuses an answer
whose ticket is in Training, also a real ticket moved there after answering.

Flask-free: the functions take a session factory and the settings, like
:mod:`wikibridge.mail.store`.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import logging
import smtplib
import ssl
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from tickets.answers import last_customer_article, sender_address
from tickets.intake import begin_write, raw_bytes
from tickets.models import Article, RawMessage, Ticket, utcnow
from tickets.tickets import record
from tickets.training import PRACTICE, is_training

log = logging.getLogger(__name__)

#: Defaults of the settings this module reads (the app's config overrides them).
DEFAULTS: dict[str, Any] = {
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 25,
    # "none", "starttls" or "ssl" (implicit TLS, usually port 465).
    "SMTP_SECURITY": "none",
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_TIMEOUT": 30,
    "SMTP_MAX_ATTEMPTS": 5,
    # First retry after this many seconds, doubling up to SMTP_RETRY_MAX_SECONDS.
    "SMTP_RETRY_SECONDS": 60,
    "SMTP_RETRY_MAX_SECONDS": 600,
    # Display name before the queue's address in From.
    "MAIL_FROM_NAME": "Wikimedia VRT",
}

#: A never-tried pending answer this old was stored but not enqueued (a crash
#: between commit and enqueue): the sweep enqueues it.
SWEEP_NEW_AFTER = dt.timedelta(minutes=2)
#: A tried one this long after its last attempt lost its scheduled retry
#: (longer than the longest retry delay).
SWEEP_RETRY_AFTER = dt.timedelta(minutes=15)
#: A ``sending`` row this old belonged to a worker that died mid-send.
STUCK_AFTER = dt.timedelta(minutes=15)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

#: Why an answer on a training ticket stays unsent (shown on the ticket).
TRAINING_REFUSAL = (
    "Not sent: the ticket is in Training, and nothing in Training is ever mailed. "
    "If it is a real ticket, move it out of Training and send the answer again."
)


class TrainingRefused(ValueError):
    """The answer is on a training ticket: it is never sent."""


def setting(config: Mapping[str, Any], key: str) -> Any:
    """``config[key]``, else this module's default."""
    value = config.get(key)
    return DEFAULTS[key] if value is None else value


class SendDeferred(Exception):
    """The attempt failed and another should follow in ``delay`` seconds."""

    def __init__(self, message: str, delay: int) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class Draft:
    """What the volunteer wrote, ready to become a message."""

    to: str
    subject: str
    body: str
    cc: str = ""


def _references(ticket: Ticket, reply_to: Article | None) -> tuple[str | None, list[str]]:
    """``In-Reply-To`` and ``References`` for an answer on ``ticket``.

    Made-up keys of messages that came without a Message-ID
    (``…@wikibridge.invalid``) are left out: nobody else knows them.
    """
    ids = [
        a.message_id
        for a in ticket.articles
        if a.channel == "email"
        and a.message_id
        and not a.message_id.endswith("@wikibridge.invalid>")
    ]
    in_reply_to = reply_to.message_id if reply_to is not None else None
    if in_reply_to and in_reply_to.endswith("@wikibridge.invalid>"):
        in_reply_to = None
    # The replied-to message last, as RFC 5322 asks; the chain kept short.
    ids = [*[i for i in ids if i != in_reply_to][-9:], in_reply_to] if in_reply_to else ids[-10:]
    return in_reply_to, ids


def build_message(
    draft: Draft,
    *,
    from_name: str,
    from_address: str,
    mail_domain: str,
    in_reply_to: str | None,
    references: Iterable[str],
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The answer as a UTF-8 text/plain message with a new Message-ID."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((from_name, from_address))
    msg["To"] = draft.to
    if draft.cc:
        msg["Cc"] = draft.cc
    msg["Subject"] = draft.subject
    msg["Date"] = email.utils.format_datetime(now or utcnow())
    msg["Message-ID"] = email.utils.make_msgid(domain=mail_domain)
    refs = list(references)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if refs:
        msg["References"] = " ".join(refs)
    msg["Auto-Submitted"] = "no"  # a person wrote it: auto-responders may answer
    msg.set_content(draft.body, charset="utf-8")
    return msg


def store_answer(
    session: Session,
    config: Mapping[str, Any],
    ticket: Ticket,
    draft: Draft,
    actor: str,
) -> Article:
    """Store ``draft`` as a pending outgoing article of ``ticket`` (the caller commits).

    The message is built here, once: what is stored is byte for byte what
    will be sent, and its Message-ID is what the customer's reply will name.
    On a training ticket the answer is stored with the status ``practice``:
    shown like any answer, never sent (the caller must not enqueue it).
    """
    practice = is_training(session, ticket)
    reply_to = last_customer_article(ticket)
    in_reply_to, refs = _references(ticket, reply_to)
    address = sender_address(ticket.queue, config["MAIL_DOMAIN"])
    msg = build_message(
        draft,
        from_name=setting(config, "MAIL_FROM_NAME"),
        from_address=address,
        mail_domain=config["MAIL_DOMAIN"],
        in_reply_to=in_reply_to,
        references=refs,
    )
    raw = msg.as_bytes()
    row = RawMessage(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        compression="zlib",
        data=zlib.compress(raw, 6),
    )
    article = Article(
        ticket=ticket,
        raw=row,
        message_id=str(msg["Message-ID"]),
        channel="email",
        sender_type="agent",
        from_addr=str(msg["From"]),
        to_addr=draft.to,
        cc_addr=draft.cc,
        subject=draft.subject,
        body=draft.body,
        send_status=PRACTICE if practice else PENDING,
    )
    session.add(article)
    session.flush()
    if practice:
        record(session, ticket, "answer", actor, article_id=article.id, to=draft.to, practice=True)
    else:
        record(session, ticket, "answer", actor, article_id=article.id, to=draft.to)
    return article


def refuse_training(session: Session, article: Article, actor: str = "system") -> None:
    """Mark an answer on a training ticket as not sent, and say so in the history."""
    article.send_status = FAILED
    article.send_error = TRAINING_REFUSAL
    record(session, article.ticket, "send refused", actor, article_id=article.id)


def recipients(message: EmailMessage) -> list[str]:
    """Envelope recipients: the bare addresses of To and Cc."""
    values = [str(v) for name in ("To", "Cc") for v in message.get_all(name, [])]
    return [addr for _, addr in email.utils.getaddresses(values) if addr]


def smtp_send(config: Mapping[str, Any], sender: str, to: list[str], raw: bytes) -> None:
    """Hand ``raw`` to the configured SMTP server; raise on any failure.

    The password is passed to the server only; errors carry the server's
    reply, never the settings.
    """
    host = setting(config, "SMTP_HOST")
    port = int(setting(config, "SMTP_PORT"))
    timeout = float(setting(config, "SMTP_TIMEOUT"))
    security = str(setting(config, "SMTP_SECURITY")).lower()
    if security not in ("none", "starttls", "ssl"):
        raise ValueError(f"SMTP_SECURITY must be none, starttls or ssl, not {security!r}")
    smtp: smtplib.SMTP
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        username = setting(config, "SMTP_USERNAME")
        if username:
            smtp.login(username, setting(config, "SMTP_PASSWORD"))
        smtp.sendmail(sender, to, raw)


def _describe(exc: BaseException, config: Mapping[str, Any]) -> tuple[str, bool]:
    """A message a volunteer can act on, and whether trying again could help."""
    where = f"{setting(config, 'SMTP_HOST')}:{setting(config, 'SMTP_PORT')}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{addr} ({code} {reply.decode(errors='replace')})"
            for addr, (code, reply) in exc.recipients.items()
        )
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        return f"The mail server refused the recipient: {refused}. Check the address.", permanent
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"The mail server {where} refused our login ({exc.smtp_code}); "
            "an administrator must check SMTP_USERNAME and SMTP_PASSWORD.",
            False,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"The mail server {where} answered {exc.smtp_code} {reply}.", exc.smtp_code >= 500
    if isinstance(exc, smtplib.SMTPException | OSError):
        return f"Could not reach the mail server {where}: {exc}.", False
    return f"Sending failed: {exc.__class__.__name__}: {exc}.", False


def _claim(session: Session, article_id: int, now: dt.datetime) -> bool:
    """Take the article for this attempt if it waits to be sent; commit."""
    begin_write(session)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Article)
        .where(Article.id == article_id, Article.send_status == PENDING)
        .values(
            send_status=SENDING,
            send_tried_at=now,
            send_attempts=Article.send_attempts + 1,
        )
    )
    session.commit()
    return bool(result.rowcount)


def send_article(
    make_session: Callable[[], Session],
    config: Mapping[str, Any],
    article_id: int,
    *,
    transport: Callable[[Mapping[str, Any], str, list[str], bytes], None] = smtp_send,
) -> str:
    """Send one stored answer; return what happened (``sent``, ``skipped: …``, ``failed``).

    :raises SendDeferred: the attempt failed and the caller should retry later.
    """
    with make_session() as session:
        if not _claim(session, article_id, utcnow()):
            article = session.get(Article, article_id)
            state = article.send_status if article is not None else "missing"
            # Already sent, being sent by another worker, failed, or gone.
            return f"skipped: {state}"
        article = session.get(Article, article_id)
        assert article is not None and article.raw is not None
        if is_training(session, article.ticket):
            # Claimed, so no other worker holds it: refuse it here, for good.
            begin_write(session)
            refuse_training(session, article)
            session.commit()
            log.warning("article %s: not sent, its ticket is in Training", article_id)
            return "refused: training"
        raw = raw_bytes(article.raw)
        attempts = article.send_attempts
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    sender = email.utils.parseaddr(str(message["From"]))[1]
    try:
        transport(config, sender, recipients(message), raw)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the ticket
        text, permanent = _describe(exc, config)
        log.warning("article %s: attempt %s failed: %s", article_id, attempts, text)
        return _failed(make_session, config, article_id, attempts, text, permanent)
    with make_session() as session:
        begin_write(session)
        article = session.get(Article, article_id)
        assert article is not None
        article.send_status = SENT
        article.sent_at = utcnow()
        article.send_error = ""
        record(session, article.ticket, "sent", "system", article_id=article_id, attempts=attempts)
        session.commit()
    return SENT


def _failed(
    make_session: Callable[[], Session],
    config: Mapping[str, Any],
    article_id: int,
    attempts: int,
    text: str,
    permanent: bool,
) -> str:
    max_attempts = int(setting(config, "SMTP_MAX_ATTEMPTS"))
    give_up = permanent or attempts >= max_attempts
    with make_session() as session:
        begin_write(session)
        article = session.get(Article, article_id)
        assert article is not None
        article.send_status = FAILED if give_up else PENDING
        article.send_error = text
        record(
            session,
            article.ticket,
            "send failed" if give_up else "send deferred",
            "system",
            article_id=article_id,
            attempt=attempts,
            error=text,
        )
        session.commit()
    if give_up:
        return FAILED
    delay = min(
        int(setting(config, "SMTP_RETRY_SECONDS")) * 2 ** max(attempts - 1, 0),
        int(setting(config, "SMTP_RETRY_MAX_SECONDS")),
    )
    raise SendDeferred(text, delay)


def resend(session: Session, article: Article, actor: str) -> None:
    """Let a failed answer be tried again, with a fresh count (the caller commits).

    :raises TrainingRefused: the ticket is in Training (the refusal is
        recorded in its history; commit it).
    :raises ValueError: the article is not a failed answer.
    """
    if article.send_status == PRACTICE or is_training(session, article.ticket):
        record(session, article.ticket, "send refused", actor, article_id=article.id)
        raise TrainingRefused(TRAINING_REFUSAL)
    if article.send_status != FAILED:
        raise ValueError(
            "only failed answers can be sent again "
            f"(this one is {article.send_status or 'not an answer'})"
        )
    article.send_status = PENDING
    article.send_attempts = 0
    record(session, article.ticket, "resend", actor, article_id=article.id)


def sweep(make_session: Callable[[], Session], now: dt.datetime | None = None) -> list[int]:
    """Answers to enqueue again: left pending by a crash or a lost retry.

    A ``sending`` row whose worker died mid-send may or may not have left:
    it is marked ``failed`` with that said, for a volunteer to check, never
    sent again on a guess.
    """
    now = now or utcnow()
    with make_session() as session:
        begin_write(session)
        stuck = session.scalars(
            select(Article).where(
                Article.send_status == SENDING, Article.send_tried_at < now - STUCK_AFTER
            )
        ).all()
        for article in stuck:
            article.send_status = FAILED
            article.send_error = (
                "Sending was interrupted; the mail may or may not have reached the "
                "customer. Check with them (or the mail server's log) before sending again."
            )
            record(
                session,
                article.ticket,
                "send failed",
                "system",
                article_id=article.id,
                error=article.send_error,
            )
        due = session.scalars(
            select(Article).where(
                Article.send_status == PENDING,
                or_(
                    Article.send_tried_at.is_(None) & (Article.created_at < now - SWEEP_NEW_AFTER),
                    Article.send_tried_at < now - SWEEP_RETRY_AFTER,
                ),
            )
        ).all()
        ids = []
        for article in due:
            if is_training(session, article.ticket):
                refuse_training(session, article)
            else:
                ids.append(article.id)
        session.commit()
    return ids
