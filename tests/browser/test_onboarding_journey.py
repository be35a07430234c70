"""Recruiting end to end, in Chromium, on the sandbox Meta.

A brand-new wiki account logs in at the desk, is told which rule it does
not meet, makes its edits, applies; its section appears on Meta (read
through Meta's own ``api.php``), someone comments there; the head reviews,
votes and approves; the worker posts the decision, the volunteer list line
and the welcome on Meta as the head.  The new volunteer then sees only
Training, answers a practice ticket (nothing reaches the SMTP server), reads
the head's feedback, and the queue held for that feedback opens.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.browser.test_journey import log_in
from tests.browser.test_volunteer_day import Inbox
from tests.live import free_port, live_desk
from tickets.models import Article, Ticket
from wikibridge_sandbox.seed import AdminSession

pytestmark = [pytest.mark.integration, pytest.mark.browser]

T = TypeVar("T")

MOTIVATION = "I like answering readers; secret-motivation-"
SAMPLE_SUBJECT = "Where is the photo of the lighthouse?"


def wait_for(probe: Callable[[], T | None], what: str, seconds: float = 90) -> T:
    """Poll ``probe`` until it returns something truthy (bounded); that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def other_page(browser: Any, axe_watch: Any) -> Iterator[Any]:
    """A second browser context (another person), its pages checked by the same axe watch."""
    context = browser.new_context()
    context.on("page", axe_watch.watch)
    page = context.new_page()
    if page not in axe_watch.pages:
        axe_watch.watch(page)
    page.set_default_timeout(20_000)
    yield page
    context.close()


# --- Meta through its own api.php ------------------------------------------------


def meta_get(api_url: str, **params: Any) -> dict[str, Any]:
    response = requests.get(
        api_url,
        params={"format": "json", "formatversion": "2", **params},
        timeout=30,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def latest(api_url: str, title: str) -> dict[str, Any] | None:
    """The latest revision of ``title`` (content, user, comment, revid), or None."""
    page = meta_get(
        api_url,
        action="query",
        prop="revisions",
        titles=title,
        rvprop="ids|content|user|comment",
        rvslots="main",
    )["query"]["pages"][0]
    if page.get("missing"):
        return None
    revision: dict[str, Any] = page["revisions"][0]
    revision["content"] = revision["slots"]["main"]["content"]
    return revision


def revisions_since(api_url: str, title: str, after: int) -> list[dict[str, Any]]:
    """The revisions of ``title`` newer than revision ``after``, oldest first."""
    page = meta_get(
        api_url,
        action="query",
        prop="revisions",
        titles=title,
        rvprop="ids|user|comment",
        rvlimit="50",
        rvdir="older",
    )["query"]["pages"][0]
    found = [r for r in page.get("revisions", []) if r["revid"] > after]
    return list(reversed(found))


def sections(api_url: str, title: str) -> list[dict[str, Any]]:
    """The sections of ``title`` (none while the page does not exist)."""
    parsed = meta_get(api_url, action="parse", page=title, prop="sections")
    found: list[dict[str, Any]] = parsed.get("parse", {}).get("sections", [])
    return found


def section_text(api_url: str, title: str, heading: str) -> str | None:
    """The wikitext of the (last) section headed ``heading``, or None."""
    numbers = [s["index"] for s in sections(api_url, title) if s["line"] == heading]
    if not numbers:
        return None
    page = meta_get(
        api_url,
        action="query",
        prop="revisions",
        titles=title,
        rvprop="content",
        rvslots="main",
        rvsection=numbers[-1],
    )["query"]["pages"][0]
    text: str = page["revisions"][0]["slots"]["main"]["content"]
    return text


def section_holding(api_url: str, title: str, heading: str, words: str) -> str | None:
    """The section's wikitext once it holds ``words``."""
    text = section_text(api_url, title, heading)
    return text if text and words in text else None


def section_number(api_url: str, title: str, heading: str) -> str:
    return [s["index"] for s in sections(api_url, title) if s["line"] == heading][-1]


def newer(api_url: str, title: str, after: int) -> dict[str, Any] | None:
    """The latest revision of ``title`` if it is newer than revision ``after``."""
    revision = latest(api_url, title)
    return revision if revision and revision["revid"] > after else None


def revid_of(api_url: str, title: str) -> int:
    revision = latest(api_url, title)
    return int(revision["revid"]) if revision else 0


def create_account(sandbox: Any) -> tuple[str, str]:
    """A brand-new account on the sandbox Meta (made by its admin); name and password."""
    meta = sandbox.wikis["meta"]
    name = f"Newcomer {secrets.token_hex(4)}"
    password = "Journey-" + secrets.token_urlsafe(12)
    with AdminSession(meta.api_url) as api:
        api.login(sandbox.admin.username, sandbox.admin.password)
        token = api.call("GET", action="query", meta="tokens", type="createaccount")
        result = api.call(
            "POST",
            action="createaccount",
            username=name,
            password=password,
            retype=password,
            reason="onboarding journey test",
            createreturnurl=meta.url + "/",
            createtoken=token["query"]["tokens"]["createaccounttoken"],
        )["createaccount"]
    assert result["status"] == "PASS", result
    return name, password


def edit_as(sandbox: Any, name: str, password: str, edits: int) -> None:
    """``edits`` edits on Meta by the account itself, logged in on the wiki's api.php."""
    meta = sandbox.wikis["meta"]
    with AdminSession(meta.api_url) as own:
        own.login(name, password)
        for n in range(edits):
            own.call(
                "POST",
                action="edit",
                title=f"User:{name}/sandbox",
                text=f"Practising edit {n + 1}.",
                summary=f"edit {n + 1}",
                token=own.csrf_token(),
            )


def comment_on_section(sandbox: Any, title: str, heading: str, text: str) -> None:
    """A third person (the sandbox admin) signs a comment in the section on Meta."""
    meta = sandbox.wikis["meta"]
    number = section_number(meta.api_url, title, heading)
    with AdminSession(meta.api_url) as api:
        api.login(sandbox.admin.username, sandbox.admin.password)
        api.call(
            "POST",
            action="edit",
            title=title,
            section=number,
            appendtext=f"\n:{text} ~~~~",
            summary="comment",
            token=api.csrf_token(),
        )


# --- the journey ----------------------------------------------------------------


def set_recruiting_rules(page: Any, desk_url: str) -> None:
    """The head saves rules a new account can meet: 3 edits, no age, no mail."""
    page.goto(desk_url + "/admin/recruiting")
    page.fill(
        "textarea[name=wanted]",
        "Info | en, de | Questions from readers\n"
        "Permissions | en | Permission statements for files",
    )
    page.fill("input[name=min_account_days]", "0")
    page.fill("input[name=min_edits]", "3")
    page.uncheck("input[name=confirmed_email]")
    page.fill("input[name=groups]", "")
    page.fill("input[name=public_page]", "VRT/Volunteer with us")
    page.fill("input[name=applications_page]", "VRT/Applications")
    page.fill("input[name=volunteer_list_page]", "VRT/Volunteers")
    page.select_option("select[name=meta_wiki]", "meta")
    page.select_option("select[name=edit_as]", "admin")
    page.fill("input[name=practice_tickets]", "1")
    page.fill("input[name=training_reviews_required]", "1")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator(".flash")).to_contain_text("Saved as version")


def add_training_sample(page: Any, desk_url: str) -> None:
    page.goto(desk_url + "/admin/training")
    form = page.locator("form.sample-form")
    form.locator("input[name=title]").fill("Lighthouse question")
    form.locator("input[name=from_name]").fill("Rita Reader")
    form.locator("input[name=from_address]").fill("rita@example.org")
    form.locator("input[name=subject]").fill(SAMPLE_SUBJECT)
    form.locator("input[name=language]").fill("en")
    form.locator("textarea[name=body]").fill("Hello, where can I find the lighthouse photo?")
    form.get_by_role("button", name="Create").click()
    expect(page.locator(".flash")).to_contain_text("Lighthouse question")


def queue_names(page: Any) -> list[str]:
    """The top queues in the volunteer's queue tree (subqueues come with their queue)."""
    links = page.locator("aside.tree li.depth-0 a").all_inner_texts()
    return sorted(name.strip() for name in links)


def subqueue_parents(page: Any) -> set[str]:
    """The queues whose subqueues the tree lists."""
    hrefs = page.locator("aside.tree li[class^=depth-] a").evaluate_all(
        "links => links.map(a => decodeURIComponent(a.getAttribute('href')))"
    )
    return {h.removeprefix("/queues/").split("::")[0] for h in hrefs if "::" in h}


def test_onboarding_journey(tmp_path, database_url, oauth_provider, page, other_page):
    sandbox = oauth_provider.sandbox
    meta_api = sandbox.wikis["meta"].api_url
    alice = next(v for v in sandbox.volunteers if v.username == "Alice")
    name, password = create_account(sandbox)
    motivation = MOTIVATION + secrets.token_hex(4)
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {"WIKIBRIDGE_SMTP_PORT": str(smtp_port), "WIKIBRIDGE_SMTP_RETRY_SECONDS": "1"}
    head = other_page
    # On PostgreSQL, the scaled-out shape: jobs through Redis.
    jobs_url = "redis://127.0.0.1:6379/0" if database_url.startswith("postgresql") else None
    try:
        with live_desk(
            tmp_path, database_url, oauth_provider, jobs_url=jobs_url, extra_env=env
        ) as desk:
            # 2. The head sets rules a new account can meet, and a training sample.
            log_in(head, desk.url, alice.username, alice.password)
            head.wait_for_url(re.compile(r".*/queues$"))
            public_before = revid_of(meta_api, "VRT/Volunteer with us")
            set_recruiting_rules(head, desk.url)
            public = wait_for(
                lambda: newer(meta_api, "VRT/Volunteer with us", public_before),
                "the public page on Meta",
            )
            assert "* '''<nowiki>Info</nowiki>''' (<nowiki>en, de</nowiki>)" in public["content"]
            assert (
                "* '''<nowiki>Permissions</nowiki>''' (<nowiki>en</nowiki>)" in (public["content"])
            )
            assert "at least 3 edits" in public["content"]
            assert "confirmed e-mail" not in public["content"]
            assert public["user"] == "Alice"
            add_training_sample(head, desk.url)

            apps_at_start = revid_of(meta_api, "VRT/Applications")

            # 3. The new account follows the link on Meta, logs in: not eligible yet.
            link = re.search(r"\[(\S+) Apply at the help desk\]", public["content"])
            assert link is not None and link.group(1) == desk.url + "/volunteer"
            page.goto(link.group(1))
            expect(page.locator("ul.rules")).to_contain_text("at least 3 edits")
            expect(page.locator("ul.wanted")).to_contain_text("Info (en, de)")
            page.get_by_role("button", name="Log in with your wiki account to apply").click()
            page.fill("input[name=wpName]", name)
            page.fill("input[name=wpPassword]", password)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("button", name="Allow").click()
            page.wait_for_url(re.compile(r".*/apply$"))
            unmet = page.locator("ul.unmet")
            expect(unmet).to_have_text("Your account needs at least 3 edits: 3 more to go.")
            assert page.locator("form.apply-form").count() == 0

            # 8. Before approval the desk stays shut, and says so.
            page.goto(desk.url + "/queues/Info")
            expect(page.locator("h1")).to_have_text(
                "The desk opens when your application is approved"
            )

            edit_as(sandbox, name, password, 3)
            page.goto(desk.url + "/apply")
            wait_for(
                lambda: page.reload() or page.locator("form.apply-form").count(),
                "the form to open after the edits",
                seconds=30,
            )
            form = page.locator("form.apply-form")
            form.locator("input[name=language_0]").fill("en")
            form.locator("select[name=level_0]").select_option("fluent")
            form.locator("input[name=language_1]").fill("de")
            form.locator("select[name=level_1]").select_option("native")
            form.get_by_role("checkbox", name=re.compile(r"^\s*Info")).check()
            form.locator("textarea[name=motivation]").fill(motivation)
            form.locator("textarea[name=links]").fill(
                f"https://meta.example.org/wiki/User:{name.replace(' ', '_')}"
            )
            form.get_by_role("checkbox", name="I accept these terms.").check()
            form.get_by_role("button", name="Send the application").click()
            page.wait_for_url(re.compile(r".*/apply/status$"))
            expect(page.locator(".flash")).to_contain_text("Thank you!")

            # 4. The public part of the application appears on Meta.
            heading = wait_for(
                lambda: next(
                    (
                        s["line"]
                        for s in sections(meta_api, "VRT/Applications")
                        if s["line"].startswith(f"User:{name} (")
                    ),
                    None,
                ),
                "the application's section on Meta",
            )
            section = section_text(meta_api, "VRT/Applications", heading)
            assert section is not None
            assert f"[[User:{name}|{name}]]" in section
            assert "en (fluent), de (native)" in section
            assert "Info" in section
            assert "Permissions" not in section
            whole = latest(meta_api, "VRT/Applications")
            assert whole is not None
            assert motivation not in whole["content"]
            assert "meta.example.org" not in whole["content"]
            # The section is the bot's (a bot is configured), not the applicant's.
            opened = revisions_since(meta_api, "VRT/Applications", apps_at_start)
            assert [r["user"] for r in opened] == [sandbox.bot.username]
            assert opened[0]["comment"].startswith(f"Application of {name} (wikibridge write #")
            comment_on_section(
                sandbox, "VRT/Applications", heading, "Knows the reader questions well."
            )

            # 5. The head reviews, votes and approves.
            head.goto(desk.url + "/admin/applications")
            head.get_by_role("link", name=name).first.click()
            expect(head.locator("h1")).to_contain_text(name)
            record = head.locator("table.record")
            expect(record.locator("tr", has_text="Edits")).to_contain_text("3")
            expect(head.locator("ul.comments")).to_contain_text("Knows the reader questions well.")
            expect(head.locator("ul.comments")).to_contain_text(sandbox.admin.username)
            expect(head.locator(".motivation")).to_have_text(motivation)
            head.fill("textarea[name=text]", "Checked the edits; fine.")
            head.get_by_role("button", name="Add note").click()
            expect(head.locator("ul.notes")).to_contain_text("Checked the edits; fine.")
            head.get_by_role("radio", name="support").check()
            head.get_by_role("button", name="Vote").click()
            expect(head.locator("p.tally")).to_contain_text("Support: 1")
            list_before = revid_of(meta_api, "VRT/Volunteers")
            apps_before = revid_of(meta_api, "VRT/Applications")
            talk = f"User talk:{name}"
            head.fill("form.decide-form textarea[name=reason]", "Good edits, clear answers.")
            head.get_by_role("button", name="Approve").click()
            expect(head.locator(".flash")).to_have_text(
                f"{name} is on the team now, approved for Info."
            )
            expect(head.locator("dd.status")).to_have_text("approved")

            # The worker posts the decision, the list line and the welcome, as Alice.
            wait_for(lambda: latest(meta_api, talk), "the welcome on the talk page")
            decided = wait_for(
                lambda: section_holding(meta_api, "VRT/Applications", heading, "'''Approved'''"),
                "the decision in the section",
            )
            assert (
                "'''Approved''' by [[User:Alice|Alice]] for Info: Good edits, clear answers."
                in decided
            )
            assert "Knows the reader questions well." in decided
            volunteers = wait_for(
                lambda: newer(meta_api, "VRT/Volunteers", list_before),
                "the volunteer list",
            )
            assert f"* [[User:{name}|{name}]] — Info" in volunteers["content"].splitlines()
            welcome = latest(meta_api, talk)
            assert welcome is not None
            assert "== Welcome to the volunteer response team ==" in welcome["content"]
            assert (
                f"Welcome to the volunteer response team, {name}! You are approved for Info."
                in (welcome["content"])
            )
            assert "[[User:Alice|Alice]]" in welcome["content"]  # the signature
            assert welcome["user"] == "Alice"
            # The desk's summaries name the write request they come from.
            assert welcome["comment"].startswith("Welcome to the volunteer response team (")
            assert "wikibridge write #" in welcome["comment"]
            assert volunteers["user"] == "Alice"
            assert volunteers["comment"].startswith(f"New volunteer: {name} (wikibridge write #")
            apps = revisions_since(meta_api, "VRT/Applications", apps_before)
            assert [r["user"] for r in apps] == ["Alice"]
            assert apps[0]["comment"].startswith(f"Application of {name}: approved (wikibridge")
            assert desk.url in welcome["content"]

            # The desk shows its writes done; its own decision post is not a comment.
            head.reload()
            writes = head.locator("table.wiki-writes tr.wiki-write")
            expect(writes).to_have_count(4)
            expect(head.locator("table.wiki-writes tr.status-done")).to_have_count(4)
            comments = head.locator("ul.comments li")
            expect(comments).to_have_count(1)
            expect(comments).to_contain_text("Knows the reader questions well.")

            # The applicant's own page says so too.
            page.goto(desk.url + "/apply/status")
            expect(page.locator("dd.status")).to_have_text("approved")
            expect(page.locator("dd.decision")).to_contain_text("Good edits, clear answers.")

            # 6. The new volunteer sees Training only, answers, and nothing is mailed.
            page.goto(desk.url + "/queues")
            assert queue_names(page) == ["Training"]
            assert subqueue_parents(page) <= {"Training"}
            expect(page.locator(".held-note")).to_have_text(
                "Your queues Info open after 1 reviewed training answer (0 so far)."
            )
            page.get_by_role("link", name="Training", exact=True).click()
            row = page.locator("table.tickets tbody tr", has_text=SAMPLE_SUBJECT)
            expect(row).to_have_count(1)
            number = row.locator("a").first.inner_text().strip()
            row.get_by_role("link", name=number).click()
            banner = page.locator(".training-banner")
            expect(banner).to_contain_text("nothing on this ticket is ever mailed")
            page.get_by_role("link", name="Answer").click()
            page.fill("textarea[name=body]", "Dear Rita, the photo is in the lighthouse category.")
            page.get_by_role("button", name="Send", exact=True).click()
            expect(page.locator(".status-practice")).to_contain_text("not sent (training)")
            engine = create_engine(database_url)
            try:
                with Session(engine) as db:
                    ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
                    answers = [
                        a
                        for a in db.scalars(
                            select(Article).where(
                                Article.ticket_id == ticket.id, Article.sender_type == "agent"
                            )
                        )
                    ]
                assert [a.send_status for a in answers] == ["practice"]
            finally:
                engine.dispose()
            # The worker's periodic sweep runs each minute; give it the chance.
            assert not inbox.arrived.wait(70), "a training answer reached the SMTP server"
            assert inbox.messages == []

            # 7. The head leaves feedback; the volunteer reads it, and Info opens.
            head.goto(desk.url + "/admin/training")
            head.locator("table.training-awaiting").get_by_role("link", name=number).click()
            head.fill("form.feedback-form textarea[name=text]", "Good start: link the category.")
            head.get_by_role("button", name="Leave feedback").click()
            expect(head.locator(".flash").first).to_contain_text("Feedback saved")
            expect(head.locator(".flash").last).to_contain_text("Info now open")
            page.reload()
            expect(page.locator(".feedback-text")).to_have_text("Good start: link the category.")
            expect(page.locator(".feedback-by")).to_contain_text("Alice")
            assert page.locator("form.feedback-form").count() == 0
            # A fresh login lands in the desk now, not on the form.
            page.context.clear_cookies()
            log_in(page, desk.url, name, password)
            page.wait_for_url(re.compile(r".*/queues$"))
            assert queue_names(page) == ["Info", "Training"]
            assert subqueue_parents(page) <= {"Info", "Training"}
            assert page.locator(".held-note").count() == 0
            assert inbox.messages == []
    finally:
        smtp.stop()
