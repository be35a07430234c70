"""Stored XSS through every field of a mail, on every page that shows it.

One hostile message carries a payload in each place a sender controls: the
From display name, To, Cc, Subject, the text and HTML bodies, attachment
names, Content-Type parameters, RFC 2047 encoded words and the Message-ID.
It is delivered, and every page that shows mail data is rendered; none may
carry anything a browser would run (``tests/security/scan.py``), beyond the
desk's own scripts from ``/static/``.
"""

from __future__ import annotations

import base64
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tickets.models import Article
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

from ..helpers import log_in
from .scan import active_content

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(2)>",
    "javascript:alert(3)",
    "<a href=javascript:alert(4)>x</a>",
    "<iframe srcdoc='<script>alert(5)</script>'></iframe>",
]
PAYLOAD = "canary " + " ".join(PAYLOADS)


def _encoded(text: str) -> str:
    """``text`` as an RFC 2047 encoded word (base64, UTF-8)."""
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


HTML_BODY = """<html><head><meta http-equiv="refresh" content="0;url=javascript:alert(6)">
<base href="javascript:alert(7)//"><script>alert(8)</script>
<style>body{background:url(javascript:alert(9))}</style></head>
<body onload="alert(10)"><p>canary</p>
<img src=x onerror="alert(11)"><a href="javascript:alert(12)">a</a>
<a href="  jav&#x09;ascript:alert(13)">b</a>
<a href="data:text/html,<script>alert(14)</script>">c</a>
<svg><script>alert(15)</script></svg><iframe src="javascript:alert(16)"></iframe>
<form action="javascript:alert(17)"><button formaction="javascript:alert(18)">go</button></form>
<object data="javascript:alert(19)"></object><embed src="javascript:alert(20)">
<math><a xlink:href="javascript:alert(21)">m</a></math>
<div style="background:url(javascript:alert(22))" onclick="alert(23)">d</div>
</body></html>"""


def hostile_message() -> bytes:
    """A multipart mail with a payload in every field a sender controls."""
    boundary = "b0undary"
    attachment = base64.b64encode(b"<script>alert(24)</script>").decode()
    lines = [
        f"From: {_encoded(PAYLOAD)} <eve@example.net>",
        f'To: "{PAYLOADS[1]}" <permissions@wikimedia.org>, {_encoded(PAYLOADS[0])} <x@example.org>',
        f"Cc: {_encoded(PAYLOADS[2])} <cc@example.org>",
        f"Subject: canary {_encoded(PAYLOADS[0])} {PAYLOADS[1]}",
        "Message-ID: <\"><script>alert('mid')</script>@example.net>",
        "Reply-To: " + _encoded(PAYLOADS[5]) + " <eve@example.net>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"; x="{PAYLOADS[1]}"',
        "",
        f"--{boundary}",
        "Content-Type: multipart/alternative; boundary=alt",
        "",
        "--alt",
        'Content-Type: text/plain; charset="utf-8"; format="><script>alert(25)</script>',
        "Content-Transfer-Encoding: 8bit",
        "",
        PAYLOAD,
        "I am the photographer and release it under CC BY-SA 4.0.",
        "--alt",
        "Content-Type: text/html; charset=utf-8",
        "",
        HTML_BODY,
        "--alt--",
        f"--{boundary}",
        f'Content-Type: text/html; name="{PAYLOADS[1]}.html"',
        f'Content-Disposition: attachment; filename="{PAYLOADS[0]}.html"',
        "Content-Transfer-Encoding: base64",
        "",
        attachment,
        f"--{boundary}",
        "Content-Type: image/svg+xml",
        "Content-Disposition: attachment; filename*=utf-8''%3Csvg%20onload%3Dalert(26)%3E.svg",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(b"<svg onload='alert(27)'/>").decode(),
        f"--{boundary}",
        f"Content-Type: application/pdf; name={_encoded(PAYLOADS[2])}",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(b"%PDF-1.4").decode(),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()


def _pages(number: str, articles: list[int], attachments: list[int]) -> list[str]:
    """Every page that shows this ticket's mail data, and the admin pages."""
    pages = [
        "/queues",
        "/queues/Permissions",
        "/queues/Permissions?state=new",
        f"/tickets/{number}",
        f"/tickets/{number}/answer",
        f"/tickets/{number}/note",
        f"/search?q={number}",
        "/search?q=canary",
        "/search?q=eve%40example.net",
        f"/cited/tickets/{number}",
        f"/cited?ticket={number}",
        f"/api/v1/tickets/{number}",
        "/admin/queues",
        "/admin/templates",
        "/admin/news",
        "/admin/volunteers",
        "/admin/references",
        "/admin/wiki-writes?status=failed",
        "/admin/access-log",
        "/admin/applications",
        "/admin/training",
    ]
    for article in articles:
        pages.append(f"/tickets/{number}/articles/{article}/html")
    return pages


@pytest.fixture
def hostile(app: Flask) -> tuple[str, list[int], list[int]]:
    """The hostile mail delivered: its ticket number, article ids and attachment ids."""
    number = store_message(app, hostile_message()).number
    with new_session(app) as db:
        rows = db.query(Article).all()
        articles = [a.id for a in rows if a.body_html]
        attachments = [att.id for a in rows for att in a.attachments]
    assert articles and len(attachments) == 3
    return number, articles, attachments


def test_the_payloads_arrived_unchanged_as_data(app: Flask, client: FlaskClient, hostile):
    """The payloads are stored and shown, as text: escaping, not dropping, keeps the mail."""
    number, _, _ = hostile
    log_in(app, client, "Ada", role="head")
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in zoom
    assert "canary" in zoom


def test_no_page_showing_the_mail_runs_anything(app: Flask, client: FlaskClient, hostile):
    number, articles, attachments = hostile
    log_in(app, client, "Ada", role="head")
    findings = []
    for path in _pages(number, articles, attachments):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_data(as_text=True)
        findings += [f"{path}: {f}" for f in active_content(body)]
        if response.mimetype == "application/json":
            # JSON is data; served as such, with no sniffing.
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert findings == []


def test_downloads_never_render_in_the_desk(app: Flask, client: FlaskClient, hostile):
    """Attachments (HTML, SVG) and the raw mail come as downloads, sandboxed, not sniffed."""
    number, articles, attachments = hostile
    log_in(app, client, "Ada", role="head")
    paths = [f"/tickets/{number}/attachments/{a}" for a in attachments]
    paths += [f"/tickets/{number}/articles/{a}/raw" for a in articles]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "application/octet-stream"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        # The plain name is safe characters only; quotes and line breaks cannot end it.
        plain = re.match(r'attachment; filename="([^"]*)";', disposition)
        assert plain is not None and re.fullmatch(r"[A-Za-z0-9._-]+", plain.group(1))
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_the_html_part_is_sandboxed(app: Flask, client: FlaskClient, hostile):
    number, articles, _ = hostile
    log_in(app, client, "Ada", role="head")
    for article in articles:
        response = client.get(f"/tickets/{number}/articles/{article}/html")
        policy = response.headers["Content-Security-Policy"]
        assert "sandbox" in policy and "default-src 'none'" in policy
        assert "script-src" not in policy


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<script src="https://evil.example/x.js"></script>',
        "<img src=x onerror=alert(1)>",
        '<a href=" java\tscript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        '<iframe srcdoc="x"></iframe>',
        '<iframe src="https://evil.example/"></iframe>',
        '<meta http-equiv="Refresh" content="0;url=x">',
        "<object data=x></object>",
        '<form><button formaction="javascript:alert(1)">x</button></form>',
    ],
)
def test_the_scanner_sees_active_content(html: str):
    """The check above is only as good as this: each of these is found."""
    assert active_content(f"<p>{html}</p>") != []


def test_the_scanner_accepts_the_desks_own():
    own = (
        '<script src="/static/zoom.js" data-url="/x"></script>'
        '<iframe sandbox src="/tickets/1/articles/2/html"></iframe>'
        '<img src="data:image/png;base64,x">'
    )
    assert active_content(own) == []
