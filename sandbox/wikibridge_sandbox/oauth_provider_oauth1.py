"""OAuth 1.0a of the sandbox provider: oauthlib's endpoints over our store.

MediaWiki's flavour: HMAC-SHA1 signatures, ``oauth_callback=oob`` meaning
"the registered callback", a registered callback that may be a prefix, and
32-hex-digit keys. A request token lives 10 minutes and is exchanged once.
"""

from __future__ import annotations

import hmac
import secrets
import string
from contextvars import ContextVar
from typing import Any

from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)

from wikibridge_sandbox.oauth_provider_store import Store

__all__ = ["LAST_FAILURE", "OAuth1Endpoints", "SandboxOAuth1Validator", "failure_reason"]

# oauthlib's Request grows attributes at run time (why, username, grant) that
# its type stubs do not declare, and the stubs type saved tokens as str.
_Req = Any

LAST_FAILURE: ContextVar[str | None] = ContextVar("LAST_FAILURE", default=None)
"""Why the validator last refused something in this request's context.

oauthlib's request-token and access-token endpoints do not hand their request
object back, so the reason travels here; reset it before calling them.
"""

# Used when a key is unknown, so the work done (and the time taken) does not
# tell an attacker which part was wrong; oauthlib asks for them.
_DUMMY = "0" * 32


def _token() -> str:
    return secrets.token_hex(16)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def _fail(request: _Req, why: str) -> bool:
    request.why = why
    LAST_FAILURE.set(why)
    return False


def failure_reason(request: _Req | None) -> str:
    """Explain why oauthlib refused a request, in MediaWiki's words (no secrets)."""
    if request is None:
        return LAST_FAILURE.get() or "Invalid request"
    why = getattr(request, "why", None)
    if isinstance(why, str):
        return why
    log: dict[str, Any] = getattr(request, "validator_log", {}) or {}
    if log.get("client") is False:
        return "Invalid consumer"
    if log.get("resource_owner") is False:
        return "Invalid access token"
    if log.get("signature") is False:
        return "Invalid signature"
    if log.get("callback") is False:
        return "Invalid callback"
    return "Invalid request"


class SandboxOAuth1Validator(RequestValidator):
    """oauthlib's questions about consumers, tokens and nonces, answered from the store."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    # --- formats (MediaWiki's keys are 32 hex digits; be lenient with clients) --

    @property
    def enforce_ssl(self) -> bool:
        return False  # the sandbox runs on plain http://127.0.0.1

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return ("HMAC-SHA1",)

    @property
    def safe_characters(self) -> set[str]:
        return set(string.ascii_letters + string.digits + "-_")

    @property
    def client_key_length(self) -> tuple[int, int]:
        return 20, 64

    @property
    def request_token_length(self) -> tuple[int, int]:
        return 20, 64

    @property
    def access_token_length(self) -> tuple[int, int]:
        return 20, 64

    @property
    def nonce_length(self) -> tuple[int, int]:
        return 8, 64

    @property
    def verifier_length(self) -> tuple[int, int]:
        return 20, 64

    @property
    def dummy_client(self) -> str:
        return _DUMMY

    @property
    def dummy_request_token(self) -> str:
        return _DUMMY

    @property
    def dummy_access_token(self) -> str:
        return _DUMMY

    # --- secrets -----------------------------------------------------------

    def get_client_secret(self, client_key: str, request: _Req) -> str:
        consumer = self.store.consumer(client_key, 1)
        return consumer[0] if consumer else _DUMMY

    def get_request_token_secret(self, client_key: str, token: str, request: _Req) -> str:
        record = self.store.request_token(token)
        if record and record["consumer"] == client_key and record["secret"]:
            return record["secret"]
        return _DUMMY

    def get_access_token_secret(self, client_key: str, token: str, request: _Req) -> str:
        found = self.store.access_token(token)
        if found and found[1].consumer == client_key:
            return found[0]
        return _DUMMY

    # --- realms (MediaWiki has none) ----------------------------------------------

    def get_default_realms(self, client_key: str, request: _Req) -> list[str]:
        return []

    def get_realms(self, token: str, request: _Req) -> list[str]:
        return []

    def validate_requested_realms(self, client_key: str, realms: list[str], request: _Req) -> bool:
        return True

    def validate_realms(
        self,
        client_key: str,
        token: str,
        request: _Req,
        uri: str | None = None,
        realms: list[str] | None = None,
    ) -> bool:
        return True

    def verify_realms(self, token: str, realms: list[str], request: _Req) -> bool:
        return True

    # --- validation ------------------------------------------------------------

    def validate_client_key(self, client_key: str, request: _Req) -> bool:
        if self.store.consumer(client_key, 1) is None:
            return _fail(request, "Invalid consumer")
        return True

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: _Req,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        token = request_token or access_token or ""
        if not self.store.use_nonce(client_key, nonce, int(timestamp), token):
            return _fail(request, f"Nonce already used: {nonce}")
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: _Req) -> bool:
        consumer = self.store.consumer(client_key, 1)
        if consumer is None:
            return False
        _, callback, is_prefix, _ = consumer
        if redirect_uri == "oob" or redirect_uri == callback:
            return True
        if is_prefix and redirect_uri.startswith(callback):
            return True
        return _fail(request, "Callback URL does not match the registered callback (prefix)")

    def validate_request_token(self, client_key: str, token: str, request: _Req) -> bool:
        record = self.store.request_token(token)
        if record is None or record["consumer"] != client_key:
            return _fail(request, "Invalid request token")
        return True

    def verify_request_token(self, token: str, request: _Req) -> bool:
        return self.store.request_token(token) is not None

    def validate_verifier(self, client_key: str, token: str, verifier: str, request: _Req) -> bool:
        record = self.store.request_token(token)
        if (
            record is None
            or record["consumer"] != client_key
            or not record["username"]
            or not _same(record["verifier"], verifier)
        ):
            return _fail(request, "Invalid verifier")
        request.username = record["username"]
        return True

    def validate_access_token(self, client_key: str, token: str, request: _Req) -> bool:
        found = self.store.access_token(token)
        if found is None or found[1].consumer != client_key:
            return _fail(request, "Invalid access token")
        request.grant = found[1]
        return True

    # --- saving ------------------------------------------------------------------

    def save_request_token(self, token: Any, request: _Req) -> None:
        callback = request.redirect_uri
        if callback == "oob":
            consumer = self.store.consumer(request.client_key, 1)
            # MediaWiki sends "oob" to the registered callback; a registered
            # prefix is no URL, so the verifier is shown on a page instead.
            if consumer is not None and not consumer[2]:
                callback = consumer[1]
        self.store.save_request_token(
            token["oauth_token"], token["oauth_token_secret"], request.client_key, callback
        )

    def get_redirect_uri(self, token: str, request: _Req) -> str:
        record = self.store.request_token(token)
        return (record or {}).get("callback") or "oob"

    def save_verifier(self, token: str, verifier: Any, request: _Req) -> None:
        self.store.save_verifier(token, verifier["oauth_verifier"])

    def invalidate_request_token(self, client_key: str, request_token: str, request: _Req) -> None:
        self.store.use_request_token(request_token)

    def save_access_token(self, token: Any, request: _Req) -> None:
        self.store.save_access_token(
            token["oauth_token"], token["oauth_token_secret"], request.client_key, request.username
        )


class OAuth1Endpoints:
    """The four OAuth 1.0a endpoints, making MediaWiki-like 32-hex-digit tokens."""

    def __init__(self, store: Store) -> None:
        self.validator = SandboxOAuth1Validator(store)
        self.request_token = RequestTokenEndpoint(self.validator, token_generator=_token)
        self.authorization = AuthorizationEndpoint(self.validator, token_generator=_token)
        self.access_token = AccessTokenEndpoint(self.validator, token_generator=_token)
        self.resource = ResourceEndpoint(self.validator, token_generator=_token)
