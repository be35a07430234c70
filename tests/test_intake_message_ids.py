"""Message-IDs are not unique in real mail: only a redelivery of the same content is a duplicate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tickets.intake import raw_bytes
from tickets.mail import content_digest
from tickets.models import Article, RawMessage, Ticket
from wikibridge.db import new_session
from wikibridge.mail.store import store_message


def mail(msgid: str, body: str, subject: str = "A question", **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\n" for k, v in headers.items())
    return (
        f"From: Someone <someone@example.org>\nTo: info@wikimedia.org\nSubject: {subject}\n"
        f"Message-ID: {msgid}\n{extra}\n{body}\n"
    ).encode()


def count(app, model) -> int:
    with new_session(app) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_a_different_message_with_a_stored_message_id_is_stored(app):
    first = store_message(app, mail("<xxxx>", "First message"))
    second = store_message(app, mail("<xxxx>", "Another message entirely"))
    assert first.created and second.created
    assert second.rule != "duplicate" and second.number != first.number
    with new_session(app) as db:
        bodies = sorted(a.body.strip() for a in db.scalars(select(Article)))
        assert bodies == ["Another message entirely", "First message"]
        raws = [raw_bytes(r) for r in db.scalars(select(RawMessage).order_by(RawMessage.id))]
        assert raws == [mail("<xxxx>", "First message"), mail("<xxxx>", "Another message entirely")]


def test_a_redelivery_through_another_hop_is_a_duplicate(app):
    raw = mail("<same@example.org>", "Hello")
    first = store_message(app, raw)
    via_postfix = (
        b"Return-Path: <someone@example.org>\r\nX-Original-To: info@wikimedia.org\r\n"
        b"Delivered-To: info@wikimedia.org\r\nReceived: from mx by desk; Thu, 3 Dec 2026\r\n"
        + raw.replace(b"\n", b"\r\n")
    )
    second = store_message(app, via_postfix)
    assert second.rule == "duplicate" and second.number == first.number and not second.created
    assert count(app, Article) == 1


def test_a_message_without_message_id_is_deduplicated_by_content(app):
    raw = b"From: a@example.org\nTo: info@wikimedia.org\nSubject: none\n\nNo id here\n"
    first = store_message(app, raw)
    assert store_message(app, raw).number == first.number
    other = store_message(app, raw.replace(b"No id", b"Still no id"))
    assert other.created and other.number != first.number
    assert count(app, Article) == 2


def test_a_reply_to_a_reused_message_id_joins_the_newest_carrier(app):
    store_message(app, mail("<xxxx>", "First"))
    newer = store_message(app, mail("<xxxx>", "Second"))
    reply = store_message(app, mail("<reply@example.org>", "Thanks", In_Reply_To="<xxxx>"))
    assert reply.rule == "followup" and reply.number == newer.number


def test_a_message_naming_its_own_reused_id_is_no_reply_to_itself(app):
    first = store_message(app, mail("<loop@example.org>", "One"))
    again = store_message(app, mail("<loop@example.org>", "Two", References="<loop@example.org>"))
    assert again.created and again.number != first.number and again.rule != "followup"


def _cpython_test_mails() -> list[Path]:
    try:
        import test
    except ImportError:  # pragma: no cover - a Python without its test package
        return []
    folder = Path(os.path.dirname(test.__file__)) / "test_email" / "data"
    return sorted(folder.glob("msg_*.txt"))


def test_cpythons_test_mails_are_all_kept(app):
    files = _cpython_test_mails()
    if not files:
        pytest.skip("this Python ships no test_email data")
    raws = [f.read_bytes() for f in files]
    distinct = {content_digest(r) for r in raws}
    first = [store_message(app, raw) for raw in raws]
    # Every message with its own content is stored, whatever its Message-ID.
    assert sum(d.created for d in first) == len(distinct)
    again = [store_message(app, raw) for raw in raws]
    assert all(d.rule == "duplicate" and not d.created for d in again)
    assert [d.number for d in again] == [d.number for d in first]
    assert count(app, Article) == len(distinct) == count(app, RawMessage)
    assert count(app, Ticket) <= len(distinct)
    with new_session(app) as db:
        stored = {raw_bytes(r) for r in db.scalars(select(RawMessage))}
    assert {content_digest(r) for r in stored} == distinct
