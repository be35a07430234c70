"""A volunteer's day in Chromium, and an administrator granting a queue.

Log in, open the queue, take a ticket, answer with a template, see the mail
arrive at a real SMTP server, deliver the customer's reply, see the ticket
reopen, close it.  Then the head grants a volunteer a queue.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import threading
import time
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.browser.test_journey import log_in
from tests.live import free_port, live_desk
from tickets.models import AnswerTemplate

pytestmark = [pytest.mark.integration, pytest.mark.browser]


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        self.arrived.set()
        return "250 OK"


def customer_mail(msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Photographer <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my harbour photo"
    msg["Message-ID"] = msgid
    msg.set_content("I am the photographer and I release the photo under CC BY-SA 4.0.")
    return msg.as_bytes()


def wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_a_volunteers_day(tmp_path, database_url, oauth_provider, page):
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    sandbox = oauth_provider.sandbox
    carol = next(v for v in sandbox.volunteers if v.username == "Carol Example")
    env = {"WIKIBRIDGE_SMTP_PORT": str(smtp_port), "WIKIBRIDGE_SMTP_RETRY_SECONDS": "1"}
    try:
        with live_desk(tmp_path, database_url, oauth_provider, extra_env=env) as desk:
            assert (
                desk.command(
                    "volunteers", "grant", "Carol Example", "Permissions", "all"
                ).returncode
                == 0
            )
            engine = create_engine(database_url)
            with Session(engine) as db:
                db.add(
                    AnswerTemplate(
                        name="Permission received",
                        body="Dear {customer_name},\n\nthank you: ticket {ticket_number} has "
                        "your permission.\n\n{volunteer_name}",
                        created_by="test",
                    )
                )
                db.commit()
            engine.dispose()
            msgid = f"<day-{secrets.token_hex(6)}@example.net>"
            delivered = desk.command("mail", "deliver", stdin=customer_mail(msgid))
            number = delivered.stdout.decode().strip()

            log_in(page, desk.url, carol.username, carol.password)
            page.wait_for_url(re.compile(r".*/queues$"))
            page.get_by_role("link", name="Permissions", exact=True).click()
            expect(page.locator(".pagination")).to_contain_text("Tickets: 1-1 of 1")
            page.get_by_role("link", name=number).click()
            page.get_by_role("button", name="Take").click()
            expect(page.locator(".owner")).to_contain_text("(locked)")

            page.get_by_role("link", name="Answer").click()
            page.get_by_role("link", name="Permission received").click()
            assert "Dear Jane Photographer" in page.locator("textarea[name=body]").input_value()
            page.get_by_role("button", name="Send", exact=True).click()
            assert inbox.arrived.wait(30), "the answer never reached the SMTP server"
            sent = email.message_from_bytes(inbox.messages[-1], policy=email.policy.default)
            assert f"[Ticket#{number}]" in str(sent["Subject"])
            assert sent["In-Reply-To"] == msgid
            assert "jane@example.net" in str(sent["To"])

            # The customer closes the loop; the volunteer had closed the ticket.
            page.select_option("select[name=state]", "closed successful")
            page.get_by_role("button", name="Set state").click()
            expect(page.locator(".ticket-info .state")).to_have_text("closed successful")
            reply = EmailMessage()
            reply["From"] = "jane@example.net"
            reply["To"] = "permissions@wikimedia.org"
            reply["Subject"] = f"Re: {sent['Subject']}"
            reply["Message-ID"] = f"<reply-{secrets.token_hex(6)}@example.net>"
            reply["In-Reply-To"] = str(sent["Message-ID"])
            reply.set_content("Thank you! One more photo follows.")
            again = desk.command("mail", "deliver", stdin=reply.as_bytes())
            assert again.stdout.decode().strip() == number
            page.reload()
            assert page.locator(".ticket-info .state").inner_text() == "open"
            assert "One more photo follows" in page.locator("article.article").last.inner_text()
            page.select_option("select[name=state]", "closed successful")
            page.get_by_role("button", name="Set state").click()
            expect(page.locator(".ticket-info .state")).to_have_text("closed successful")
    finally:
        smtp.stop()


def test_the_head_grants_a_queue(tmp_path, database_url, oauth_provider, page):
    sandbox = oauth_provider.sandbox
    alice = next(v for v in sandbox.volunteers if v.username == "Alice")
    with live_desk(tmp_path, database_url, oauth_provider) as desk:
        log_in(page, desk.url, alice.username, alice.password)
        page.wait_for_url(re.compile(r".*/queues$"))
        page.get_by_role("link", name="Volunteers").click()
        page.fill("input[name=username]", "Bob")
        page.select_option("select[name=queue]", "Info")
        page.get_by_role("button", name="Grant").click()
        expect(page.locator(".flash")).to_contain_text("Bob now has")
        listed = desk.command("volunteers", "list").stdout.decode()
        assert re.search(r"^Bob\tvolunteer\tInfo=answer,note,read$", listed, re.M), listed
        wait_for(lambda: "Bob" in page.locator(".volunteers").inner_text())
