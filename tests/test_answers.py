"""Answers by mail through a real SMTP server, templates, notes and phone calls."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.answers import compose_body, fill, quote, reply_subject
from tickets.models import AnswerTemplate, Article, History, Queue, State, Ticket
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of
from wikibridge.mail.outgoing import sweep
from wikibridge.mail.store import store_message

from .conftest import make_test_app
from .helpers import log_in, new_ticket

CSRF = {"csrf_token": "test-csrf"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd calls it by this name
        msg = email.message_from_bytes(
            envelope.content, _class=EmailMessage, policy=email.policy.default
        )
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


class Smtp:
    """A real SMTP server in this process, started and stopped at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(free_port())
    server.start()
    yield server
    server.stop()


def answers_app(tmp_path: Path, database_url: str, port: int, **extra: Any) -> Flask:
    app = make_test_app(tmp_path, database_url, SMTP_PORT=port, SMTP_TIMEOUT=5, **extra)
    if "answers" not in app.blueprints:  # until create_app registers it
        from wikibridge.web import answers

        app.register_blueprint(answers.bp)
    return app


@pytest.fixture
def mail_app(tmp_path: Path, database_url: str, smtp: Smtp) -> Iterator[Flask]:
    app = answers_app(tmp_path, database_url, smtp.port)
    yield app
    app.extensions["db_engine"].dispose()


def customer_mail(subject: str = "Permission for my photo") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = subject
    msg["Message-ID"] = "<first@example.net>"
    msg.set_content("I took the photo.\n\nJane")
    return msg.as_bytes()


def answer(client: FlaskClient, number: str, **form: str) -> Any:
    data = {"to": "Jane Doe <jane@example.net>", "subject": "x", "body": "Thank you."}
    data.update(form)
    return client.post(f"/tickets/{number}/answer", data={**data, **CSRF})


def outgoing(app: Flask) -> list[Article]:
    with new_session(app) as db:
        return list(db.scalars(select(Article).where(Article.sender_type == "agent")))


def test_answer_sent_with_headers_and_reply_threads_back(mail_app, smtp):
    app = mail_app
    client = app.test_client()
    log_in(app, client)
    number = store_message(app, customer_mail()).number

    form = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert f"Re: [Ticket#{number}] Permission for my photo" in form
    assert "On " in form and "Jane Doe &lt;jane@example.net&gt; wrote:" in form
    assert "&gt; I took the photo." in form

    response = answer(
        client,
        number,
        subject=f"Re: [Ticket#{number}] Permission for my photo",
        next_state="closed successful",
    )
    assert response.status_code == 302

    assert len(smtp.inbox.messages) == 1
    mail_from, rcpt, msg = smtp.inbox.messages[0]
    assert mail_from == "permissions@wikimedia.org"
    assert rcpt == ["jane@example.net"]
    assert msg["From"] == "Wikimedia VRT <permissions@wikimedia.org>"
    assert msg["To"] == "Jane Doe <jane@example.net>"
    assert msg["Subject"] == f"Re: [Ticket#{number}] Permission for my photo"
    assert msg["Subject"].count("[Ticket#") == 1
    assert msg["In-Reply-To"] == "<first@example.net>"
    assert msg["References"] == "<first@example.net>"
    assert msg["Message-ID"].endswith("@wikimedia.org>")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"

    [sent] = outgoing(app)
    assert sent.send_status == "sent"
    assert sent.sent_at is not None
    assert sent.message_id == msg["Message-ID"]
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        assert ticket.state == State.CLOSED_SUCCESSFUL.value
        kinds = [(h.kind, h.actor) for h in db.scalars(select(History).order_by(History.id))]
    assert ("answer", "Alice") in kinds
    assert ("state", "Alice") in kinds
    assert ("sent", "system") in kinds

    # The customer answers our mail (no tag in the subject): it threads by
    # In-Reply-To, lands on the same ticket and reopens it.
    reply = EmailMessage()
    reply["From"] = "Jane Doe <jane@example.net>"
    reply["To"] = "permissions@wikimedia.org"
    reply["Subject"] = "Re: Permission for my photo"
    reply["Message-ID"] = "<second@example.net>"
    reply["In-Reply-To"] = msg["Message-ID"]
    reply["References"] = f"<first@example.net> {msg['Message-ID']}"
    reply.set_content("One more question.")
    delivery = store_message(app, reply.as_bytes())
    assert delivery.number == number
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        assert ticket.state == State.OPEN.value


def test_server_down_stays_pending_then_sent_once(tmp_path, database_url):
    server = Smtp(free_port())  # nothing listens yet
    app = answers_app(tmp_path, database_url, server.port)
    client = app.test_client()
    log_in(app, client)
    number = store_message(app, customer_mail()).number

    assert answer(client, number).status_code == 302
    [article] = outgoing(app)
    assert article.send_status == "pending"
    assert article.send_attempts == 1
    assert "Could not reach the mail server" in article.send_error
    page = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert "not yet sent" in page
    assert "Could not reach the mail server" in page

    server.start()
    try:
        with app.app_context():
            jobs = jobs_of(app)
            jobs.send_article(article.id)  # the retry
            jobs.send_article(article.id)  # and a stray second run
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()
    [article] = outgoing(app)
    assert article.send_status == "sent"
    assert article.send_attempts == 2
    assert article.send_error == ""
    app.extensions["db_engine"].dispose()


def test_gives_up_after_max_attempts_and_send_again(tmp_path, database_url):
    server = Smtp(free_port())
    app = answers_app(tmp_path, database_url, server.port, SMTP_MAX_ATTEMPTS=2)
    client = app.test_client()
    log_in(app, client)
    number = store_message(app, customer_mail()).number
    answer(client, number)
    [article] = outgoing(app)
    with app.app_context():
        jobs_of(app).send_article(article.id)
    [article] = outgoing(app)
    assert article.send_status == "failed"
    page = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert "Send again" in page

    server.start()
    try:
        response = client.post(f"/tickets/{number}/articles/{article.id}/resend", data=CSRF)
        assert response.status_code == 302
        assert len(server.inbox.messages) == 1
        # Sent answers cannot be "sent again".
        response = client.post(f"/tickets/{number}/articles/{article.id}/resend", data=CSRF)
        assert response.status_code == 409
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()
    app.extensions["db_engine"].dispose()


def test_never_sent_twice_when_the_task_runs_twice(mail_app, smtp):
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = new_ticket(mail_app)
    answer(client, number)
    [article] = outgoing(mail_app)
    with mail_app.app_context():
        assert jobs_of(mail_app).send_article(article.id).get() == "skipped: sent"
    assert len(smtp.inbox.messages) == 1


def test_sweep_enqueues_answers_left_pending(mail_app, smtp):
    import datetime as dt

    client = mail_app.test_client()
    log_in(mail_app, client)
    number = new_ticket(mail_app)
    with new_session(mail_app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        # As if the process died between the commit and the enqueue.
        db.add(
            Article(
                ticket=ticket,
                sender_type="agent",
                send_status="pending",
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
            )
        )
        db.commit()
    factory = mail_app.extensions["db_sessionmaker"]
    assert len(sweep(factory)) == 1
    assert sweep(factory, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)) == []


def test_template_variables_and_list(mail_app, smtp):
    app = mail_app
    client = app.test_client()
    log_in(app, client, "Bob")
    number = store_message(app, customer_mail()).number
    with new_session(app) as db:
        permissions = db.scalars(select(Queue).where(Queue.name == "Permissions")).one()
        permissions.signature = "-- \nThe permissions team"
        junk = db.scalars(select(Queue).where(Queue.name == "Junk")).one()
        mine = AnswerTemplate(
            name="Thanks",
            queue_id=permissions.id,
            body="Dear {customer_name},\nticket {ticket_number} in {queue_name}, "
            "{volunteer_name} <{customer_email}> {unknown}\n{queue_signature}",
        )
        db.add_all(
            [
                mine,
                AnswerTemplate(name="Everywhere", body="Hello"),
                AnswerTemplate(name="Other queue", queue_id=junk.id, body="x"),
                AnswerTemplate(name="Retired", body="x", valid=False),
            ]
        )
        db.commit()
        template_id = mine.id
    page = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert "Thanks" in page and "Everywhere" in page
    assert "Other queue" not in page and "Retired" not in page
    page = client.get(f"/tickets/{number}/answer?template={template_id}").get_data(as_text=True)
    assert "Dear Jane Doe," in page
    assert f"ticket {number} in Permissions, Bob &lt;jane@example.net&gt; {{unknown}}" in page
    assert "The permissions team" in page


def test_fill_quote_subject():
    assert fill("{a} {b} {} {{x}}", {"a": "1"}) == "1 {b} {} {{x}}"
    assert reply_subject("2026112510000012", "Re: AW: [Ticket#2026112510000012] Hi") == (
        "Re: [Ticket#2026112510000012] Hi"
    )
    assert reply_subject("2026112510000012", "Hi") == "Re: [Ticket#2026112510000012] Hi"
    import datetime as dt

    text = quote("a\n\n> b\n", "Jane", dt.datetime(2026, 1, 2, 3, 4))
    assert text == "On 2026-01-02 03:04 UTC, Jane wrote:\n> a\n>\n>> b"
    assert compose_body("Hi {queue_signature}", {"queue_signature": "S"}) == "Hi S\n"
    assert compose_body("Hi", {"queue_signature": "S"}, "Q") == "Hi\n\nS\n\nQ\n"


def test_note_and_phone(mail_app, smtp):
    client = mail_app.test_client()
    log_in(mail_app, client, "Carol", role="volunteer", grants={"Permissions": "read,note"})
    number = new_ticket(mail_app)
    assert client.get(f"/tickets/{number}/note").status_code == 200
    assert client.get(f"/tickets/{number}/note?kind=phone").status_code == 200
    response = client.post(f"/tickets/{number}/note", data={"body": "Looks fine.", **CSRF})
    assert response.status_code == 302
    response = client.post(
        f"/tickets/{number}/phone",
        data={"direction": "outbound", "other": "+1 555", "body": "Confirmed.", **CSRF},
    )
    assert response.status_code == 302
    with new_session(mail_app) as db:
        articles = db.scalars(select(Article).where(Article.channel != "email")).all()
        assert [(a.channel, a.sender_type, a.body) for a in articles] == [
            ("note", "agent", "Looks fine."),
            ("phone", "agent", "Confirmed."),
        ]
        kinds = [(h.kind, h.actor) for h in db.scalars(select(History))]
    assert ("note", "Carol") in kinds and ("phone", "Carol") in kinds
    assert smtp.inbox.messages == []


def test_answer_needs_the_right(mail_app, smtp):
    number = new_ticket(mail_app)
    reader = mail_app.test_client()
    log_in(mail_app, reader, "Dan", role="volunteer", grants={"Permissions": "read,note"})
    assert reader.get(f"/tickets/{number}/answer").status_code == 403
    assert answer(reader, number).status_code == 403
    stranger = mail_app.test_client()
    log_in(mail_app, stranger, "Eve", role="volunteer", grants={"Junk": "all"})
    assert stranger.get(f"/tickets/{number}/answer").status_code == 404
    assert answer(stranger, number).status_code == 404
    assert stranger.post(f"/tickets/{number}/note", data={"body": "x", **CSRF}).status_code == 404
    # ANSWER without OWN: may answer, but not change the state.
    answerer = mail_app.test_client()
    log_in(mail_app, answerer, "Fay", role="volunteer", grants={"Permissions": "read,answer"})
    assert answer(answerer, number, next_state="closed successful").status_code == 403
    assert outgoing(mail_app) == []
    assert answer(answerer, number).status_code == 302
    assert len(smtp.inbox.messages) == 1
    with new_session(mail_app) as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.state == State.OPEN.value  # answered: no longer new


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("to", "jane@example.net\r\nBcc: victim@example.org", "To"),
        ("to", "jane@example.net\nBcc: victim@example.org", "To"),
        ("to", "jane@example.net\rX: y", "To"),
        ("cc", "bob@example.net\r\nBcc: victim@example.org", "Cc"),
        ("subject", "Hello\r\nBcc: victim@example.org", "Subject"),
        ("subject", "Hello\nthere", "Subject"),
    ],
)
def test_line_break_in_a_header_field_is_a_form_error(mail_app, smtp, field, value, named):
    """CR/LF in To, Cc or Subject: the form again, saying which field (was a 500)."""
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, customer_mail()).number
    response = answer(client, number, **{field: value, "body": "My careful answer."})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"{named}: the field must be a single line" in page
    assert 'class="answer-form"' in page and "My careful answer." in page  # nothing lost
    assert outgoing(mail_app) == [] and smtp.inbox.messages == []
    data = {"to": "jane@example.net", "subject": "x", "body": "y", field: value, **CSRF}
    german = client.post(f"/tickets/{number}/answer?lang=de", data=data)
    label = {"To": "An", "Cc": "Cc", "Subject": "Betreff"}[named]
    assert f"{label}: Das Feld muss eine einzige Zeile sein" in german.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("to", "not an address", "To"), ("cc", "jane@example.net, nobody", "Cc"), ("to", "", "To")],
)
def test_recipient_fields_must_hold_addresses(mail_app, smtp, field, value, named):
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, customer_mail()).number
    response = answer(client, number, **{field: value})
    assert response.status_code == 400
    assert f"{named}: " in response.get_data(as_text=True)
    assert outgoing(mail_app) == []


def form_mail(reply_to: str | None, message_id: str = "<form@example.org>") -> bytes:
    """A mail sent through a web form (or a list) for a person named in Reply-To."""
    msg = EmailMessage()
    msg["From"] = "Wiki contact form <noreply@forms.example.org>"
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my photo"
    msg["Message-ID"] = message_id
    msg.set_content("I took the photo.\n\nJane")
    return msg.as_bytes()


def test_answer_goes_to_reply_to(mail_app, smtp):
    """From is the form, Reply-To the person: the answer reaches the person (issue 10)."""
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, form_mail("Jane Doe <jane@example.net>")).number

    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "<dt>Reply-To</dt>" in zoom and "Jane Doe &lt;jane@example.net&gt;" in zoom

    form = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    to = re.search(r'name="to" value="([^"]*)"', form)
    assert to is not None and unescape(to.group(1)) == "Jane Doe <jane@example.net>"
    assert re.search(r'name="cc" value="[^"]*"', form)  # editable before sending
    assert "asks for answers to Jane Doe &lt;jane@example.net&gt; (Reply-To)" in form
    assert "Dear Jane Doe" in client.get(
        f"/tickets/{number}/answer?template={dear_template(mail_app)}"
    ).get_data(as_text=True)
    german = client.get(f"/tickets/{number}/answer?lang=de").get_data(as_text=True)
    assert "bittet aber um Antwort an Jane Doe &lt;jane@example.net&gt; (Reply-To)" in german

    assert answer(client, number, to=unescape(to.group(1))).status_code == 302
    [(_, rcpt, msg)] = smtp.inbox.messages
    assert rcpt == ["jane@example.net"]
    assert msg["To"] == "Jane Doe <jane@example.net>"


def test_volunteer_may_change_the_recipients(mail_app, smtp):
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, form_mail("jane@example.net")).number
    response = answer(
        client, number, to="jane.doe@example.com", cc="noreply@forms.example.org, bob@example.net"
    )
    assert response.status_code == 302
    [(_, rcpt, msg)] = smtp.inbox.messages
    assert rcpt == ["jane.doe@example.com", "noreply@forms.example.org", "bob@example.net"]
    assert msg["Cc"] == "noreply@forms.example.org, bob@example.net"


def test_without_reply_to_the_answer_goes_to_from(mail_app, smtp):
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, form_mail(None)).number
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "<dt>Reply-To</dt>" not in zoom
    form = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert 'name="to" value="Wiki contact form &lt;noreply@forms.example.org&gt;"' in form
    assert "(Reply-To)" not in form


def test_reply_to_of_the_latest_customer_mail_counts(mail_app, smtp):
    client = mail_app.test_client()
    log_in(mail_app, client)
    number = store_message(mail_app, form_mail("old@example.net")).number
    later = EmailMessage()
    later["From"] = "Jane Doe <jane@example.net>"
    later["Reply-To"] = "Jane at work <jane@work.example>"
    later["To"] = "permissions@wikimedia.org"
    later["Subject"] = f"Re: [Ticket#{number}] Permission for my photo"
    later["Message-ID"] = "<later@example.net>"
    later.set_content("Please write to my work address.")
    assert store_message(mail_app, later.as_bytes()).number == number
    form = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert 'name="to" value="Jane at work &lt;jane@work.example&gt;"' in form


def dear_template(app: Flask) -> int:
    with new_session(app) as db:
        template = AnswerTemplate(name="Dear", subject="", body="Dear {customer_name},\n")
        db.add(template)
        db.commit()
        return template.id


def test_reply_to_found_after_long_headers(mail_app, smtp):
    """Headers longer than the start of the message read still give their Reply-To."""
    client = mail_app.test_client()
    log_in(mail_app, client)
    msg = EmailMessage()
    msg["From"] = "Mailing list <list@lists.example.org>"
    for n in range(40):  # a long trail of relays: about 100 KB that compress badly
        msg[f"X-Trace-{n}"] = os.urandom(1250).hex()
    msg["Reply-To"] = "Jane Doe <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my photo"
    msg.set_content("I took the photo.")
    number = store_message(mail_app, msg.as_bytes()).number
    form = client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert 'name="to" value="Jane Doe &lt;jane@example.net&gt;"' in form
