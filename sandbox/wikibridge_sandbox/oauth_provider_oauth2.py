"""OAuth 2.0 of the sandbox provider: oauthlib's WebApplicationServer over our store.

MediaWiki's flavour: authorization code grant, the client authenticates with
its secret (in the body or with HTTP Basic), refresh tokens (rotated on use), access
tokens valid for an hour (``OAuth2GrantExpirationInterval`` PT1H), scopes
named after grants; the token answer names no ``scope``. PKCE is required here for
every client (MediaWiki requires it of public clients only): the desk
always sends it, and the sandbox should catch a desk that forgot.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from oauthlib.oauth2 import RequestValidator, WebApplicationServer

from wikibridge_sandbox.oauth_provider_store import OAUTH2_ACCESS_TTL, Store

__all__ = ["OAuth2Client", "SandboxOAuth2Validator", "new_oauth2_server"]

# oauthlib's Request grows attributes at run time (user, client, grant…) that
# its type stubs do not declare, and the stubs type some tokens wrongly.
_Req = Any


@dataclass(frozen=True)
class OAuth2Client:
    """The client oauthlib wants on ``request.client`` (it reads ``client_id``)."""

    client_id: str


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def _basic_credentials(request: _Req) -> tuple[str, str] | None:
    header = str((request.headers or {}).get("Authorization", ""))
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id), unquote(secret)


class SandboxOAuth2Validator(RequestValidator):
    """oauthlib's questions about clients, codes and tokens, answered from the store."""

    def __init__(self, store: Store, redirect_prefix: str) -> None:
        super().__init__()
        self.store = store
        self.redirect_prefix = redirect_prefix

    def _client(self, client_id: str | None) -> tuple[str, str, bool, tuple[str, ...]] | None:
        return self.store.consumer(client_id, 2) if client_id else None

    # --- clients ----------------------------------------------------------------

    def client_authentication_required(self, request: _Req, *_: Any, **__: Any) -> bool:
        return True  # the sandbox client is confidential

    def authenticate_client(self, request: _Req, *_: Any, **__: Any) -> bool:
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = request.client_id, request.client_secret
        client = self._client(client_id)
        if client is None or not _same(client[0], secret):
            return False
        request.client = OAuth2Client(client_id)
        return True

    def authenticate_client_id(self, client_id: str, request: _Req, *_: Any, **__: Any) -> bool:
        return False  # no public clients in the sandbox

    def validate_client_id(self, client_id: str, request: _Req, *_: Any, **__: Any) -> bool:
        return self._client(client_id) is not None

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: _Req, *_: Any, **__: Any
    ) -> bool:
        return grant_type in ("authorization_code", "refresh_token")

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: _Req, *_: Any, **__: Any
    ) -> bool:
        return response_type == "code"

    # --- redirects -------------------------------------------------------------------

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: _Req, *_: Any, **__: Any
    ) -> bool:
        return redirect_uri.startswith(self.redirect_prefix)

    def get_default_redirect_uri(self, client_id: str, request: _Req, *_: Any, **__: Any) -> str:
        return ""  # a prefix is no URL: the client must say where to go

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: _Req,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        record = self.store.auth_code(code)
        return record is not None and record["redirect_uri"] == redirect_uri

    # --- scopes -----------------------------------------------------------------------

    def get_default_scopes(self, client_id: str, request: _Req, *_: Any, **__: Any) -> list[str]:
        client = self._client(client_id)
        return list(client[3]) if client else []

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: _Req, *_: Any, **__: Any
    ) -> bool:
        registered = self._client(client_id)
        allowed = set(registered[3]) if registered else set()
        return set(scopes) <= allowed | {"basic"}

    def get_original_scopes(
        self, refresh_token: str, request: _Req, *_: Any, **__: Any
    ) -> list[str]:
        grant = self.store.refresh_grant(refresh_token)
        return list(grant.scopes) if grant else []

    # --- codes and PKCE -------------------------------------------------------------------

    def is_pkce_required(self, client_id: str, request: _Req) -> bool:
        return True

    def save_authorization_code(
        self, client_id: str, code: Any, request: _Req, *_: Any, **__: Any
    ) -> None:
        self.store.save_auth_code(
            code["code"],
            client_id,
            request.user,
            request.redirect_uri,
            list(request.scopes or []),
            request.code_challenge,
            request.code_challenge_method,
        )

    def validate_code(
        self, client_id: str, code: str, client: Any, request: _Req, *_: Any, **__: Any
    ) -> bool:
        record = self.store.auth_code(code)
        if record is None or record["client_id"] != client_id:
            return False
        request.user = record["username"]
        request.scopes = (record["scopes"] or "").split()
        return True

    # The stubs say str; oauthlib documents None for "no challenge".
    def get_code_challenge(self, code: str, request: _Req) -> str | None:  # type: ignore[override]
        record = self.store.auth_code(code)
        return record["challenge"] if record else None

    def get_code_challenge_method(  # type: ignore[override]
        self, code: str, request: _Req
    ) -> str | None:
        record = self.store.auth_code(code)
        return record["method"] if record else None

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: _Req, *_: Any, **__: Any
    ) -> None:
        self.store.use_auth_code(code)

    # --- tokens -------------------------------------------------------------------------------

    def save_bearer_token(self, token: Any, request: _Req, *_: Any, **__: Any) -> None:
        scopes = token.get("scope", "")
        refreshing = request.grant_type == "refresh_token"
        self.store.save_bearer_token(
            token["access_token"],
            token.get("refresh_token"),
            request.client_id or request.client.client_id,
            request.user,
            scopes.split() if isinstance(scopes, str) else list(scopes),
            int(token.get("expires_in", OAUTH2_ACCESS_TTL)),
            replaces_refresh_token=request.refresh_token if refreshing else None,
        )

    def validate_bearer_token(self, token: str | None, scopes: list[str], request: _Req) -> bool:
        grant = self.store.bearer_token(token) if token else None
        if grant is None:
            return False
        if not set(scopes) <= set(grant.scopes) | {"basic"}:
            return False
        request.user = grant.username
        request.client_id = grant.consumer
        request.scopes = list(grant.scopes)
        request.grant = grant
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: _Req, *_: Any, **__: Any
    ) -> bool:
        grant = self.store.refresh_grant(refresh_token)
        if grant is None or grant.consumer != client.client_id:
            return False
        request.user = grant.username
        return True

    def rotate_refresh_token(self, request: _Req) -> bool:
        return True


def _token(request: _Req, refresh_token: bool = False) -> str:
    return secrets.token_hex(32)


def new_oauth2_server(store: Store, redirect_prefix: str) -> WebApplicationServer:
    """An oauthlib server (authorize, token, resource endpoints) over ``store``."""
    return WebApplicationServer(
        SandboxOAuth2Validator(store, redirect_prefix),
        token_generator=_token,
        refresh_token_generator=_token,
        token_expires_in=OAUTH2_ACCESS_TTL,
    )
