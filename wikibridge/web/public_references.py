"""Public pages, no login: which pages cite a ticket, and which tickets a page cites.

Wiki users can never read tickets; these pages tell them only what the API
tells (:mod:`wikibridge.web.references_api`): the number, whether it is a
known ticket, a permission ticket, and whether the permission was confirmed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from wikibridge.web.references_api import client_budget, page_document, ticket_document

bp = Blueprint("cited", __name__, url_prefix="/cited")


@bp.before_request
def _limit() -> Response | None:
    wait = client_budget().retry_after(request.remote_addr or "?")
    if wait:
        response = Response(
            render_template("error.html", code=429, title=_too_many(), message=""), status=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    return None


def _too_many() -> str:
    from flask_babel import gettext

    return gettext("Too many requests from your address; please wait a minute.")


@bp.get("")
def lookup() -> Any:
    """A form: a ticket number, or a wiki page; with ``?number=`` the ticket's page."""
    number = request.args.get("number", "").strip()
    if number:
        return redirect(url_for("cited.ticket", number=number[:64]))
    return render_template("cited.html", wikis=sorted(current_app.config["WIKIS"]))


@bp.get("/tickets/<path:number>")
def ticket(number: str) -> str:
    """The pages citing a ticket, and what is publicly known of it."""
    return render_template("cited_ticket.html", doc=ticket_document(number))


@bp.get("/page")
def page() -> tuple[str, int] | str:
    """The tickets a page cites (``?wiki=commons&title=File:Example.jpg``)."""
    wiki = request.args.get("wiki", "").strip()
    title = request.args.get("title", "").strip()
    wikis = sorted(current_app.config["WIKIS"])
    if wiki not in wikis or not title:
        return render_template("cited.html", wikis=wikis, problem=True), 400
    return render_template("cited_page.html", doc=page_document(wiki, title))


def _userscript_messages() -> dict[str, dict[str, str]]:
    from flask_babel import force_locale, gettext

    from wikibridge.i18n import LANGUAGES

    messages: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        with force_locale(language):
            messages[language] = {
                "confirmed": gettext("Permission confirmed"),
                "pending": gettext("Permission ticket, not confirmed"),
                "not-permission": gettext("Not a permission ticket"),
                "unknown": gettext("Unknown ticket"),
                "unavailable": gettext("The ticket desk cannot be reached"),
                "title": gettext("What the volunteer response team's desk says of this ticket"),
            }
    return messages


@bp.get("/userscript.js")
def userscript() -> Response:
    """The user script wiki users load from their common.js (see its first lines)."""
    import json
    from importlib.resources import files

    source = files("wikibridge").joinpath("userscript/ticket-references.js").read_text("utf-8")
    desk = request.url_root.rstrip("/")
    body = source.replace("__DESK__", desk).replace(
        "__MESSAGES__", json.dumps(_userscript_messages(), ensure_ascii=False, sort_keys=True)
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
