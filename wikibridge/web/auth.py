"""Logging in with the wiki account over OAuth (1.0a or 2.0), and out again."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests
from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from oauth import (
    OAuthError,
    check_oauth2_state,
    ensure_not_blocked,
    mediawiki1,
    mediawiki2,
    oauth1_verifier,
)
from oauth.identity import Identity
from tickets.access import Role, volunteer_named
from tickets.eligibility import EligibilityFacts
from tickets.models import Volunteer, utcnow
from tickets.news import latest_news
from tickets.wiki_writes import resume_paused_writes
from wikibridge import db, metrics
from wikibridge import sessions as login_sessions
from wikibridge.crypto import TokenBox
from wikibridge.jobs import jobs_of
from wikibridge.web.rate_limit import RateLimiter
from wikibridge.web.redirects import same_site_path
from wikibridge.web.security import current_login
from wikibridge.wiki.batches import resume_paused
from wikibridge.wiki.writes import enqueue_writes

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _box() -> TokenBox:
    return TokenBox(current_app.config["TOKEN_ENCRYPTION_KEY"])


def _consumer1(app: Flask) -> mediawiki1.OAuth1Consumer:
    cfg = app.config
    return mediawiki1.OAuth1Consumer(
        index_url=cfg["OAUTH_INDEX_URL"],
        issuer=cfg["OAUTH_ISSUER"],
        key=cfg["OAUTH_CONSUMER_KEY"],
        secret=cfg["OAUTH_CONSUMER_SECRET"],
        leeway=float(cfg["OAUTH_JWT_LEEWAY"]),
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login cannot be used to bounce people elsewhere.

    Anything else (another site, a scheme, tricks a browser would resolve to
    one) falls back to the queue view.
    """
    return same_site_path(target) or url_for("queues.queue_view")


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["SESSION_LIFETIME_HOURS"]))


@bp.get("/login")
def login_page() -> str:
    """The login page."""
    return render_template(
        "login.html",
        # Checked here too, so the page never carries a foreign address in its form.
        next_url=same_site_path(request.args.get("next")) or "",
        error=None,
        news=latest_news(db.session(), 5),
    )


def _refuse(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("login.html", next_url="", error=message, news=[]), status


def login_budget() -> RateLimiter:
    """The per-client budget of login starts (one per web process)."""
    limiter: RateLimiter | None = current_app.extensions.get("login_rate_limiter")
    if limiter is None:
        limiter = RateLimiter(int(current_app.config["LOGIN_REQUESTS_PER_MINUTE"]))
        current_app.extensions["login_rate_limiter"] = limiter
    return limiter


def _too_many_logins(wait: int) -> Response:
    page = render_template(
        "error.html",
        code=429,
        title=gettext("Too many login attempts"),
        message=gettext(
            "Too many logins were started from your address. "
            "Wait %(seconds)s seconds, then try again.",
            seconds=wait,
        ),
    )
    response = Response(page, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/login")
def login_start() -> Response | tuple[str, int]:
    """Start the handshake and send the browser to the wiki."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Each start costs a request to the wiki and a session row: a loop of them
    # from one address must not make the wiki refuse the desk.
    wait = login_budget().retry_after(request.remote_addr or "?")
    if wait:
        return _too_many_logins(wait)
    callback = url_for("auth.callback", _external=True)
    handshake: dict[str, Any] = {"next": _safe_next(request.form.get("next"))}
    try:
        if app.config["OAUTH_VERSION"] == "2":
            url, state, verifier = mediawiki2.authorization_url(
                app.config["OAUTH_REST_URL"], app.config["OAUTH_CONSUMER_KEY"], callback
            )
            handshake.update(version="2", state=state, verifier=verifier)
        else:
            oob = not app.config.get("OAUTH_SEND_CALLBACK", False)
            url, token = mediawiki1.initiate(_consumer1(app), callback="oob" if oob else callback)
            handshake.update(version="1", key=token.key, secret=token.secret)
    except OAuthError as exc:
        log.warning("login could not start: %s", exc.detail or exc.message)
        metrics.login("start_failed")
        return _refuse(exc.message, 502)
    dbs = db.session()
    token_value, row = login_sessions.start(dbs, dt.timedelta(minutes=30))
    row.oauth_version = handshake["version"]
    row.handshake = _box().seal(handshake)
    dbs.commit()
    session["sid"] = token_value
    return redirect(url)


def _finish_handshake(app: Flask, handshake: dict[str, Any]) -> tuple[Identity, dict[str, Any]]:
    """Check the callback, get the access token and who it belongs to."""
    if handshake.get("version") == "2":
        check_oauth2_state(handshake.get("state"), request.args.get("state"))
        if request.args.get("error"):
            raise OAuthError(
                gettext("You did not allow the help desk to use your wiki account."),
                detail="the volunteer did not allow the consumer",
            )
        token = mediawiki2.fetch_token(
            app.config["OAUTH_REST_URL"],
            app.config["OAUTH_CONSUMER_KEY"],
            url_for("auth.callback", _external=True),
            request.args.get("code", ""),
            handshake["verifier"],
            client_secret=app.config["OAUTH_CONSUMER_SECRET"] or None,
        )
        identity = mediawiki2.profile(app.config["OAUTH_REST_URL"], token.access_token)
        creds = {
            "version": "2",
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at,
        }
        return identity, creds
    verifier = oauth1_verifier(handshake.get("key"), request.args)
    consumer = _consumer1(app)
    request_token = mediawiki1.RequestToken(handshake["key"], handshake["secret"])
    access = mediawiki1.complete(consumer, request_token, verifier)
    identity = mediawiki1.identify(consumer, access)
    return identity, {"version": "1", "key": access.key, "secret": access.secret}


def wiki_language(app: Flask, creds: dict[str, Any]) -> str:
    """The interface language the volunteer chose in their wiki preferences ("" if none).

    Asked once at login (``meta=userinfo&uiprop=options``) with the new token;
    a wiki that does not answer costs the volunteer nothing but this default.
    """
    api_url = app.config["OAUTH_INDEX_URL"].rsplit("/", 1)[0] + "/api.php"
    params = {
        "action": "query",
        "meta": "userinfo|siteinfo",
        "uiprop": "options",
        "siprop": "general",
        "format": "json",
    }
    auth: Any = None
    headers = {"User-Agent": mediawiki1.DEFAULT_USER_AGENT}
    if creds["version"] == "2":
        headers["Authorization"] = f"Bearer {creds['access_token']}"
    else:
        auth = mediawiki1.api_auth(
            _consumer1(app), mediawiki1.AccessToken(creds["key"], creds["secret"])
        )
    try:
        answer = requests.get(api_url, params=params, auth=auth, headers=headers, timeout=10)
        query = answer.json()["query"]
        language = str(query["userinfo"].get("options", {}).get("language", ""))
        site_default = str(query["general"]["lang"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return ""
    # The wiki's own default says nothing about the volunteer: leave the
    # choice to their browser then.
    if language == site_default or language not in app.config.get("LANGUAGES", ("en", "de")):
        return ""
    return language


def identity_facts(identity: Identity) -> EligibilityFacts:
    """What the identify statement says that the eligibility rules ask about."""
    return EligibilityFacts(
        username=identity.username,
        editcount=identity.editcount,
        registered=identity.registered,
        blocked=identity.blocked,
        confirmed_email=identity.confirmed_email,
        groups=tuple(g for g in identity.groups if g != "*"),
        sources=("identify",),
    )


@bp.get("/oauth-callback")
def callback() -> Response | tuple[str, int]:
    """The wiki sends the browser back here after the volunteer allowed (or not)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    dbs = db.session()
    pending = current_login()
    if pending is None or pending.handshake is None:
        metrics.login("no_login_started")
        return _refuse(
            gettext(
                "This login link does not belong to a login started in this browser. "
                "Please start the login again."
            )
        )
    handshake = _box().open(pending.handshake)
    # One use only: a replayed callback finds nothing pending.
    login_sessions.end(pending)
    dbs.commit()
    try:
        identity, creds = _finish_handshake(app, handshake)
    except OAuthError as exc:
        log.info("login refused: %s", exc.detail or exc.message)
        metrics.login("refused")
        return _refuse(exc.message, 403)
    try:
        ensure_not_blocked(identity)
    except OAuthError as exc:
        log.info("login refused: %s", exc.detail or exc.message)
        metrics.login("blocked")
        return _refuse(exc.message, 403)
    known = dbs.scalars(select(Volunteer.id).where(Volunteer.username == identity.username)).first()
    volunteer = volunteer_named(dbs, identity.username)
    volunteer.wiki_sub = str(identity.sub)
    if known is None:
        # Someone new to the desk may apply; the administrators decide.
        volunteer.role = Role.APPLICANT.value
    if identity.username in app.config.get("HEADS", ()):
        # Bootstrap: the head named in the settings runs the desk from the start.
        volunteer.role = Role.HEAD.value
    volunteer.last_login_at = utcnow()
    if not volunteer.language:
        # Until the volunteer picks a language here, the wiki's preference holds.
        volunteer.language = wiki_language(app, creds)
    dbs.flush()
    # A fresh session id after login, so a planted cookie gains nothing.
    token_value, row = login_sessions.start(dbs, _lifetime())
    row.volunteer_id = volunteer.id
    row.username = identity.username
    row.oauth_version = creds["version"]
    row.credentials = _box().seal(creds)
    row.identity_facts = identity_facts(identity).to_document()
    # Edits that waited for this volunteer to log in again go on now.
    resumed = resume_paused(dbs, identity.username, row.id)
    resumed_writes = resume_paused_writes(dbs, identity.username, row.id)
    dbs.commit()
    for batch_id in resumed:
        jobs_of(app).wiki_batch(batch_id)
    enqueue_writes(app, resumed_writes)
    session.clear()
    session["sid"] = token_value
    metrics.login("success" if volunteer.role != Role.APPLICANT.value else "applicant")
    if volunteer.role == Role.APPLICANT.value:
        return redirect(url_for("recruiting.apply_form"))
    return redirect(_safe_next(handshake.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """End the session and forget the wiki credentials."""
    login = current_login()
    if login is not None:
        login_sessions.end(login)
        db.session().commit()
    session.clear()
    return redirect(url_for("auth.login_page"))
