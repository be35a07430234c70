"""Every kind of page a volunteer and an administrator see, in English and German.

axe-core runs on each (tests/browser/conftest.py) and fails the test on a
serious or critical violation; here each page is also checked to be in the
language asked for (``<html lang>``, and the German text is not the English).
"""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.browser.conftest import AxeWatch
from tests.browser.test_journey import log_in, upload_fresh_file
from tests.live import live_desk
from tickets.access import volunteer_named
from tickets.models import AnswerTemplate, Article, News
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings
from tickets.tickets import record
from tickets.training import SampleFields, create_sample, leave_feedback, start_training
from tickets.wiki_writes import WikiWrite

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LANGUAGES = ("en", "de")


def html_mail() -> bytes:
    """A customer's mail with an HTML part (the zoom shows it in a sandboxed frame)."""
    msg = EmailMessage()
    msg["From"] = "Jane Photographer <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my photo"
    msg["Message-ID"] = f"<every-page-{secrets.token_hex(6)}@example.net>"
    msg.set_content("I am the photographer and release the photo under CC BY-SA 4.0.")
    msg.add_alternative(
        "<p>I am the photographer and release the photo under <b>CC BY-SA 4.0</b>.</p>",
        subtype="html",
    )
    msg.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="a.pdf")
    return msg.as_bytes()


class Visits:
    """Opens desk pages in one language after the other; remembers what they say."""

    def __init__(self, page: Any, base: str, axe: AxeWatch) -> None:
        self.page = page
        self.base = base
        self.axe = axe
        self.texts: dict[tuple[str, str], str] = {}

    def open(self, path: str, lang: str, status: int = 200) -> None:
        """Go to ``path`` in ``lang``; check the status, the language and that axe ran."""
        url = f"{self.base}{path}{'&' if '?' in path else '?'}lang={lang}"
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response)
        self.seen(path, lang)

    def seen(self, name: str, lang: str) -> None:
        """Check the page the browser shows now, reached some way, as ``name``."""
        assert self.page.locator("html").get_attribute("lang") == lang, name
        self.axe.ensure_checked(self.page)
        assert self.page.url in self.axe.checked, f"axe could not check {self.page.url}"
        self.texts[(name, lang)] = self.page.locator("body").inner_text()

    def untranslated(self) -> list[str]:
        """Pages whose German text is the English one, word for word."""
        names = {name for name, _ in self.texts}
        return sorted(n for n in names if self.texts[(n, "en")] == self.texts[(n, "de")])


def add_news_and_template(database_url: str) -> None:
    """Something in the lists of the login page and the admin pages."""
    engine = create_engine(database_url)
    with Session(engine) as db:
        db.add(News(title="Desk moved", body="The desk has moved.", created_by="test"))
        db.add(
            AnswerTemplate(
                name="Permission received",
                body="Dear {customer_name},\n\nthank you.\n\n{volunteer_name}",
                created_by="test",
            )
        )
        # A failed page write: the admin page shows it with its buttons.
        db.add(
            WikiWrite(
                wiki="meta",
                title="VRT/Applications",
                op="append-to-section",
                section="Application: Dave",
                text="Accepted.",
                summary="Decision",
                requested_by="Alice",
                as_bot=True,
                purpose="application:1",
                status="failed",
                attempts=1,
                message="the page is protected, so the bot may not edit it",
            )
        )
        db.commit()
    engine.dispose()


def add_training(database_url: str, username: str) -> str:
    """Samples, and ``username`` in training with Info held; one answered practice ticket.

    Returns the number of the practice ticket whose answer has feedback.
    """
    engine = create_engine(database_url)
    settings = RecruitingSettings(practice_tickets=2, training_reviews_required=2)
    with Session(engine) as db:
        for title, language in (("Photo", "en"), ("Frage", "de")):
            create_sample(
                db,
                SampleFields(
                    title=title,
                    from_name="Sam Sample",
                    from_address="sam@example.org",
                    subject=f"{title} question",
                    body=f"Hello, a {title} question.",
                    language=language,
                ),
                "test",
            )
        info = queue_by_name(db, "Info")
        assert info is not None
        trainee = volunteer_named(db, username)
        first, _ = start_training(db, trainee, [info], "test", settings)
        answer = Article(
            ticket=first,
            sender_type="agent",
            from_addr="Wikimedia VRT <training@wikimedia.org>",
            to_addr="sam@example.org",
            subject="Re: Photo question",
            body="Thank you for asking.",
            send_status="practice",
        )
        db.add(answer)
        db.flush()
        record(db, first, "answer", username, article_id=answer.id, to="sam@example.org")
        leave_feedback(db, answer, "test", "Well put; cite the licence too.", settings)
        db.commit()
        number = first.number
    engine.dispose()
    return number


def add_application(database_url: str) -> int:
    """An application with a note and a vote, for the administrators' pages."""
    from tickets.access import volunteer_named
    from tickets.applications import ApplicationForm, add_note, submit, vote

    engine = create_engine(database_url)
    with Session(engine) as db:
        volunteer = volunteer_named(db, "Page Applicant")
        volunteer.role = "applicant"
        application = submit(
            db,
            volunteer,
            ApplicationForm(
                languages=[{"code": "de", "level": "native"}],
                queues=["Info"],
                motivation="I answer readers' questions on the wiki already.",
                links=["https://meta.wikimedia.org/wiki/User:Page_Applicant"],
                terms_version="1",
                terms_text="Keep it confidential.",
                position="Chapter staff",
                position_confirmer="The chapter office",
            ),
            offered=["Info"],
            facts={"username": "Page Applicant", "editcount": 900},
        )
        add_note(db, application, "Alice", "Known from the help desk.")
        vote(db, application, "Alice", "support", "Good record.")
        db.commit()
        found = application.id
    engine.dispose()
    return found


def preview(page: Any, title: str) -> None:
    """Preview tagging ``title`` (linked already): the wiki preview page, no edit."""
    page.locator(f'input[name=link][aria-label="{title}"]').check()
    page.locator("form.tag-form fieldset button[type=submit]").click()
    expect(page.locator("table.diff")).to_be_visible()


def test_every_page_passes_axe_in_english_and_german(
    tmp_path, database_url, oauth_provider, page, axe_watch
):
    sandbox = oauth_provider.sandbox
    alice = next(v for v in sandbox.volunteers if v.username == "Alice")
    carol = next(v for v in sandbox.volunteers if v.username == "Carol Example")
    bob = next(v for v in sandbox.volunteers if v.username == "Bob")
    title = upload_fresh_file(sandbox)
    with live_desk(tmp_path, database_url, oauth_provider) as desk:
        assert (
            desk.command("volunteers", "grant", carol.username, "Permissions", "all").returncode
            == 0
        )
        delivered = desk.command("mail", "deliver", stdin=html_mail())
        assert delivered.returncode == 0, delivered.stderr.decode()
        number = delivered.stdout.decode().strip()
        add_news_and_template(database_url)
        practice = add_training(database_url, carol.username)
        application = add_application(database_url)
        visits = Visits(page, desk.url, axe_watch)

        for lang in LANGUAGES:
            visits.open("/login", lang)
            visits.open("/volunteer", lang)
        # The rest in the language of each address; the login itself in English.
        page.goto(desk.url + "/?lang=en")
        log_in(page, desk.url, alice.username, alice.password)
        page.wait_for_url(re.compile(r".*/queues$"))
        page.goto(f"{desk.url}/tickets/{number}")
        page.fill("textarea[name=page]", title)
        page.locator("form.link-form button[type=submit]").click()
        expect(page.locator(f'input[name=link][aria-label="{title}"]')).to_be_attached()

        for lang in LANGUAGES:
            for path in (
                "/queues",
                "/queues/Permissions",
                f"/tickets/{number}",
                f"/tickets/{number}/answer",
                f"/tickets/{number}/note",
                "/search?q=photographer",
                "/admin/volunteers",
                "/admin/queues",
                "/admin/templates",
                "/admin/news",
                "/admin/training",
                f"/tickets/{practice}",
                "/admin/wiki-writes",
                "/admin/applications",
                f"/admin/applications/{application}",
                "/admin/recruiting",
                "/admin/inactivity",
                "/admin/access-log",
            ):
                visits.open(path, lang)
            visits.open("/tickets/1000000000000001", lang, status=404)
            visits.open(f"/tickets/{number}", lang)
            page.locator('a[href*="headers="]').first.click()
            expect(page.locator("pre.headers")).to_be_visible()
            visits.seen("zoom with headers", lang)
            preview(page, title)
            visits.seen("wiki preview", lang)

        # A volunteer: the queue as they see it, and an administrator's page refused.
        page.locator("form.logout button").click()
        # The provider remembers Alice: a fresh login, as on another computer.
        page.context.clear_cookies()
        page.goto(desk.url + "/?lang=en")
        log_in(page, desk.url, carol.username, carol.password)
        page.wait_for_url(re.compile(r".*/queues$"))
        for lang in LANGUAGES:
            visits.open("/queues/Permissions", lang)
            visits.open(f"/tickets/{number}", lang)
            # The trainee: their practice ticket with feedback, their answer form.
            visits.open(f"/tickets/{practice}", lang)
            visits.open(f"/tickets/{practice}/answer", lang)
            visits.open("/admin/volunteers", lang, status=403)

        # Someone new: an applicant, who gets the form (or the rules unmet) and
        # nothing of the desk.
        page.locator("form.logout button").click()
        page.context.clear_cookies()
        page.goto(desk.url + "/?lang=en")
        log_in(page, desk.url, bob.username, bob.password)
        page.wait_for_url(re.compile(r".*/apply$"))
        for lang in LANGUAGES:
            visits.open("/apply", lang)
            visits.open("/apply/status", lang)
            visits.open("/volunteer", lang)
            visits.open("/queues", lang, status=403)

    untranslated = visits.untranslated()
    assert not untranslated, "\n\n".join(f"{n}: {visits.texts[(n, 'de')]}" for n in untranslated)
