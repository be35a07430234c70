"""The public, anonymous JSON API for gadgets and bots: which pages cite which ticket.

Only public facts leave here (see :class:`tickets.references.PublicTicket`):
the number, whether it is a known ticket, a permission ticket, and whether
the permission was confirmed, and the pages citing it. Reads are open to any
origin (CORS), cacheable (ETag, Cache-Control) and limited per client.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from tickets.references import (
    WikiReference,
    live_references_of_page,
    live_references_of_ticket,
    public_facts,
)
from wikibridge import db
from wikibridge.web.rate_limit import RateLimiter
from wikibridge.wiki.references import title_key

bp = Blueprint("references_api", __name__, url_prefix="/api/v1")


class AnyText(PathConverter):
    """Any text at all, as the description promises: line breaks and leading ``/`` too.

    Werkzeug's ``path`` stops at a line break, so such a number got the
    desk's HTML 404 page instead of the API's JSON answer.
    """

    regex = r"[\s\S]+?"
    # The text may hold "/": matched across path segments, as ``path`` is.
    part_isolating = False


@bp.record_once
def _add_converter(state: BlueprintSetupState) -> None:
    # Recorded before the routes below, so the converter is there when they are added.
    state.app.url_map.converters.setdefault("anytext", AnyText)


#: Seconds a client (or a proxy) may keep an answer.
MAX_AGE = 60
#: Longest ticket or title accepted, so one request's work stays bounded.
MAX_INPUT = 512


def client_budget() -> RateLimiter:
    """The per-client request budget of the public routes (one per web process)."""
    limiter: RateLimiter | None = current_app.extensions.get("public_rate_limiter")
    if limiter is None:
        limiter = RateLimiter(int(current_app.config["PUBLIC_API_REQUESTS_PER_MINUTE"]))
        current_app.extensions["public_rate_limiter"] = limiter
    return limiter


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.before_request
def _limit() -> Response | None:
    if request.method == "OPTIONS":
        return _cors(Response(status=204))
    wait = client_budget().retry_after(request.remote_addr or "?")
    if wait:
        response = _json({"error": "too many requests", "retry_after": wait}, status=429)
        response.headers["Retry-After"] = str(wait)
        response.headers["Cache-Control"] = "no-store"
        return response
    return None


def _json(document: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    response = Response(body, status=status, mimetype="application/json")
    return _cors(response)


def _cached(document: dict[str, Any]) -> Response:
    response = _json(document)
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Vary"] = "Origin"
    response.make_conditional(request)
    return response


def _page_entry(row: WikiReference) -> dict[str, Any]:
    article = current_app.config["WIKIS"].get(row.wiki, {}).get("article_url", "")
    return {
        "wiki": row.wiki,
        "title": row.title,
        "url": article + row.title.replace(" ", "_") if article else None,
        "kind": row.kind,
        "revision": row.revision,
        "since": row.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _storable(text: str) -> str:
    """``text`` as it can be looked up: PostgreSQL refuses NUL in a query's text.

    No stored number or title holds NUL, nor the stand-in, so such input finds
    nothing, on either database, instead of failing.
    """
    return text.replace("\x00", "\ufffd")


def ticket_document(number: str) -> dict[str, Any]:
    """A ticket's public facts and the pages citing it (the same shape for unknown numbers)."""
    number = number.strip()[:MAX_INPUT]
    key = _storable(number)
    facts = public_facts(db.session(), [key])[key]
    pages = live_references_of_ticket(db.session(), key) if facts.status != "unknown" else []
    return {
        "ticket": number,
        "status": facts.status,
        "known": facts.known,
        "permission": facts.permission,
        "confirmed": facts.confirmed,
        "pages": [_page_entry(r) for r in pages],
    }


def page_document(wiki: str, title: str) -> dict[str, Any]:
    """The tickets a page cites now, each with its public facts."""
    title = title_key(title[:MAX_INPUT])
    rows = live_references_of_page(db.session(), wiki, _storable(title)) if wiki else []
    facts = public_facts(db.session(), [r.number or r.ticket for r in rows])
    cited = []
    for row in rows:
        fact = facts[(row.number or row.ticket).strip()]
        cited.append(
            {
                "ticket": row.number or row.ticket,
                "as_written": row.ticket,
                "kind": row.kind,
                "status": fact.status,
                "known": fact.known,
                "permission": fact.permission,
                "confirmed": fact.confirmed,
                "since": row.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return {"wiki": wiki, "title": title, "tickets": cited}


@bp.route("/tickets/<anytext:number>", methods=["GET", "OPTIONS"], merge_slashes=False)
def ticket(number: str) -> Response:
    """Public facts of a ticket number, and the pages citing it."""
    if len(number) > MAX_INPUT:
        # Refused as the description says, rather than answered for a cut number.
        return _json({"error": f"the ticket number is longer than {MAX_INPUT}"}, status=400)
    return _cached(ticket_document(number))


@bp.route("/pages", methods=["GET", "OPTIONS"])
def page() -> Response:
    """The tickets a page cites (``?wiki=commons&title=File:Example.jpg``)."""
    wiki = request.args.get("wiki", "").strip()
    title = request.args.get("title", "").strip()
    if wiki not in current_app.config["WIKIS"] or not title:
        return _json({"error": "give wiki (one of the configured wikis) and title"}, status=400)
    if len(request.args.get("title", "")) > MAX_INPUT:
        return _json({"error": f"the title is longer than {MAX_INPUT}"}, status=400)
    return _cached(page_document(wiki, title))


@bp.route("/openapi.json", methods=["GET", "OPTIONS"])
def openapi() -> Response:
    """The OpenAPI description of this API."""
    from wikibridge.web.references_openapi import description

    return _cached(description(sorted(current_app.config["WIKIS"])))
