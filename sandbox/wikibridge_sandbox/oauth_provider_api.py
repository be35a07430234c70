"""``api.php`` of the sandbox OAuth provider: the wiki's action API, as the token's user.

A request signed with a valid OAuth 1.0a access token, or carrying a valid
OAuth 2 bearer token, is checked by oauthlib and passed to the real wiki in
that volunteer's own proxy session, without its signature; an unsigned one
goes anonymously; a bad one gets MediaWiki's ``mwoauth-invalid-authorization``.

As Extension:OAuth does, the proxy limits a token to its consumer's grants
(an action needing a grant the volunteer did not give is refused with
``permissiondenied``; the proxy session itself may do more) and tags the
edits and uploads made through it ``OAuth CID: N``, N being the consumer's id.

While the file ``<state>/oauth/switches/nonce-used`` exists, every valid
OAuth 1.0a request of a user it names (one per line; an empty file names
everyone) is answered as the real extension answers all of them when
``$wgMWOAuthCentralWiki`` names the wiki itself: "Nonce already used".
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qsl

import requests
from flask import Response, jsonify
from flask import request as flask_request
from oauthlib.oauth2 import WebApplicationServer

from wikibridge_sandbox.oauth_provider_http import signed_parts, without_oauth
from wikibridge_sandbox.oauth_provider_oauth1 import OAuth1Endpoints, failure_reason
from wikibridge_sandbox.oauth_provider_store import Store
from wikibridge_sandbox.oauth_provider_wiki import ProxyError, WikiBackend
from wikibridge_sandbox.seed import SeedError
from wikibridge_sandbox.state import SandboxWiki

__all__ = ["ApiProxy", "nonce_switch"]

log = logging.getLogger(__name__)

# API actions that would log the shared proxy session in or out, or touch
# credentials; MediaWiki refuses them under OAuth too.
_REFUSED_ACTIONS = {
    "login",
    "clientlogin",
    "logout",
    "createaccount",
    "linkaccount",
    "unlinkaccount",
    "changeauthenticationdata",
    "removeauthenticationdata",
    "resetpassword",
}
_PASSED_HEADERS = ("User-Agent", "Accept", "Accept-Language", "Api-User-Agent")
# Write actions and the grants (any one of them) that allow them, after
# MediaWiki's $wgGrantPermissions; actions not named here need "basic" only.
_GRANTS_NEEDED: dict[str, tuple[str, ...]] = {
    "edit": ("editpage",),
    "upload": ("uploadfile", "uploadeditmovefile"),
    "filerevert": ("uploadeditmovefile",),
    "move": ("createeditmovepage",),
    "delete": ("delete",),
    "undelete": ("delete",),
    "protect": ("protect",),
    "block": ("blockusers",),
    "unblock": ("blockusers",),
    "rollback": ("rollback",),
    "patrol": ("patrol",),
    "watch": ("editmywatchlist",),
    "options": ("editmyoptions",),
    "emailuser": ("sendemail",),
    "managetags": ("managechangetags",),
    "tag": ("editpage",),
}
# Actions whose changes Extension:OAuth tags with the consumer's id.
_TAGGED_ACTIONS = ("edit", "upload")


def oauth_tag(consumer_id: int) -> str:
    """The change tag Extension:OAuth puts on changes made through consumer ``consumer_id``."""
    return f"OAuth CID: {consumer_id}"


def nonce_switch(state_dir: Path) -> Path:
    """The switch file that makes signed requests fail with "Nonce already used"."""
    return Path(state_dir) / "oauth" / "switches" / "nonce-used"


def _nonce_refused(state_dir: Path, username: str) -> bool:
    try:
        names = nonce_switch(state_dir).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        return False
    names = [name.strip() for name in names if name.strip()]
    return not names or username in names


class ApiProxy:
    """The ``api.php`` view: check the token, then forward as its user."""

    def __init__(
        self,
        oauth1: OAuth1Endpoints,
        oauth2: WebApplicationServer,
        backend: WikiBackend,
        issuer: str,
        store: Store,
    ) -> None:
        self.store = store
        self.oauth1 = oauth1
        self.oauth2 = oauth2
        self.backend = backend
        self.issuer = issuer

    def error(self, wiki: str, code: str, info: str) -> Response:
        """An action API error in MediaWiki's shape, with its ``MediaWiki-API-Error`` header."""
        response = jsonify(
            {
                "error": {
                    "code": code,
                    "info": info,
                    "*": f"See {self.issuer}/{wiki}/api.php for API usage.",
                }
            }
        )
        response.headers["MediaWiki-API-Error"] = code
        return response

    def __call__(self, target: SandboxWiki) -> Response:
        """api.php: signed requests run as the token's user, others anonymously."""
        wiki = target.name
        multipart = flask_request.mimetype == "multipart/form-data"
        raw_body = flask_request.get_data(cache=True) if multipart else None
        signed = signed_parts()
        authorization = flask_request.headers.get("Authorization", "")
        query = parse_qsl(signed.query, keep_blank_values=True)
        form = parse_qsl(signed.body, keep_blank_values=True) if signed.body is not None else None
        oauth1 = authorization.startswith("OAuth ") or any(
            name.startswith("oauth_") for name, _ in query + (form or [])
        )
        username: str | None = None
        consumer_key = ""
        grants: tuple[str, ...] = ()
        if oauth1:
            try:
                valid, checked = self.oauth1.resource.validate_protected_resource_request(
                    signed.uri, flask_request.method, signed.body, signed.headers, realms=[]
                )
            except ValueError:
                valid, checked = False, None
            if not valid or checked is None:
                return self.error(
                    wiki,
                    "mwoauth-invalid-authorization",
                    "The authorization headers in your request are not valid: "
                    + failure_reason(checked),
                )
            username = checked.grant.username
            consumer_key = checked.grant.consumer
            registered = self.store.consumer(consumer_key, 1)
            grants = registered[3] if registered else ()

            if _nonce_refused(self.backend.state_dir, username):
                return self.error(
                    wiki,
                    "mwoauth-invalid-authorization",
                    "The authorization headers in your request are not valid: "
                    f"Nonce already used: {checked.nonce}",
                )
        elif authorization.lower().startswith("bearer "):
            valid, checked = self.oauth2.verify_request(
                signed.uri,
                "POST" if flask_request.method == "POST" else "GET",
                None,
                {"Authorization": authorization},
                scopes=[],
            )
            if not valid:
                return self.error(
                    wiki,
                    "mwoauth-invalid-authorization",
                    "The authorization headers in your request are not valid: Invalid access token",
                )
            username = checked.user
            consumer_key = str(checked.client_id)
            grants = tuple(checked.scopes or ())

        action = flask_request.values.get("action", "")
        needed = _GRANTS_NEEDED.get(action, ())
        if username is not None and needed and not set(needed) & set(grants):
            return self.error(
                wiki,
                "permissiondenied",
                f"You don't have permission to use action={action}: the application "
                f"was not granted {' or '.join(repr(g) for g in needed)}.",
            )
        if username is not None and action in _REFUSED_ACTIONS:
            if action == "login":
                return jsonify(
                    {
                        "login": {
                            "result": "Aborted",
                            "reason": (
                                "Cannot log in when using "
                                "MediaWiki\\Extension\\OAuth\\SessionProvider sessions."
                            ),
                        }
                    }
                )
            code = "cannotlogout" if action == "logout" else "mwoauth-invalid-action"
            return self.error(wiki, code, f"action={action} is not available under OAuth.")

        headers = {
            name: flask_request.headers[name]
            for name in _PASSED_HEADERS
            if name in flask_request.headers
        }
        if multipart:
            headers["Content-Type"] = flask_request.headers["Content-Type"]  # with its boundary
        passed_query = without_oauth(query)
        passed_form = without_oauth(form) if form is not None else None
        if username is not None and action in _TAGGED_ACTIONS and flask_request.method == "POST":
            consumer_id = self.store.consumer_id(consumer_key)
            if consumer_id is not None:
                tag = oauth_tag(consumer_id)
                try:
                    self.backend.ensure_tag(target, tag)
                except (SeedError, requests.RequestException, ValueError, KeyError) as exc:
                    log.warning("could not define the tag %r on %s: %s", tag, wiki, exc)
                else:
                    passed_query, passed_form = _with_tag(passed_query, passed_form, tag)
        try:
            answer = self.backend.forward(
                target,
                username,
                flask_request.method,
                passed_query,
                passed_form,
                headers,
                raw_body,
            )
        except ProxyError as exc:
            log.warning("proxy refused: %s", exc)
            return self.error(wiki, "mwoauth-invalid-authorization-invalid-user", str(exc))
        return Response(answer.body, answer.status, answer.headers)


def _with_tag(
    query: list[tuple[str, str]], form: list[tuple[str, str]] | None, tag: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]] | None]:
    """Add ``tag`` to the request's ``tags``, where the client put them (else the query).

    A multipart body (an upload) is passed on byte for byte, so its tag goes
    in the query, which MediaWiki reads too.
    """
    for params in (form, query):
        if params is None:
            continue
        for index, (name, value) in enumerate(params):
            if name == "tags":
                params[index] = ("tags", f"{value}|{tag}" if value else tag)
                return query, form
    return [*query, ("tags", tag)], form
