"""One CSRF check for every POST, the logged-in volunteer, and safe headers."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext

from wikibridge import db
from wikibridge import sessions as login_sessions
from wikibridge.sessions import LoginSession
from wikibridge.web.block_check import blocked_now, logout_notice, remember_ending

F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    """The token forms must send back; one per browser session."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(
            400,
            description=gettext(
                "The form had expired or did not come from this site. "
                "Go back, reload the page and try again."
            ),
        )


#: Blueprints that answer NUL in their input themselves (as "nothing found").
_NUL_ANSWERED = frozenset({"references_api", "cited"})


def _refuse_nul() -> None:
    """No field holds NUL: PostgreSQL refuses it in text, which made every such request a 500."""
    if request.blueprint in _NUL_ANSWERED:
        return
    values = [request.path, *request.args.values()]
    if request.method in UNSAFE_METHODS:
        values += request.form.values()
    if any("\x00" in v for v in values):
        abort(400, description=gettext("The request holds a NUL character, which no field may."))


#: Probes and assets: answered without looking up a login, so a monitor (or a
#: browser) carrying a session cookie gets the probe's own answer when the
#: database is down, not an error from the login lookup.
NO_LOGIN_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "static"})


def _load_login() -> None:
    if request.endpoint in NO_LOGIN_ENDPOINTS:
        g.login = None
        return
    token = session.get("sid")
    login = login_sessions.find(db.session(), token)
    if login is None and token:
        # Ended by the desk (a block found by a batch or another request):
        # the login page says why.
        ended = login_sessions.ended_because(db.session(), token)
        if ended is not None:
            remember_ending(*ended)
    elif login is not None and login.volunteer_id is not None and blocked_now(login):
        login = None
    g.login = login


def current_login() -> LoginSession | None:
    """The live login session of this request, if any."""
    login: LoginSession | None = g.get("login")
    return login


def logged_in() -> LoginSession:
    """The login session of a request that ``login_required`` let through."""
    login = current_login()
    assert login is not None  # login_required ran
    return login


def _is_admin() -> bool:
    from tickets.access import is_admin
    from tickets.models import Volunteer

    login = current_login()
    if login is None or login.volunteer_id is None:
        return False
    volunteer = db.session().get(Volunteer, login.volunteer_id)
    return volunteer is not None and is_admin(volunteer)


def login_required(view: F) -> F:
    """Send visitors who are not logged in to the login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        login = current_login()
        if login is None or login.volunteer_id is None:
            return redirect(url_for("auth.login_page", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


#: How long browsers keep to https once told (a year, as preload lists ask).
HSTS_SECONDS = 31536000


def _headers(response: Any) -> Any:
    if request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        # Behind a proxy that ends TLS the request looks plain; the setting says
        # the desk is served over https. Browsers ignore HSTS on plain http.
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'none'; form-action 'self' http: https:",
    )
    return response


def init_app(app: Flask) -> None:
    """Install the checks on every request."""
    app.before_request(_check_csrf)
    app.before_request(_refuse_nul)
    app.before_request(_load_login)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_login"] = current_login
    app.jinja_env.globals["is_admin"] = _is_admin
    app.jinja_env.globals["logout_notice"] = logout_notice
