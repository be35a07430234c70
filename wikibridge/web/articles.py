"""An article's raw message, headers, HTML part and attachments, served safely.

Nothing a customer sent is ever rendered as active content in the desk's own
origin: attachments download (never inline), raw mail is plain text, and HTML
mail is shown sanitised, in a sandboxed frame whose policy loads no remote
content unless the volunteer asks for the images.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select

from tickets.intake import blob_bytes, raw_bytes
from tickets.models import Article, Attachment, Blob, Ticket
from wikibridge import db
from wikibridge.web.access import ticket_for
from wikibridge.web.security import login_required

bp = Blueprint("articles", __name__)


def _article(ticket: Ticket, article_id: int) -> Article:
    article = db.session().get(Article, article_id)
    if article is None or article.ticket_id != ticket.id:
        abort(404)
    return article


def header_block(article: Article) -> str:
    """The header lines of the article's raw message, as text."""
    if article.raw is None:
        return ""
    raw = raw_bytes(article.raw)
    end = re.search(rb"\r?\n\r?\n", raw)
    head = raw[: end.start()] if end else raw[:20000]
    return head.decode("utf-8", errors="replace")


def _ascii_name(filename: str) -> str:
    plain = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._")
    return plain[:100] or "attachment"


def download_headers(filename: str) -> dict[str, str]:
    """Headers that make a browser save a file, never run or show it in our origin."""
    return {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": (
            f'attachment; filename="{_ascii_name(filename)}"; '
            f"filename*=UTF-8''{quote(filename or 'attachment', safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


@bp.get("/tickets/<number>/articles/<int:article_id>/raw")
@login_required
def raw_message(number: str, article_id: int) -> Response:
    """The message exactly as received, to save (.eml)."""
    ticket = ticket_for(number)
    article = _article(ticket, article_id)
    if article.raw is None:
        abort(404)
    return Response(
        raw_bytes(article.raw),
        headers=download_headers(f"ticket-{ticket.number}-article-{article.id}.eml"),
    )


@bp.get("/tickets/<number>/attachments/<int:attachment_id>")
@login_required
def attachment(number: str, attachment_id: int) -> Response:
    """An attachment, as a download."""
    ticket = ticket_for(number)
    att = db.session().get(Attachment, attachment_id)
    if att is None or att.article.ticket_id != ticket.id:
        abort(404)
    blob = db.session().scalars(select(Blob).where(Blob.sha256 == att.sha256)).one()
    return Response(blob_bytes(blob), headers=download_headers(att.filename))


@bp.get("/tickets/<number>/articles/<int:article_id>/html")
@login_required
def html_part(number: str, article_id: int) -> Response:
    """The sanitised HTML part, for a sandboxed frame on the zoom page."""
    ticket = ticket_for(number)
    article = _article(ticket, article_id)
    if not article.body_html:
        abort(404)
    images = "https: data: cid:" if request.args.get("images") == "1" else "data:"
    body = render_template("article_html.html", html=article.body_html)
    return Response(
        body,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # Only this page may be framed, and only by the desk itself.
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": (
                f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
                "frame-ancestors 'self'; sandbox"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
