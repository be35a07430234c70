"""Storing mail as tickets, on the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

from tickets.intake import deliver, raw_bytes
from tickets.language import LanguageDetector
from tickets.models import Article, History, RawMessage, State, Ticket
from tickets.numbers import is_valid
from tickets.routing import Policy
from wikibridge.db import new_session

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
POLICY = Policy(domain="wikimedia.org")
DETECTOR = LanguageDetector(POLICY.languages)


def message(
    to: str = "info@wikimedia.org",
    subject: str = "Hello",
    msgid: str | None = None,
    body: str = "Hello there",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Someone <someone@example.org>"
    msg["To"] = to
    msg["Subject"] = subject
    if msgid:
        msg["Message-ID"] = msgid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_new_ticket_keeps_everything(app):
    raw = (FIXTURES / "permission-en.eml").read_bytes()
    with new_session(app) as db:
        result = deliver(db, raw, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        ticket = db.scalars(select(Ticket)).one()
        assert result.created and is_valid(result.number)
        assert ticket.number == result.number
        assert ticket.queue.name == "Permissions"
        assert ticket.state == State.NEW.value and ticket.priority == 3
        article = ticket.articles[0]
        assert article.from_addr == "Jane Photographer <jane@example.net>"
        assert "CC BY-SA 4.0" in article.body
        assert article.raw is not None and raw_bytes(article.raw) == raw
        assert db.scalar(select(func.count()).select_from(History)) == 2


def test_duplicate_message_id_stored_once(app):
    raw = message(msgid="<once@example.org>")
    with new_session(app) as db:
        first = deliver(db, raw, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        second = deliver(db, raw, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        assert second.number == first.number and second.rule == "duplicate"
        assert db.scalar(select(func.count()).select_from(Article)) == 1


def test_followup_by_subject_tag_reopens(app):
    with new_session(app) as db:
        first = deliver(
            db, message(msgid="<a@x>"), policy=POLICY, detector=DETECTOR, system_id="10"
        )
        ticket = db.scalars(select(Ticket)).one()
        ticket.state = State.CLOSED_SUCCESSFUL.value
        db.commit()
        reply = message(subject=f"Re: [Ticket#{first.number}] Hello", msgid="<b@x>")
        second = deliver(db, reply, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        assert second.number == first.number and second.rule == "followup"
        assert db.scalars(select(Ticket)).one().state == State.OPEN.value


def test_followup_by_in_reply_to(app):
    with new_session(app) as db:
        first = deliver(
            db, message(msgid="<root@x>"), policy=POLICY, detector=DETECTOR, system_id="10"
        )
        second = deliver(
            db,
            message(msgid="<child@x>", In_Reply_To="<root@x>"),
            policy=POLICY,
            detector=DETECTOR,
            system_id="10",
        )
        db.commit()
        assert second.number == first.number


def test_routing_by_address(app):
    cases = {
        "press@wikimedia.org": "Role::Press",
        "info-de@wikimedia.org": "Info::de",
        "permissions-fr@wikimedia.org": "Permissions::fr",
        "training@wikimedia.org": "Training",
        "someone@elsewhere.org": "Info",
    }
    with new_session(app) as db:
        for to, queue in cases.items():
            assert (
                deliver(db, message(to=to), policy=POLICY, detector=DETECTOR, system_id="10").queue
                == queue
            )
        spam = message(X_Spam_Flag="YES")
        assert deliver(db, spam, policy=POLICY, detector=DETECTOR, system_id="10").queue == "Junk"
        db.commit()


def test_garbage_is_stored_whole(app):
    raw = (FIXTURES / "garbage.eml").read_bytes()
    with new_session(app) as db:
        result = deliver(db, raw, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        assert result.queue == "Info"
        stored = db.scalars(select(RawMessage)).one()
        assert raw_bytes(stored) == raw


def test_concurrent_deliveries_get_distinct_numbers(app):
    numbers: list[str] = []
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            with new_session(app) as db:
                result = deliver(
                    db, message(msgid=f"<c{n}@x>"), policy=POLICY, detector=DETECTOR, system_id="10"
                )
                db.commit()
                numbers.append(result.number)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(numbers)) == 12
    assert all(is_valid(n) for n in numbers)


def test_attachments_are_compressed_only_when_it_pays(app):
    import os as _os

    from tickets.intake import blob_bytes
    from tickets.models import Blob

    photo = _os.urandom(200_000)  # like a JPEG: compressed already
    text = b"a licence text " * 20_000
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "files"
    msg.set_content("two files")
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename="p.jpg")
    msg.add_attachment(text, maintype="application", subtype="octet-stream", filename="t.txt")
    with new_session(app) as db:
        deliver(db, msg.as_bytes(), policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        blobs = {blob_bytes(b): b.compression for b in db.scalars(select(Blob))}
    assert blobs == {photo: "none", text: "zlib"}
