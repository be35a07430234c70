"""Error pages that say what happened and what to do."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    """Render HTTP errors with the site's layout."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        return (
            render_template("error.html", code=code, title=exc.name, message=exc.description or ""),
            code,
        )
