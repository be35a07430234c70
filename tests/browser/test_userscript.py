"""The ticket-references user script, loaded the way a wiki user loads it: from common.js.

A file page on the sandbox Commons cites a confirmed old ticket, a ticket of
the Info queue and a number nobody knows; after the desk scanned the wiki,
Alice (logged in on the wiki, not on the desk) sees each permission box marked.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import live_desk
from tickets.numbers import format_number
from wikibridge_sandbox.seed import AdminSession

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_user_script_marks_each_permission_box(tmp_path, database_url, oauth_provider, page):
    sandbox: Any = oauth_provider.sandbox
    alice = next(v for v in sandbox.volunteers if v.username == "Alice")
    confirmed = format_number(dt.date(2011, 2, 3), "10", 101)
    info = format_number(dt.date(2011, 2, 3), "10", 102)
    unknown = format_number(dt.date(2011, 2, 3), "10", 103)
    title = f"File:Userscript {secrets.token_hex(4)}.jpg"
    with AdminSession(sandbox.commons.api_url) as admin:
        admin.login(sandbox.admin.username, sandbox.admin.password)
        admin.call(
            "POST",
            action="edit",
            title=title,
            text="".join(f"{{{{PermissionTicket|id={n}}}}}\n" for n in (confirmed, info, unknown)),
            token=admin.csrf_token(),
        )
    with live_desk(tmp_path, database_url, oauth_provider) as desk:
        csv = f"number,queue,confirmed\n{confirmed},Permissions,yes\n{info},Info,no\n"
        imported = desk.command("references", "known", "import", "-", stdin=csv.encode())
        assert imported.returncode == 0, imported.stderr.decode()
        scanned = desk.command("references", "scan", "--wiki", "commons")
        assert scanned.returncode == 0, scanned.stderr.decode()
        with AdminSession(sandbox.commons.api_url) as own:
            own.login(alice.username, alice.password)
            own.call(
                "POST",
                action="edit",
                title="User:Alice/common.js",
                text=f"mw.loader.load('{desk.url}/cited/userscript.js');\n",
                token=own.csrf_token(),
            )

        page.goto(sandbox.commons.url + "/index.php?title=Special:UserLogin")
        page.fill("input[name=wpName]", alice.username)
        page.fill("input[name=wpPassword]", alice.password)
        page.get_by_role("button", name="Log in").click()
        page.goto(sandbox.commons.url + "/wiki/" + title.replace(" ", "_"))
        marks = page.locator("[data-wikibridge-status]")
        expect(marks).to_have_count(3, timeout=20_000)
        assert marks.evaluate_all("els => els.map(e => e.dataset.wikibridgeStatus)") == [
            "confirmed",
            "not-permission",
            "unknown",
        ]
        expect(marks.first).to_have_text("Permission confirmed")

        # The public pages wiki users reach from there (axe-core checks each).
        for lang, words in (("en", "Permission confirmed"), ("de", "Freigabe bestätigt")):
            page.goto(f"{desk.url}/cited/tickets/{confirmed}?lang={lang}")
            expect(page.locator("table.cited")).to_contain_text(title)
            expect(page.locator(".tag").first).to_have_text(words)
            page.goto(f"{desk.url}/cited/page?wiki=commons&title={title}&lang={lang}")
            expect(page.locator("table.cited tbody tr")).to_have_count(3)
            page.goto(f"{desk.url}/cited?lang={lang}")
            expect(page.locator("form.cited-form")).to_have_count(2)
