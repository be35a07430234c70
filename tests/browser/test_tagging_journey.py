"""Issue 6's journey in Chromium: tag a batch of files, watch it, read the failures, undo.

A volunteer links every file of a category on the sandbox commons, previews
the changes, saves them; a separate worker edits as the volunteer; the page
shows the progress (also after a reload), explains the file it could not tag
(protected), and undoes the batch. The wiki's own api.php is the judge.
"""

from __future__ import annotations

import re
import secrets
import time
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.test_journey import latest_revision, log_in
from tests.live import live_desk
from wikibridge_sandbox.seed import AdminSession, upload_many

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def files_in_new_category(sandbox: Any, count: int) -> tuple[str, list[str]]:
    """``count`` untagged files in a category of their own; the last one protected."""
    prefix = f"Tagging journey {secrets.token_hex(3)}"
    category = f"Category:{prefix}"
    with AdminSession(sandbox.wikis["commons"].api_url) as admin:
        admin.login(sandbox.admin.username, sandbox.admin.password)
        text = (
            "== Summary ==\nA tagging journey file.\n"
            "{{No permission since|day=1|month=November|year=2026}}\n"
            f"[[{category}]]\n"
        )
        titles = upload_many(admin, prefix, count, text)
        admin.call(
            "POST",
            action="protect",
            title=titles[-1],
            protections="edit=sysop",
            expiry="infinite",
            reason="journey test",
            token=admin.csrf_token(),
        )
    return category, titles


def mail(category: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Photographer <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my museum photos"
    msg["Message-ID"] = f"<tagging-{secrets.token_hex(6)}@example.net>"
    msg.set_content(
        f"Hello,\n\nI am the photographer of all files in {category} and I release them "
        "under CC BY-SA 4.0.\n\nJane\n"
    )
    return msg.as_bytes()


def wait_for(predicate: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_tag_a_batch_watch_it_and_undo(tmp_path, database_url, oauth_provider, page):
    sandbox = oauth_provider.sandbox
    category, titles = files_in_new_category(sandbox, 5)
    protected = titles[-1]
    alice = next(v for v in sandbox.volunteers if v.username == "Alice")
    jobs_url = "redis://127.0.0.1:6379/0" if database_url.startswith("postgresql") else None
    with live_desk(tmp_path, database_url, oauth_provider, jobs_url=jobs_url) as desk:
        delivered = desk.command("mail", "deliver", stdin=mail(category))
        assert delivered.returncode == 0, delivered.stderr.decode()
        number = delivered.stdout.decode().strip()
        log_in(page, desk.url, alice.username, alice.password)
        page.wait_for_url(re.compile(r".*/queues$"))
        page.goto(f"{desk.url}/tickets/{number}")

        page.select_option(".bulk-link-form select[name=source]", "category")
        page.fill(".bulk-link-form input[name=name]", category)
        page.get_by_role("button", name="Link in bulk").click()
        expect(page.locator(".flash")).to_contain_text("Linked 5 of 5 files")
        states = page.locator("table.links .page-state")
        assert states.count() == 5
        assert all("no permission" in s for s in states.all_inner_texts())

        page.locator(".select-all").check()
        assert page.locator(".tag-form input[name=licence]").input_value() == "CC-BY-SA-4.0"
        page.get_by_role("button", name="Preview changes").click()
        expect(page.locator("section.preview")).to_have_count(5)
        diff = page.locator("table.diff").first.inner_text()
        assert f"+{{{{PermissionTicket|id={number}}}}}" in diff
        assert "-{{No permission since|day=1|month=November|year=2026}}" in diff
        assert "+{{Cc-by-sa-4.0}}" in diff
        page.get_by_role("button", name="Save 5 edits").click()
        # Reloading while the save's redirect is still under way detaches the page.
        page.wait_for_url(re.compile(r".*/tickets/\d+#batch-\d+$"))
        page.wait_for_load_state("load")

        batch = page.locator(".batch").first
        # The progress is kept by the desk, not by the page: a reload shows it too.
        page.reload()
        wait_for(lambda: batch.locator(".batch-status").inner_text() == "done")
        assert batch.locator("progress").get_attribute("value") == "5"
        counts = batch.locator(".counts").inner_text()
        assert "4 done" in counts and "1 failed" in counts
        failed = batch.locator(".action.status-failed")
        assert failed.count() == 1
        assert protected in failed.inner_text() and "protected" in failed.inner_text()

        for title in titles[:-1]:
            revision = latest_revision(sandbox, title)
            text = revision["slots"]["main"]["content"]
            assert f"{{{{PermissionTicket|id={number}}}}}" in text
            assert "{{Cc-by-sa-4.0}}" in text and "No permission since" not in text
            assert revision["user"] == "Alice" and number in revision["comment"]
        assert (
            "PermissionTicket"
            not in latest_revision(sandbox, protected)["slots"]["main"]["content"]
        )

        # Until the redirect lands, ".batch" would still find the tagging batch.
        with page.expect_navigation():
            page.get_by_role("button", name="Undo these edits").click()
        page.wait_for_load_state("load")
        undo = page.locator(".batch").first
        assert undo.locator("h3").inner_text().startswith("Undo")
        wait_for(lambda: undo.locator(".batch-status").inner_text() == "done")
        assert "4 done" in undo.locator(".counts").inner_text()
        for title in titles[:-1]:
            revision = latest_revision(sandbox, title)
            assert "PermissionTicket" not in revision["slots"]["main"]["content"]
            assert "No permission since" in revision["slots"]["main"]["content"]
            assert revision["user"] == "Alice" and "Undo" in revision["comment"]

    history = requests.get(
        sandbox.wikis["commons"].api_url,
        params={
            "action": "query",
            "list": "usercontribs",
            "ucuser": "Alice",
            "uclimit": "50",
            "format": "json",
            "formatversion": "2",
        },
        timeout=10,
    ).json()["query"]["usercontribs"]
    # Every file was edited exactly twice by Alice (tag, undo): nothing twice over.
    for title in titles[:-1]:
        assert sum(c["title"] == title for c in history) == 2
