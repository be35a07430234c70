"""HTTP face of the sandbox OAuth provider: MediaWiki's OAuth URLs, per wiki.

One server fronts every sandbox wiki under a path prefix::

    /{wiki}/index.php?title=Special:OAuth/initiate|authorize|approve|token|identify
    /{wiki}/index.php?title=Special:UserLogin       (the wiki's login, as the provider's)
    /{wiki}/index.php/Special:OAuth/...            (path form, same pages)
    /{wiki}/rest.php/oauth2/authorize|access_token|resource/profile
    /{wiki}/api.php                                 (signed: as the user; else anonymous)

The browser's way is the extension's: a visitor not logged in is sent to
``Special:UserLogin`` (inputs ``wpName`` and ``wpPassword``, button "Log in")
with ``returnto``; then ``Special:OAuth/authorize`` (1.0a) or, from
``rest.php/oauth2/authorize``, ``Special:OAuth/approve`` (2.0) asks to allow
(buttons ``accept`` "Allow" and ``cancel`` "Cancel").
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
import requests
from flask import Flask, Response, abort, jsonify, redirect, session
from flask import request as flask_request
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import FatalClientError, OAuth2Error

from wikibridge_sandbox.oauth_provider_api import ApiProxy
from wikibridge_sandbox.oauth_provider_http import render_page, signed_parts
from wikibridge_sandbox.oauth_provider_oauth1 import LAST_FAILURE, OAuth1Endpoints, failure_reason
from wikibridge_sandbox.oauth_provider_oauth2 import new_oauth2_server
from wikibridge_sandbox.oauth_provider_store import CALLBACK_PREFIX, Store, oauth_dir, state_id
from wikibridge_sandbox.oauth_provider_wiki import ProxyError, WikiBackend
from wikibridge_sandbox.state import SandboxError, SandboxWiki

__all__ = ["SESSION_COOKIE", "create_app"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "wikibridge_sandbox_oauth"
"""The provider's login cookie. Cookies ignore ports, so it must not be called
``session`` like the help desk's own cookie on the same 127.0.0.1."""


class Provider:
    """The views, with the store, the endpoints and the wikis they need."""

    def __init__(self, state_dir: Path, port: int) -> None:
        self.store = Store(state_dir)
        self.consumers = self.store.ensure_consumers()
        self.backend = WikiBackend(state_dir)
        self.oauth1 = OAuth1Endpoints(self.store)
        self.oauth2 = new_oauth2_server(self.store, CALLBACK_PREFIX)
        # MediaWiki's $wgCanonicalServer: the iss of identify statements.
        self.issuer = f"http://127.0.0.1:{port}"
        self.state_id = state_id(state_dir)
        self.api_proxy = ApiProxy(self.oauth1, self.oauth2, self.backend, self.issuer, self.store)

    # --- helpers -------------------------------------------------------------

    def _wiki(self, name: str) -> SandboxWiki:
        wiki = self.backend.wiki(name)
        if wiki is None:
            abort(404)
        return wiki

    @staticmethod
    def _page(wiki: str, title: str, kind: str, status: int = 200, **values: Any) -> Response:
        return render_page(wiki, title, kind, status, **values)

    def _error_page(self, wiki: str, message: str, status: int = 400) -> Response:
        return self._page(wiki, "OAuth error", "error", status, message=message, details=[])

    @staticmethod
    def _csrf() -> str:
        token = session.get("csrf")
        if not isinstance(token, str):
            token = session["csrf"] = secrets.token_urlsafe(24)
        return token

    def _csrf_ok(self, field: str = "wpEditToken") -> bool:
        sent = flask_request.form.get(field, "")
        expected = session.get("csrf")
        return isinstance(expected, str) and secrets.compare_digest(sent, expected)

    def _login_step(self, wiki: SandboxWiki) -> str | None:
        """Check a posted login form; return an error message, or None on success."""
        username = flask_request.form.get("wpName", "").strip()
        password = flask_request.form.get("wpPassword", "")
        try:
            canonical = self.backend.check_password(wiki, username, password)
        except (requests.RequestException, ValueError, KeyError):
            log.exception("login check on %s failed", wiki.name)
            return "The wiki could not check your password; try again."
        if canonical is None:
            return "Incorrect username or password entered. Please try again."
        session["user"] = canonical
        return None

    def _login_redirect(self, wiki: SandboxWiki, returnto: str, query: str) -> Response:
        """Send a visitor who is not logged in to the wiki's Special:UserLogin, and back."""
        location = f"/{wiki.name}/index.php?" + urlencode(
            {"title": "Special:UserLogin", "returnto": returnto, "returntoquery": query}
        )
        return redirect(location, 302)  # type: ignore[return-value]

    def _allow_page(self, wiki: SandboxWiki, user: str, grants: tuple[str, ...]) -> Response:
        action = flask_request.full_path
        return self._page(
            wiki.name,
            "Allow access?",
            "allow",
            consumer="wikibridge (sandbox consumer)",
            user=user,
            grants=grants,
            action=action,
            csrf=self._csrf(),
            logout="/logout?" + urlencode({"next": action}),
        )

    def user_login(self, wiki: SandboxWiki) -> Response:
        """Special:UserLogin: the wiki's password checked, then back to ``returnto``."""
        returnto = flask_request.values.get("returnto", "")
        returntoquery = flask_request.values.get("returntoquery", "")
        error = None
        if flask_request.method == "POST":
            if not self._csrf_ok("wpLoginToken"):
                error = "There seems to be a problem with your login session; please try again."
            else:
                error = self._login_step(wiki)
            if error is None:
                # Only a title of this wiki: the login must not bounce anywhere else.
                title = returnto if returnto and "//" not in returnto else "Main_Page"
                location = f"/{wiki.name}/index.php?" + urlencode({"title": title})
                if returntoquery:
                    location += "&" + returntoquery
                return redirect(location, 303)  # type: ignore[return-value]
        return self._page(
            wiki.name,
            "Log in",
            "login",
            action=flask_request.full_path,
            csrf=self._csrf(),
            error=error,
            username=flask_request.form.get("wpName", ""),
        )

    # --- index.php: Special:OAuth ---------------------------------------------------

    def index(self, wiki: str, title: str | None = None) -> Response:
        """``index.php``: Special:OAuth pages, anything else passed to the wiki."""
        target = self._wiki(wiki)
        title = title or flask_request.args.get("title") or flask_request.form.get("title") or ""
        if title in ("Special:UserLogin", "Special:Userlogin"):
            return self.user_login(target)
        prefix = "Special:OAuth"
        if title == prefix or title.startswith(prefix + "/"):
            subpage = title[len(prefix) + 1 :]
            handler = {
                "initiate": self.initiate,
                "token": self.token,
                "identify": self.identify,
                "authorize": self.authorize,
                "authenticate": self.authorize,
                "approve": self.approve,
                "verified": self.verified,
            }.get(subpage)
            if handler is None:
                return self._error_page(wiki, "Special:OAuth has no such page.", 404)
            return handler(target)
        try:
            answer = requests.get(
                target.index_url, params=list(flask_request.args.items(multi=True)), timeout=60
            )
        except requests.RequestException:
            return self._error_page(wiki, "The wiki does not answer.", 502)
        return Response(
            answer.content,
            answer.status_code,
            {"Content-Type": answer.headers.get("Content-Type", "text/html")},
        )

    def _special_error(self, wiki: SandboxWiki, fmt: str, code: str, message: str) -> Response:
        # Special:OAuth answers errors with HTTP 200 in the requested format.
        if fmt == "json":
            return jsonify({"error": code, "message": message})
        if fmt == "html":
            return self._error_page(wiki.name, message, 200)
        return Response(f"Error: {message}", 200, {"Content-Type": "text/plain"})

    @staticmethod
    def _token_answer(fmt: str, body: str) -> Response:
        fields = dict(parse_qsl(body))
        if fmt == "json":
            return jsonify({"key": fields["oauth_token"], "secret": fields["oauth_token_secret"]})
        raw = urlencode(
            {
                "oauth_token": fields["oauth_token"],
                "oauth_token_secret": fields["oauth_token_secret"],
                "oauth_callback_confirmed": "true",
            }
        )
        return Response(raw, 200, {"Content-Type": "text/plain"})

    def _exchange(self, wiki: SandboxWiki, step: str) -> Response:
        fmt = flask_request.values.get("format", "raw")
        signed = signed_parts()
        LAST_FAILURE.set(None)
        try:
            if step == "initiate":
                _, body, status = self.oauth1.request_token.create_request_token_response(
                    signed.uri, flask_request.method, signed.body, signed.headers
                )
            else:
                _, body, status = self.oauth1.access_token.create_access_token_response(
                    signed.uri, flask_request.method, signed.body, signed.headers
                )
        except ValueError:
            body, status = None, 400
        if status == 200 and body:
            return self._token_answer(fmt, body)
        reason = dict(parse_qsl(body or "")).get("error_description") or (
            LAST_FAILURE.get() or "Invalid signature"
        )
        return self._special_error(
            wiki,
            fmt,
            "mwoauth-oauth-exception",
            f"An error occurred in the OAuth protocol: {reason}",
        )

    def initiate(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/initiate: a request token for a signed consumer."""
        return self._exchange(wiki, "initiate")

    def token(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/token: the access token for an approved request token."""
        return self._exchange(wiki, "token")

    def authorize(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/authorize: log in, then allow; redirect to the callback."""
        token = flask_request.values.get("oauth_token") or flask_request.values.get("requestToken")
        consumer = flask_request.values.get("oauth_consumer_key") or flask_request.values.get(
            "consumerKey"
        )
        record = self.store.request_token(token) if token else None
        if token is None or record is None or (consumer and consumer != record["consumer"]):
            return self._error_page(
                wiki.name, "The request token is invalid or has expired. Start the login again."
            )
        user = session.get("user")
        if not isinstance(user, str):
            query = urlencode({"oauth_token": token, "oauth_consumer_key": record["consumer"]})
            return self._login_redirect(wiki, "Special:OAuth/authorize", query)
        if flask_request.method == "POST":
            if not self._csrf_ok():
                return self._error_page(wiki.name, "Your session expired; please try again.")
            if "accept" in flask_request.form:
                return self._approve_oauth1(wiki, token, user)
            return self._page(
                wiki.name,
                "Cancelled",
                "info",
                message="You did not allow the application to use your account.",
                details=[],
            )
        consumer_record = self.store.consumer(str(record["consumer"]), 1)
        return self._allow_page(wiki, user, consumer_record[3] if consumer_record else ())

    def _approve_oauth1(self, wiki: SandboxWiki, token: str, user: str) -> Response:
        self.store.approve_request_token(token, user)
        uri = f"{self.issuer}/{wiki.name}/index.php?" + urlencode(
            {"title": "Special:OAuth/authorize", "oauth_token": token}
        )
        headers, body, status = self.oauth1.authorization.create_authorization_response(
            uri, "GET", None, {}, realms=[], credentials={}
        )
        if status == 302:
            return redirect(headers["Location"], 302)  # type: ignore[return-value]
        fields = dict(parse_qsl(body or ""))
        return self._page(
            wiki.name,
            "Verification code",
            "info",
            message="Give this code to the application that asked (oauth_callback=oob).",
            details=[
                ("oauth_verifier", fields.get("oauth_verifier", "")),
                ("oauth_token", fields.get("oauth_token", "")),
            ],
        )

    def verified(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/verified: shows a verifier (callback ``oob``)."""
        return self._page(
            wiki.name,
            "Verification code",
            "info",
            message="Your verification code:",
            details=[
                ("oauth_verifier", flask_request.args.get("oauth_verifier", "")),
                ("oauth_token", flask_request.args.get("oauth_token", "")),
            ],
        )

    def identify(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/identify: a JWT about the token's user, signed with the consumer secret."""
        signed = signed_parts()
        try:
            valid, checked = self.oauth1.resource.validate_protected_resource_request(
                signed.uri, flask_request.method, signed.body, signed.headers, realms=[]
            )
        except ValueError:
            valid, checked = False, None
        if not valid or checked is None:
            return self._special_error(
                wiki,
                "json",
                "mwoauth-invalid-authorization",
                "The authorization headers in your request are not valid: "
                + failure_reason(checked),
            )
        grant = checked.grant
        consumer = self.store.consumer(grant.consumer, 1)
        try:
            statement = self.backend.user_statement(wiki, grant.username)
        except (ProxyError, requests.RequestException, ValueError, KeyError):
            return self._special_error(
                wiki,
                "json",
                "mwoauth-invalid-authorization-invalid-user",
                "The authorization headers in your request are for a user that does not exist here",
            )
        if consumer is None:
            abort(500)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": grant.consumer,
            "exp": now + 100,
            "iat": now,
            # The extension states the central id as a string ("3").
            "sub": str(self.store.central_id(statement["username"])),
            **statement,
            "grants": list(consumer[3]),
            "nonce": checked.nonce,
        }
        statement_jwt = jwt.encode(claims, consumer[0], algorithm="HS256")
        return Response(statement_jwt, 200, {"Content-Type": "application/json"})

    # --- rest.php: OAuth 2 ------------------------------------------------------------

    def _oauth2_request(self, wiki: str) -> tuple[str, list[str], dict[str, Any]] | Response:
        """The OAuth 2 authorization request in this URL's query, checked by oauthlib.

        :return: (its URI, scopes, credentials), or the page or redirect that
            refuses it.
        """
        uri = signed_parts().uri
        try:
            scopes, credentials = self.oauth2.validate_authorization_request(uri, "GET", None, {})
        except FatalClientError as exc:
            return self._error_page(wiki, f"The request is invalid: {exc.description}")
        except OAuth2Error as exc:
            if exc.redirect_uri:
                return redirect(exc.in_uri(exc.redirect_uri), 302)  # type: ignore[return-value]
            return self._error_page(wiki, f"The request is invalid: {exc.description}")
        return uri, list(scopes), dict(credentials)

    @staticmethod
    def _oauth2_query() -> str:
        # The client's own parameters, for Special:OAuth/approve to carry on.
        return urlencode([(k, v) for k, v in flask_request.args.items(multi=True) if k != "title"])

    def oauth2_authorize(self, wiki: str) -> Response:
        """rest.php/oauth2/authorize: on to Special:OAuth/approve (after the login, if needed)."""
        target = self._wiki(wiki)
        checked = self._oauth2_request(wiki)
        if isinstance(checked, Response):
            return checked
        query = self._oauth2_query()
        if not isinstance(session.get("user"), str):
            return self._login_redirect(target, "Special:OAuth/approve", query)
        location = f"/{wiki}/index.php?" + urlencode({"title": "Special:OAuth/approve"})
        return redirect(f"{location}&{query}", 302)  # type: ignore[return-value]

    def approve(self, wiki: SandboxWiki) -> Response:
        """Special:OAuth/approve: allow (a ``code``) or cancel (an error), back to the client."""
        checked = self._oauth2_request(wiki.name)
        if isinstance(checked, Response):
            return checked
        uri, scopes, credentials = checked
        user = session.get("user")
        if not isinstance(user, str):
            return self._login_redirect(wiki, "Special:OAuth/approve", self._oauth2_query())
        if flask_request.method == "POST":
            if not self._csrf_ok():
                return self._error_page(wiki.name, "Your session expired; please try again.")
            if "accept" not in flask_request.form:
                denied = [("error", "access_denied")]
                if credentials.get("state"):
                    denied.append(("state", credentials["state"]))
                location = add_params_to_uri(credentials["redirect_uri"], denied)
                return redirect(location, 302)  # type: ignore[return-value]
            headers, _, _ = self.oauth2.create_authorization_response(
                uri, "GET", None, {}, scopes=scopes, credentials={"user": user}
            )
            return redirect(headers["Location"], 302)  # type: ignore[return-value]
        return self._allow_page(wiki, user, tuple(scopes))

    def oauth2_token(self, wiki: str) -> Response:
        """rest.php/oauth2/access_token: codes and refresh tokens for access tokens."""
        self._wiki(wiki)
        signed = signed_parts()
        headers, body, status = self.oauth2.create_token_response(
            signed.uri, "POST", signed.body, signed.headers
        )
        if status == 200:
            # The extension's token answer names no scope (oauthlib's does).
            answer = json.loads(body)
            answer.pop("scope", None)
            body = json.dumps(answer)
        return Response(body, status, headers)

    def oauth2_profile(self, wiki: str) -> Response:
        """rest.php/oauth2/resource/profile: who the bearer token belongs to."""
        target = self._wiki(wiki)
        signed = signed_parts()
        valid, checked = self.oauth2.verify_request(
            signed.uri, "GET", None, signed.headers, scopes=[]
        )
        if not valid:
            return Response(
                '{"error":"access_denied","message":"The resource owner or authorization '
                'server denied the request."}',
                401,
                {"Content-Type": "application/json", "WWW-Authenticate": "Bearer"},
            )
        try:
            statement = self.backend.user_statement(target, str(checked.user))
        except (ProxyError, requests.RequestException, ValueError, KeyError):
            abort(404)
        profile = {
            "sub": str(self.store.central_id(statement["username"])),
            **statement,
            "grants": list(checked.scopes or []),
        }
        return jsonify(profile)

    # --- api.php --------------------------------------------------------------------------

    def api(self, wiki: str) -> Response:
        """api.php of ``wiki``: see :class:`ApiProxy`."""
        return self.api_proxy(self._wiki(wiki))

    # --- provider pages ----------------------------------------------------------------------

    def home(self) -> Response:
        """A short page saying what this is and which wikis it fronts."""
        try:
            names = sorted(self.backend.state(reload=True).wikis)
        except SandboxError as exc:
            return self._error_page("", f"The sandbox wikis are not set up: {exc}", 503)
        return self._page(
            "",
            "Sandbox OAuth provider",
            "info",
            message="MediaWiki OAuth 1.0a and 2.0 for the sandbox wikis.",
            details=[(name, f"{self.issuer}/{name}/index.php") for name in names],
        )

    def healthz(self) -> Response:
        """Liveness check for ensure_running (which also checks whose provider this is)."""
        return jsonify({"ok": True, "issuer": self.issuer, "state": self.state_id})

    def logout(self) -> Response:
        """Forget who is logged in on the provider (to switch users)."""
        session.pop("user", None)
        target = flask_request.values.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        return redirect(target, 303)  # type: ignore[return-value]


def _secret_key(state_dir: Path) -> bytes:
    path = oauth_dir(state_dir) / "session.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return path.read_bytes()


def create_app(state_dir: Path, port: int) -> Flask:
    """The provider's WSGI app for the sandbox in ``state_dir``, announced on ``port``."""
    provider = Provider(state_dir, port)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(state_dir),
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=200 * 1024 * 1024,
    )
    both = ["GET", "POST"]
    app.add_url_rule("/", "home", provider.home)
    app.add_url_rule("/healthz", "healthz", provider.healthz)
    app.add_url_rule("/logout", "logout", provider.logout, methods=both)
    app.add_url_rule("/<wiki>/index.php", "index", provider.index, methods=both)
    app.add_url_rule("/<wiki>/index.php/<path:title>", "index_path", provider.index, methods=both)
    app.add_url_rule(
        "/<wiki>/rest.php/oauth2/authorize",
        "oauth2_authorize",
        provider.oauth2_authorize,
        methods=both,
    )
    app.add_url_rule(
        "/<wiki>/rest.php/oauth2/access_token",
        "oauth2_token",
        provider.oauth2_token,
        methods=["POST"],
    )
    app.add_url_rule(
        "/<wiki>/rest.php/oauth2/resource/profile", "oauth2_profile", provider.oauth2_profile
    )
    app.add_url_rule("/<wiki>/api.php", "api", provider.api, methods=both)

    @app.before_request
    def _keep_body() -> None:
        # Cache the raw body before anything parses the form: werkzeug's form
        # parser would consume the stream, yet signatures are checked over the
        # body as sent and uploads are passed on byte for byte.
        flask_request.get_data(cache=True)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Frame-Options", "deny")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
