"""The foundation's journey, in Chromium, across every layer for real.

Mail in through ``wikibridge mail deliver``; a volunteer logs in over OAuth
(the sandbox provider in front of real MediaWiki), finds the ticket, links a
file page of the sandbox commons and previews the change and saves it; a separate worker
process edits the page as the volunteer through pywikibot; the wiki's own
``api.php`` shows the tag and the author.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from email.message import EmailMessage
from typing import Any

import mwclient
import pytest
import requests
from playwright.sync_api import expect

from tests.live import live_desk
from wikibridge_sandbox.seed import png_bytes

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def upload_fresh_file(sandbox: Any) -> str:
    """A new file on the sandbox commons, so every run tags an untagged page."""
    commons = sandbox.wikis["commons"]
    host = commons.url.removeprefix("http://")
    site = mwclient.Site(host, scheme="http", path="/", clients_useragent="wikibridge-tests")
    site.login(sandbox.bot.login_name, sandbox.bot.botpassword)
    name = f"Journey test {secrets.token_hex(4)}.png"
    color = tuple(secrets.randbelow(256) for _ in range(3))
    site.upload(
        io.BytesIO(png_bytes(color)),  # type: ignore[arg-type]
        filename=name,
        description=(
            "== Summary ==\nA journey test file.\n"
            "{{No permission since|day=1|month=11|year=2026}}\n"
        ),
        ignore=True,
    )
    return f"File:{name}"


def mail_for(file_title: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Photographer <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Permission for my photo"
    msg["Message-ID"] = f"<journey-{secrets.token_hex(6)}@example.net>"
    msg.set_content(
        f"Hello,\n\nI am the photographer of {file_title} and I release it under "
        "CC BY-SA 4.0.\n\nJane\n"
    )
    return msg.as_bytes()


def latest_revision(sandbox: Any, title: str) -> dict[str, Any]:
    """The page's latest revision, read from the real wiki's api.php."""
    response = requests.get(
        sandbox.wikis["commons"].api_url,
        params={
            "action": "query",
            "prop": "revisions",
            "titles": title,
            "rvprop": "content|user|comment",
            "rvslots": "main",
            "format": "json",
            "formatversion": "2",
        },
        timeout=10,
    )
    page = response.json()["query"]["pages"][0]
    revision: dict[str, Any] = page["revisions"][0]
    return revision


def log_in(page: Any, desk_url: str, username: str, password: str) -> None:
    page.goto(desk_url + "/")
    page.get_by_role("button", name="Log in with your wiki account").click()
    # The wiki's Special:UserLogin, then the provider's "Allow" (Extension:OAuth's way).
    page.fill("input[name=wpName]", username)
    page.fill("input[name=wpPassword]", password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Allow").click()


def test_mail_to_tagged_file(tmp_path, database_url, oauth_provider, page):
    sandbox = oauth_provider.sandbox
    jobs_url = None
    if database_url.startswith("postgresql"):
        jobs_url = "redis://127.0.0.1:6379/0"  # the scaled-out shape: Redis queue
    title = upload_fresh_file(sandbox)
    volunteer = next(v for v in sandbox.volunteers if v.username == "Alice")
    with live_desk(tmp_path, database_url, oauth_provider, jobs_url=jobs_url) as desk:
        delivered = desk.command("mail", "deliver", stdin=mail_for(title))
        assert delivered.returncode == 0, delivered.stderr.decode()
        number = delivered.stdout.decode().strip()

        log_in(page, desk.url, volunteer.username, volunteer.password)
        page.wait_for_url(re.compile(r".*/queues$"))
        assert page.locator(".who").inner_text() == "Alice"
        assert page.locator(".pagination").inner_text().strip() == "Tickets: 1-1 of 1 - Page: 1"

        page.get_by_role("link", name=number).click()
        info = page.locator(".ticket-info")
        expect(info.locator(".state")).to_have_text("new")
        assert info.locator(".priority").inner_text() == "3 normal"
        assert info.locator(".queue").inner_text() == "Permissions"
        assert re.fullmatch(r"\d+ minutes?", info.locator(".age").inner_text())
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", info.locator(".created").inner_text())
        article = page.locator("article.article").first
        assert article.locator(".from").inner_text() == "Jane Photographer <jane@example.net>"
        assert article.locator(".to").inner_text() == "permissions@wikimedia.org"
        assert article.locator(".subject").inner_text() == "Permission for my photo"
        assert "I release it under CC BY-SA 4.0" in article.locator(".body").inner_text()

        page.fill("textarea[name=page]", title)
        page.get_by_role("button", name="Link page").click()
        page.get_by_role("checkbox", name=title).check()
        page.get_by_role("button", name="Preview changes").click()
        assert "+{{PermissionTicket|id=" + number + "}}" in page.locator("table.diff").inner_text()
        page.get_by_role("button", name="Save 1 edit").click()

        status = page.locator(".action .status").first
        deadline = time.monotonic() + 60
        while status.inner_text() in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status.inner_text() == "done", page.locator(".actions").inner_text()

    revision = latest_revision(sandbox, title)
    assert f"{{{{PermissionTicket|id={number}}}}}" in revision["slots"]["main"]["content"]
    assert revision["user"] == "Alice"
    assert number in revision["comment"]
