"""Raw mail, headers, HTML parts and attachments: shown safely, to those who may read them."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from tickets.models import Article, Attachment
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

from .helpers import log_in


def html_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Scan"
    msg["X-Custom"] = "header-shown-on-demand"
    msg.set_content("See the scan.")
    msg.add_alternative(
        '<p>See <b>the scan</b><script>alert(1)</script><img src="https://t.example/p.gif"></p>',
        subtype="html",
    )
    msg.add_attachment(
        b"<svg onload=alert(1)></svg>", maintype="image", subtype="svg+xml", filename="ü scan.svg"
    )
    return msg.as_bytes()


def ids(app):
    with new_session(app) as db:
        article = db.scalars(select(Article)).one()
        att = db.scalars(select(Attachment)).one()
        return article.id, att.id


def test_attachment_downloads_and_never_renders(client, app):
    # One message, kept: each html_mail() has a MIME boundary of its own.
    mail = html_mail()
    number = store_message(app, mail).number
    log_in(app, client)
    article_id, att_id = ids(app)
    response = client.get(f"/tickets/{number}/attachments/{att_id}")
    assert response.status_code == 200
    assert response.data == b"<svg onload=alert(1)></svg>"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="u_scan.svg"')
    assert "filename*=UTF-8''%C3%BC%20scan.svg" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    raw = client.get(f"/tickets/{number}/articles/{article_id}/raw")
    assert raw.status_code == 200
    assert raw.data == mail, "the raw mail is not the bytes that came in"
    assert raw.headers["Content-Type"] == "application/octet-stream"


def test_headers_on_demand_and_sandboxed_html(client, app):
    number = store_message(app, html_mail()).number
    log_in(app, client)
    article_id, _ = ids(app)
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "header-shown-on-demand" not in zoom
    zoom = client.get(f"/tickets/{number}?headers={article_id}").get_data(as_text=True)
    assert '<pre class="headers">' in zoom and "header-shown-on-demand" in zoom
    assert "<iframe sandbox" in zoom
    html = client.get(f"/tickets/{number}/articles/{article_id}/html")
    page = html.get_data(as_text=True)
    assert "<b>the scan</b>" in page and "<script" not in page
    policy = html.headers["Content-Security-Policy"]
    assert "img-src data:;" in policy and "sandbox" in policy
    assert html.headers["X-Frame-Options"] == "SAMEORIGIN"
    asked = client.get(f"/tickets/{number}/articles/{article_id}/html?images=1")
    assert "img-src https:" in asked.headers["Content-Security-Policy"]


def test_other_queues_articles_are_hidden(client, app):
    number = store_message(app, html_mail()).number
    log_in(app, client, "Ivo", role="volunteer", grants={"Info": "all"})
    article_id, att_id = ids(app)
    for path in (
        f"/tickets/{number}/attachments/{att_id}",
        f"/tickets/{number}/articles/{article_id}/raw",
        f"/tickets/{number}/articles/{article_id}/html",
    ):
        assert client.get(path).status_code == 404
