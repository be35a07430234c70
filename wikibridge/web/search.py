"""Search: tickets by number, sender or words, in the queues one may read."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from tickets.access import Right
from tickets.search import search_tickets
from wikibridge import db
from wikibridge.web.access import my_rights
from wikibridge.web.labels import age_text, priority_label
from wikibridge.web.security import login_required

bp = Blueprint("search", __name__)

#: Longer queries are cut (nobody types more; it bounds the work of one request).
MAX_QUERY = 500


@bp.get("/search")
@login_required
def search() -> str:
    """One page of the tickets matching ``q``, newest first."""
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    readable = sorted(q for q, rights in my_rights().items() if Right.READ in rights)
    page = search_tickets(
        db.session(),
        query,
        readable,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["TICKETS_PER_PAGE"],
    )
    return render_template(
        "search.html", query=query, page=page, age_text=age_text, priority_label=priority_label
    )
