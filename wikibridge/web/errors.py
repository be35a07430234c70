"""Error pages that say what happened and what to do."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext
from werkzeug.exceptions import HTTPException


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


def init_app(app: Flask) -> None:
    """Render HTTP errors with the site's layout."""

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
