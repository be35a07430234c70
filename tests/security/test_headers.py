"""Security headers on every kind of answer the desk gives.

HTML pages, error pages (400, 403, 404, 405, 429), redirects, JSON (the
public API, /healthz), static files, downloads and the sandboxed HTML part:
each says nosniff, a referrer policy, a Content Security Policy that keeps
the page out of other sites' frames, and, served over https (or configured
as https behind a proxy), HSTS.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tickets.intake import store_blob
from tickets.models import Attachment
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session

from ..conftest import make_test_app
from ..helpers import log_in, new_ticket


def _kinds(app: Flask, client) -> dict[str, tuple[str, str]]:
    """kind of answer -> (method, path)."""
    number = new_ticket(app)
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        article = ticket.articles[0]
        article.body_html = "<p>Hello</p>"
        att = Attachment(article=article, filename="a.png", size=1, sha256=store_blob(db, b"x"))
        db.add(att)
        db.commit()
        article_id, attachment_id = article.id, att.id
    log_in(app, client, "Ada", role="admin")
    return {
        "page": ("GET", f"/tickets/{number}"),
        "list": ("GET", "/queues"),
        "admin page": ("GET", "/admin/queues"),
        "public page": ("GET", "/cited"),
        "login page": ("GET", "/login"),
        "redirect": ("GET", "/"),
        "not found": ("GET", "/no/such/page"),
        "forbidden": ("POST", "/admin/volunteers/1/role"),  # the head's, not an admin's
        "bad csrf": ("POST", f"/tickets/{number}/note?csrf=none"),
        "not allowed": ("DELETE", "/queues"),
        "json api": ("GET", f"/api/v1/tickets/{number}"),
        "openapi": ("GET", "/api/v1/openapi.json"),
        "api preflight": ("OPTIONS", "/api/v1/pages"),
        "health": ("GET", "/healthz"),
        "static": ("GET", "/static/wikibridge.css"),
        "userscript": ("GET", "/cited/userscript.js"),
        "download": ("GET", f"/tickets/{number}/attachments/{attachment_id}"),
        "raw mail": ("GET", f"/tickets/{number}/articles/{article_id}/raw"),
        "html part": ("GET", f"/tickets/{number}/articles/{article_id}/html"),
    }


def _check(response, kind: str, https: bool) -> list[str]:
    problems = []
    h = response.headers
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if h.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
        problems.append("Referrer-Policy")
    policy = h.get("Content-Security-Policy", "")
    framing = "frame-ancestors 'self'" if kind == "html part" else "frame-ancestors 'none'"
    if framing not in policy and "sandbox" not in policy:
        problems.append(f"CSP frame-ancestors: {policy!r}")
    if "default-src" not in policy:
        problems.append(f"CSP default-src: {policy!r}")
    if h.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN"):
        problems.append("X-Frame-Options")
    hsts = h.get("Strict-Transport-Security", "")
    if https and "max-age=" not in hsts:
        problems.append("HSTS missing")
    if https and hsts and int(hsts.split("max-age=")[1].split(";")[0]) < 15552000:
        problems.append("HSTS too short")
    if not https and hsts:
        problems.append("HSTS over plain http")
    return [f"{kind}: {p}" for p in problems]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_kind_of_answer_has_the_headers(app: Flask, client, scheme: str):
    problems = []
    seen = set()
    for kind, (method, path) in _kinds(app, client).items():
        data = None if "csrf=none" in path else {"csrf_token": "test-csrf", "role": "head"}
        response = client.open(
            path, method=method, data=data, base_url=f"{scheme}://wikibridge.test"
        )
        seen.add(response.status_code)
        problems += _check(response, kind, https=scheme == "https")
    assert problems == []
    assert {200, 204, 302, 400, 403, 404, 405} <= seen


def test_https_behind_a_proxy_gets_hsts(tmp_path, database_url):
    """Configured as https (TLS ends at the proxy), the desk sends HSTS on plain requests too."""
    app = make_test_app(tmp_path, database_url, PREFERRED_URL_SCHEME="https")
    response = app.test_client().get("/login")
    assert "max-age=" in response.headers.get("Strict-Transport-Security", "")
    app.extensions["db_engine"].dispose()


def test_the_429_pages_have_the_headers(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, PUBLIC_API_REQUESTS_PER_MINUTE=1)
    client = app.test_client()
    client.get("/cited")
    for path in ("/cited", "/api/v1/tickets/1"):
        response = client.get(path)
        assert response.status_code == 429
        assert _check(response, "too many", https=False) == []
    app.extensions["db_engine"].dispose()


def test_the_page_policy_allows_no_inline_script(app: Flask, client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert "script-src" not in directives  # default-src 'self': no inline, no eval
    assert directives["object-src"] == "'none'"
