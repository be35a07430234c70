"""Intake under heavy mail: many attachments, deep HTML, messages over the size limit.

None of these measure time (CI shares two cores): they count what grows with
the message (SQL statements, nesting handed to the sanitiser) and check the
order of the work (everything but writing before the write transaction).
"""

from __future__ import annotations

import email
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import nh3
from sqlalchemy import event, func, select

from tickets.intake import raw_bytes
from tickets.language import LanguageDetector
from tickets.models import Article, Attachment, Blob, History, RawMessage, Ticket
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

_WRITE = re.compile(r"^\s*(BEGIN IMMEDIATE|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def with_attachments(count: int, msgid: str, distinct: int | None = None) -> bytes:
    """A message with ``count`` tiny attachments, ``distinct`` different contents."""
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = f"{count} files"
    msg["Message-ID"] = msgid
    msg.set_content("Here are all my photos, please have a look.")
    for i in range(count):
        content = f"file {i % (distinct or count)}".encode()
        msg.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=f"f{i}.bin"
        )
    return msg.as_bytes()


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (one per executemany)."""
    seen: list[str] = []
    engine = app.extensions["db_engine"]

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_statements_do_not_grow_with_the_attachments(app):
    with statements(app) as few:
        store_message(app, with_attachments(10, "<few@example.net>"))
    with statements(app) as many:
        store_message(app, with_attachments(1000, "<many@example.net>", distinct=400))
    # Bulk inserts: a few batches more at most, never a statement per attachment.
    assert len(many) <= len(few) + 6, (len(few), len(many))
    with new_session(app) as db:
        article = db.scalars(
            select(Article).where(Article.message_id == "<many@example.net>")
        ).one()
        atts = article.attachments
        assert len(atts) == 1000
        assert [a.filename for a in atts[:3]] == ["f0.bin", "f1.bin", "f2.bin"]
        assert atts[401].sha256 == atts[1].sha256
        # 400 contents of the big message; the small one's ten are among them.
        assert db.scalar(select(func.count()).select_from(Blob)) == 400


def test_a_redelivery_with_attachments_stores_nothing_twice(app):
    raw = with_attachments(50, "<again@example.net>")
    first = store_message(app, raw)
    second = store_message(app, raw)
    assert second.number == first.number and second.rule == "duplicate"
    with new_session(app) as db:
        assert db.scalar(select(func.count()).select_from(Attachment)) == 50
        assert db.scalar(select(func.count()).select_from(Blob)) == 50


def test_the_writer_waits_for_nothing_but_writing(app, monkeypatch):
    # Parsing, sanitising, compressing and language detection all come before
    # the first statement that takes the write lock.
    log: list[str] = []

    def spy(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            log.append(name)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(email, "message_from_bytes", spy("parse", email.message_from_bytes))
    monkeypatch.setattr(nh3, "clean", spy("sanitise", nh3.clean))
    monkeypatch.setattr(zlib, "compress", spy("compress", zlib.compress))
    monkeypatch.setattr(LanguageDetector, "detect", spy("detect", LanguageDetector.detect))
    msg = EmailMessage()
    msg["From"] = "Max <max@example.de>"
    msg["To"] = "info@wikimedia.org"
    msg["Subject"] = "Frage zu meinem Artikel"
    msg["Message-ID"] = "<order@example.de>"
    msg.set_content("Guten Tag, ich habe eine Frage zu meinem Artikel über den Hafen.")
    msg.add_alternative("<p>Guten Tag, ich habe eine <b>Frage</b>.</p>", subtype="html")
    msg.add_attachment(b"photo", maintype="image", subtype="jpeg", filename="hafen.jpg")
    raw = msg.as_bytes()

    with statements(app) as sql:
        engine = app.extensions["db_engine"]

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            log.append("write" if _WRITE.match(statement) else "read")

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            store_message(app, raw)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
    assert sql, "nothing was stored"
    first_write = log.index("write")
    for work in ("parse", "sanitise", "compress", "detect"):
        assert work in log, work
        assert max(i for i, name in enumerate(log) if name == work) < first_write, (work, log)


def nested_divs(n: int, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Deep <deep@example.net>"
    msg["To"] = "info@wikimedia.org"
    msg["Subject"] = "Deep"
    msg["Message-ID"] = msgid
    msg.set_content(
        "<html><body>" + "<div>" * n + "Hello deep" + "</div>" * n + "</body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def test_deeply_nested_html_is_stored_with_bounded_work(app, monkeypatch):
    from tickets.html import MAX_DEPTH

    deepest: list[int] = []
    real = nh3.clean

    def bounded_clean(markup: str, **kwargs: Any) -> str:
        depth = markup.count("<div")
        deepest.append(depth)
        # The real sanitiser needs minutes for the unbounded input.
        return real(markup, **kwargs) if depth <= MAX_DEPTH else ""

    monkeypatch.setattr(nh3, "clean", bounded_clean)
    raw = nested_divs(100_000, "<deep@example.net>")
    result = store_message(app, raw)
    assert result.created
    assert deepest and max(deepest) <= MAX_DEPTH
    with new_session(app) as db:
        article = db.scalars(select(Article)).one()
        assert "Hello deep" in article.body
        assert article.body_html is not None and "Hello deep" in article.body_html
        assert article.raw is not None
        assert raw_bytes(article.raw) == raw


def big_message(msgid: str, size: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Big <big@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "All my photos"
    msg["Message-ID"] = msgid
    msg.set_content("Please find the photos attached.")
    msg.add_attachment(b"\x89PNG" + bytes(range(256)) * (size // 256), "image", "png")
    return msg.as_bytes()


def test_a_message_over_the_limit_is_kept_raw_and_says_so(app):
    app.config["MAIL_MAX_BYTES"] = 20_000
    raw = big_message("<big@example.net>", 40_000)
    assert len(raw) > 20_000
    result = store_message(app, raw)
    assert result.created and result.too_large
    again = store_message(app, raw)
    assert again.number == result.number and again.rule == "duplicate"
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.number == result.number
        assert ticket.title == "All my photos"
        assert ticket.queue.name == "Permissions"
        [article] = ticket.articles
        assert "too large" in article.body and "20000" in article.body.replace(",", "")
        assert article.attachments == []
        assert article.raw is not None and raw_bytes(article.raw) == raw
        assert db.scalar(select(func.count()).select_from(RawMessage)) == 1
        details = [h.detail for h in db.scalars(select(History)) if h.kind == "article"]
        assert any("too large" in " ".join(d.get("problems", [])) for d in details)


def test_a_message_under_the_limit_is_read_as_usual(app):
    app.config["MAIL_MAX_BYTES"] = 100_000
    result = store_message(app, big_message("<fits@example.net>", 40_000))
    assert result.created and not result.too_large
    with new_session(app) as db:
        article = db.scalars(select(Article)).one()
        assert article.body.startswith("Please find the photos attached.")
        assert len(article.attachments) == 1


def test_only_the_headers_of_a_message_over_the_limit_are_read():
    from tickets.intake import prepare

    folded = b"X-Long: " + b"a" * 70 + (b"\n " + b"b" * 70) * 5000 + b"\n"
    raw = (
        b"From: big@example.net\nTo: press@wikimedia.org\nSubject: no body line\n"
        b"In-Reply-To: <earlier@example.org>\n" + folded + b"z" * 50_000
    )
    incoming = prepare(raw, max_bytes=1_000)
    assert incoming.too_large and incoming.raw_size == len(raw)
    parsed = incoming.parsed
    assert parsed.subject == "no body line"
    assert parsed.to == ["press@wikimedia.org"]
    assert parsed.in_reply_to == ["<earlier@example.org>"]
    assert parsed.attachments == [] and parsed.html is None
    assert parsed.key is not None and parsed.key.startswith("<sha256.")
    assert zlib.decompress(incoming.raw_data) == raw
    assert parsed.problems[0].startswith("too large: ")


def test_a_redelivery_detects_no_language(app, monkeypatch):
    # Routing moved before the write transaction must not make duplicates
    # and follow-ups pay for language detection (the pipe loads its model).
    raw = with_attachments(1, "<detect-once@example.net>")
    first = store_message(app, raw)
    calls: list[str] = []
    real = LanguageDetector.detect

    def counting(self: LanguageDetector, text: str) -> str | None:
        calls.append(text)
        return real(self, text)

    monkeypatch.setattr(LanguageDetector, "detect", counting)
    assert store_message(app, raw).rule == "duplicate"
    reply = with_attachments(0, "<reply@example.net>").replace(
        b"Subject: 0 files", f"Subject: Re: [Ticket#{first.number}] files".encode()
    )
    assert store_message(app, reply).rule == "followup"
    assert calls == []
