"""The real sandbox wikis behind the sandbox OAuth provider.

The provider acts on a wiki *as a volunteer* through a ``requests.Session``
logged in with that volunteer's proxy bot password (``User@oauthproxy``). One
session per (wiki, user), each behind its own lock: a CSRF token fetched
through the proxy belongs to that session and stays valid for the edit that
follows, and no request ever runs in another user's session.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from wikibridge_sandbox.seed import AdminSession, SeedError
from wikibridge_sandbox.state import SandboxError, SandboxState, SandboxWiki, Volunteer
from wikibridge_sandbox.wikis import load_state

__all__ = ["ForwardedResponse", "ProxyError", "WikiBackend"]

log = logging.getLogger(__name__)

_TIMEOUT = 60.0
_USER_AGENT = "wikibridge-sandbox-oauth-provider/0.1"
# Headers of the wiki's answer that mean something to an API client; cookies
# never go back, or a client could use the provider's session without OAuth.
_RESPONSE_HEADERS = (
    "Content-Type",
    "Retry-After",
    "X-Database-Lag",
    "MediaWiki-API-Error",
    "Cache-Control",
)


class ProxyError(Exception):
    """The provider cannot act for this user (no proxy bot password, login refused…)."""


@dataclass(frozen=True)
class ForwardedResponse:
    """The wiki's answer, as it goes back to the client."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _UserSession:
    session: requests.Session
    lock: threading.Lock
    logged_in: bool = False


def _mw_timestamp(iso: str | None) -> str | None:
    # The action API says ISO 8601; identify and profile say TS_MW (14 digits).
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y%m%d%H%M%S")


def _pick_headers(response: requests.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in _RESPONSE_HEADERS if name in response.headers}


class WikiBackend:
    """Access to the sandbox wikis: anonymous, or as a volunteer."""

    def __init__(self, state_dir: Any) -> None:
        self.state_dir = state_dir
        self._state: SandboxState | None = None
        self._sessions: dict[tuple[str, str], _UserSession] = {}
        self._sessions_lock = threading.Lock()
        self._tags: set[tuple[str, str]] = set()
        self._tags_lock = threading.Lock()

    # --- the sandbox state ------------------------------------------------------

    def state(self, *, reload: bool = False) -> SandboxState:
        """The sandbox state (re-read on request, e.g. after a new volunteer)."""
        if self._state is None or reload:
            self._state = load_state(self.state_dir)
        return self._state

    def wiki(self, name: str) -> SandboxWiki | None:
        """The wiki called ``name``, or None."""
        try:
            return self.state().wikis.get(name)
        except SandboxError:
            return None

    def volunteer(self, username: str) -> Volunteer | None:
        """The sandbox volunteer ``username`` (with a proxy bot password), or None."""
        for reload in (False, True):
            for volunteer in self.state(reload=reload).volunteers:
                if volunteer.username == username:
                    return volunteer
        return None

    # --- checks against the real wiki --------------------------------------------

    def check_password(self, wiki: SandboxWiki, username: str, password: str) -> str | None:
        """Log in on the real wiki with ``action=clientlogin``; the canonical name or None."""
        with requests.Session() as session:
            session.headers["User-Agent"] = _USER_AGENT
            token = session.get(
                wiki.api_url,
                params={"action": "query", "meta": "tokens", "type": "login", "format": "json"},
                timeout=_TIMEOUT,
            ).json()["query"]["tokens"]["logintoken"]
            answer = session.post(
                wiki.api_url,
                data={
                    "action": "clientlogin",
                    "username": username,
                    "password": password,
                    "logintoken": token,
                    "loginreturnurl": wiki.url + "/",
                    "format": "json",
                },
                timeout=_TIMEOUT,
            ).json()
        result = answer.get("clientlogin", {})
        if result.get("status") == "PASS":
            return str(result.get("username") or username)
        return None

    def user_statement(self, wiki: SandboxWiki, username: str) -> dict[str, Any]:
        """What identify and profile say about ``username``, read live from the wiki.

        :raises ProxyError: if the wiki has no such user.
        """
        answer = requests.get(
            wiki.api_url,
            params={
                "action": "query",
                "list": "users",
                "ususers": username,
                "usprop": "blockinfo|groups|editcount|registration|rights",
                "format": "json",
                "formatversion": "2",
            },
            headers={"User-Agent": _USER_AGENT},
            timeout=_TIMEOUT,
        ).json()
        users = answer.get("query", {}).get("users", [])
        if not users or users[0].get("missing") or users[0].get("invalid"):
            raise ProxyError(f"no user {username!r} on {wiki.name}")
        user = users[0]
        return {
            "username": user["name"],
            "editcount": int(user.get("editcount", 0)),
            "confirmed_email": self._confirmed_email(wiki, user["name"]),
            "blocked": "blockid" in user,
            "registered": _mw_timestamp(user.get("registration")),
            "groups": list(user.get("groups", [])),
            "rights": list(user.get("rights", [])),
        }

    def _confirmed_email(self, wiki: SandboxWiki, username: str) -> bool:
        # Only the user may see this, so ask through their own session.
        try:
            answer = self.forward(
                wiki,
                username,
                "GET",
                [
                    ("action", "query"),
                    ("meta", "userinfo"),
                    ("uiprop", "email"),
                    ("format", "json"),
                    ("formatversion", "2"),
                ],
                None,
                {},
            )
            info = json.loads(answer.body)["query"]["userinfo"]
        except (ProxyError, ValueError, KeyError, requests.RequestException):
            return False
        return bool(info.get("emailauthenticated"))

    def ensure_tag(self, wiki: SandboxWiki, tag: str) -> None:
        """Define the change tag ``tag`` on ``wiki`` (once), as the wiki's admin.

        Extension:OAuth registers its ``OAuth CID: N`` tags itself; the sandbox
        wiki has no extension, so the tag is made with ``action=managetags``.
        """
        with self._tags_lock:
            if (wiki.name, tag) in self._tags:
                return
            admin = self.state().admin
            with AdminSession(wiki.api_url) as api:
                api.login(admin.username, admin.password)
                try:
                    api.call(
                        "POST",
                        action="managetags",
                        operation="create",
                        tag=tag,
                        reason="Edits made over OAuth (sandbox provider)",
                        token=api.csrf_token(),
                    )
                except SeedError as exc:
                    if "tags-create-already-exists" not in str(exc):
                        raise
            self._tags.add((wiki.name, tag))

    # --- acting as a user ------------------------------------------------------------

    def _user_session(self, wiki: SandboxWiki, username: str) -> _UserSession:
        key = (wiki.name, username)
        with self._sessions_lock:
            found = self._sessions.get(key)
            if found is None:
                session = requests.Session()
                session.headers["User-Agent"] = _USER_AGENT
                found = self._sessions[key] = _UserSession(session, threading.Lock())
            return found

    def _login(self, wiki: SandboxWiki, username: str, user: _UserSession) -> None:
        volunteer = self.volunteer(username)
        if volunteer is None:
            raise ProxyError(f"the sandbox has no proxy bot password for {username!r}")
        session = user.session
        session.cookies.clear()
        token = session.get(
            wiki.api_url,
            params={"action": "query", "meta": "tokens", "type": "login", "format": "json"},
            timeout=_TIMEOUT,
        ).json()["query"]["tokens"]["logintoken"]
        answer = session.post(
            wiki.api_url,
            data={
                "action": "login",
                "lgname": volunteer.proxy_login_name,
                "lgpassword": volunteer.proxy_botpassword,
                "lgtoken": token,
                "format": "json",
            },
            timeout=_TIMEOUT,
        ).json()
        result = answer.get("login", {})
        if result.get("result") != "Success":
            raise ProxyError(f"proxy login as {username!r} on {wiki.name} failed: {result}")
        user.logged_in = True
        log.info("proxy session for %s on %s logged in", username, wiki.name)

    def forward(
        self,
        wiki: SandboxWiki,
        username: str | None,
        method: str,
        query: Sequence[tuple[str, str]],
        form: Sequence[tuple[str, str]] | None,
        headers: dict[str, str],
        raw_body: bytes | None = None,
    ) -> ForwardedResponse:
        """Send an ``api.php`` request to the real wiki, anonymously or as ``username``.

        :param query: query parameters, OAuth parameters already removed.
        :param form: url-encoded body parameters (OAuth ones removed), or None.
        :param headers: ``Content-Type``, ``User-Agent``, ``Accept`` worth passing on.
        :param raw_body: the body as received, for multipart (uploads).
        :raises ProxyError: if the provider cannot log in as ``username``.
        """
        if username is None:
            response = requests.request(
                method,
                wiki.api_url,
                params=list(query),
                data=self._body(form, raw_body),
                headers=headers,
                timeout=_TIMEOUT,
                allow_redirects=False,
            )
            return ForwardedResponse(
                response.status_code, _pick_headers(response), response.content
            )

        names = {name for name, _ in query} | {name for name, _ in form or []}
        pinned = list(query)
        # Every proxied request asserts who it runs as, so an expired proxy
        # session fails loudly instead of editing anonymously, and a session
        # can never act under another name.
        if "assert" not in names:
            pinned.append(("assert", "user"))
        if "assertuser" not in names:
            pinned.append(("assertuser", username))

        user = self._user_session(wiki, username)
        with user.lock:
            for attempt in (1, 2):
                if not user.logged_in:
                    self._login(wiki, username, user)
                response = user.session.request(
                    method,
                    wiki.api_url,
                    params=pinned,
                    data=self._body(form, raw_body),
                    headers=headers,
                    timeout=_TIMEOUT,
                    allow_redirects=False,
                )
                lost = response.headers.get("MediaWiki-API-Error") == "assertuserfailed"
                if lost and attempt == 1:
                    # The wiki forgot the session (e.g. restarted): log in again
                    # and retry; the failed request had no effect.
                    user.logged_in = False
                    continue
                break
        return ForwardedResponse(response.status_code, _pick_headers(response), response.content)

    @staticmethod
    def _body(form: Sequence[tuple[str, str]] | None, raw_body: bytes | None) -> Any:
        if raw_body is not None:
            return raw_body
        return list(form) if form is not None else None
