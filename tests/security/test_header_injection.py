"""Header injection in outgoing mail through what the customer wrote.

The volunteer's own fields (To, Cc, Subject with CR/LF) are refused as form
errors (``tests/test_answers.py``). Here the line breaks come from the
customer instead: an RFC 2047 encoded CR/LF in the From display name, the
Reply-To and the Subject, which reach the answer through its prefilled
fields and the template variables (``{customer_name}``…). Whatever the
volunteer then sends, the stored message (what SMTP gets, byte for byte)
has only the headers the desk wrote and goes only to the addresses shown.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.intake import raw_bytes
from tickets.models import AnswerTemplate, Article
from wikibridge.db import new_session
from wikibridge.mail.outgoing import recipients
from wikibridge.mail.store import store_message

from ..conftest import make_test_app
from ..helpers import log_in

CSRF = {"csrf_token": "test-csrf"}
INJECTED = "\r\nBcc: spy@evil.example\r\nX-Injected: yes"


def _word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _mail(reply_to: bool) -> bytes:
    lines = [
        f"From: {_word('Eve' + INJECTED)} <eve@example.net>",
        "To: permissions@wikimedia.org",
        f"Subject: {_word('Photo' + INJECTED)}",
        "Message-ID: <hostile@example.net>",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "I am the photographer and release it under CC BY-SA 4.0.",
    ]
    if reply_to:
        lines.insert(1, f"Reply-To: {_word('Form' + INJECTED)} <form@example.net>")
    return "\r\n".join(lines).encode()


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued, not run: the stored message is what would be sent."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def _prefilled(html: str) -> dict[str, str]:
    """The compose form's fields as the page fills them."""
    fields = {}
    for name in ("to", "cc", "subject"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
        assert match is not None, name
        fields[name] = unescape(match.group(1))
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', html, re.S)
    assert body is not None
    fields["body"] = unescape(body.group(1))
    return fields


def _sent(app: Flask) -> email.message.EmailMessage:
    with new_session(app) as db:
        article = db.scalars(select(Article).where(Article.sender_type == "agent")).one()
        assert article.raw is not None
        raw = raw_bytes(article.raw)
    return email.message_from_bytes(raw, policy=email.policy.default)


def _check_only_desk_headers(message: email.message.EmailMessage, to: str) -> None:
    names = {name.lower() for name in message}
    assert "bcc" not in names and "x-injected" not in names
    assert recipients(message) == [to]
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), name


@pytest.mark.parametrize("reply_to", [False, True], ids=["from", "reply-to"])
def test_the_prefilled_answer_is_single_line_headers(
    app: Flask, client: FlaskClient, reply_to: bool
):
    number = store_message(app, _mail(reply_to)).number
    log_in(app, client, "Ada", role="head")
    page = client.get(f"/tickets/{number}/answer")
    assert page.status_code == 200
    fields = _prefilled(page.get_data(as_text=True))
    for name in ("to", "cc", "subject"):
        assert "\r" not in fields[name] and "\n" not in fields[name], (name, fields[name])
    # Sent as prefilled: it goes, to the one address, with the desk's headers only.
    sent = client.post(f"/tickets/{number}/answer", data={**CSRF, **fields})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    expected = "form@example.net" if reply_to else "eve@example.net"
    _check_only_desk_headers(_sent(app), expected)


def test_an_empty_subject_takes_the_title_safely(app: Flask, client: FlaskClient):
    """An empty Subject falls back to the ticket's title, which the customer wrote."""
    number = store_message(app, _mail(False)).number
    log_in(app, client, "Ada", role="head")
    form = {"to": "eve@example.net", "cc": "", "subject": "", "body": "Thanks."}
    sent = client.post(f"/tickets/{number}/answer", data={**CSRF, **form})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    message = _sent(app)
    _check_only_desk_headers(message, "eve@example.net")
    # (Python folds a long subject right after "Subject:"; readers drop that space.)
    assert str(message["Subject"]).strip().startswith(f"Re: [Ticket#{number}] Photo")


def test_template_variables_stay_in_the_body(app: Flask, client: FlaskClient):
    """``{customer_name}`` with line breaks fills the text, never a header."""
    number = store_message(app, _mail(False)).number
    with new_session(app) as db:
        db.add(
            AnswerTemplate(
                name="Greeting",
                subject="About {customer_name}",
                body="Dear {customer_name} ({customer_email}),\nthanks.",
            )
        )
        db.commit()
        template_id = db.scalars(select(AnswerTemplate.id)).one()
    log_in(app, client, "Ada", role="head")
    page = client.get(f"/tickets/{number}/answer?template={template_id}")
    fields = _prefilled(page.get_data(as_text=True))
    assert "Dear Eve" in fields["body"]
    sent = client.post(f"/tickets/{number}/answer", data={**CSRF, **fields})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    message = _sent(app)
    _check_only_desk_headers(message, "eve@example.net")
    assert "spy@evil.example" in message.get_content()  # the text, as the customer wrote it


def test_a_template_subject_cannot_carry_a_line_break(app: Flask, client: FlaskClient):
    """An administrator's template subject is one line too (the form trims and checks it)."""
    log_in(app, client, "Ada", role="head")
    client.post(
        "/admin/templates",
        data={**CSRF, "name": "Broken", "subject": "Hi\r\nBcc: spy@evil.example", "body": "x"},
    )
    with new_session(app) as db:
        subjects = db.scalars(select(AnswerTemplate.subject)).all()
    assert all("\n" not in s and "\r" not in s for s in subjects)
