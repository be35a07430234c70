"""Error pages that say what happened and what to do."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from wikibridge.db import database_away

log = logging.getLogger(__name__)

#: What a page tells the browser (``Retry-After``) when the database is away:
#: a PostgreSQL restart or a failover takes seconds to a minute.
DATABASE_RETRY_SECONDS = 30


def _standard_texts() -> dict[int, tuple[str, str]]:
    """The name and Werkzeug's own description of the errors the desk gives, translated."""
    return {
        400: (
            gettext("Bad Request"),
            gettext("The browser (or proxy) sent a request that this server could not understand."),
        ),
        401: (
            gettext("Unauthorized"),
            gettext(
                "The server could not verify that you are authorized to access the URL"
                " requested. You either supplied the wrong credentials (e.g. a bad"
                " password), or your browser doesn't understand how to supply the"
                " credentials required."
            ),
        ),
        403: (
            gettext("Forbidden"),
            gettext(
                "You don't have the permission to access the requested resource. It is"
                " either read-protected or not readable by the server."
            ),
        ),
        404: (
            gettext("Not Found"),
            gettext(
                "The requested URL was not found on the server. If you entered the URL"
                " manually please check your spelling and try again."
            ),
        ),
        405: (
            gettext("Method Not Allowed"),
            gettext("The method is not allowed for the requested URL."),
        ),
        409: (
            gettext("Conflict"),
            gettext(
                "A conflict happened while processing the request. The resource might"
                " have been modified while the request was being processed."
            ),
        ),
        500: (
            gettext("Internal Server Error"),
            gettext(
                "The server encountered an internal error and was unable to complete"
                " your request. Either the server is overloaded or there is an error in"
                " the application."
            ),
        ),
    }


def _database_page() -> Response:
    """503 saying the database is away, without touching the database again."""
    # The page's header would look the login up: this request shows none.
    g.login = None
    retry = str(DATABASE_RETRY_SECONDS)
    if request.path.startswith("/api/"):
        body = json.dumps({"error": "database unavailable", "retry_after": DATABASE_RETRY_SECONDS})
        response = Response(body, status=503, mimetype="application/json")
    else:
        messages = [
            gettext(
                "The desk cannot reach its database at the moment. Please try again in a minute."
            )
        ]
        if request.method not in ("GET", "HEAD"):
            messages.append(
                gettext(
                    "If you were saving something, open the page again to see whether it was "
                    "saved before you send it again."
                )
            )
        page = render_template(
            "error.html", code=503, title=gettext("Service Unavailable"), message=" ".join(messages)
        )
        response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = retry
    return response


def init_app(app: Flask) -> None:
    """Render HTTP errors with the site's layout; a database that is away is a 503."""

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError) -> Response:
        if not database_away(exc):
            # A fault of ours: Flask's own handling logs it and answers 500.
            raise exc
        # The driver's first line names the failure (refused, cut, locked), never a password.
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        log.warning("database unavailable (%s: %s); answered 503", type(exc.orig).__name__, reason)
        return _database_page()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        title, message = exc.name, exc.description or ""
        standard = _standard_texts().get(code)
        if standard is not None:
            title = standard[0]
            # Werkzeug's own wording is translated; the desk's own is already.
            if message == type(exc).description:
                message = standard[1]
        return (
            render_template("error.html", code=code, title=title, message=message),
            code,
        )
