"""OAuth 2.0 client: PKCE S256 authorization URL and token exchange (no network)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

import oauth.mediawiki2 as mw2
from oauth import HandshakeError, IdentifyError, OAuthError

REST = "https://meta.example.org/w/rest.php"
CALLBACK = "https://desk.example.org/oauth2/callback"


def test_authorization_url_carries_an_s256_challenge_of_the_verifier() -> None:
    url, state, verifier = mw2.authorization_url(REST, "client-1", CALLBACK)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{REST}/oauth2/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == "client-1"
    assert query["redirect_uri"] == CALLBACK
    assert query["state"] == state
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert verifier not in url
    assert 43 <= len(verifier) <= 128


def test_each_login_gets_a_fresh_state_and_verifier() -> None:
    first = mw2.authorization_url(REST, "client-1", CALLBACK)
    second = mw2.authorization_url(REST, "client-1", CALLBACK)
    assert first[1] != second[1] and first[2] != second[2]


def test_plain_http_is_refused_without_the_sandbox_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    with pytest.raises(OAuthError) as info:
        mw2.authorization_url("http://meta.example.org/w/rest.php", "client-1", CALLBACK)
    assert "OAUTHLIB_INSECURE_TRANSPORT" in info.value.detail


class TokenEndpoint(BaseAdapter):
    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.form: dict[str, list[str]] = {}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        raw = request.body or ""
        self.form = parse_qs(raw.decode() if isinstance(raw, bytes) else raw)
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        return response

    def close(self) -> None:
        pass


def fake_sessions(monkeypatch: pytest.MonkeyPatch, endpoint: TokenEndpoint) -> None:
    real = mw2._new_session

    def with_fake(*args: object, **kwargs: object) -> requests.Session:
        session = real(*args, **kwargs)  # type: ignore[arg-type]
        session.mount("https://", endpoint)
        return session

    monkeypatch.setattr(mw2, "_new_session", with_fake)


def test_fetch_token_sends_code_verifier_and_client_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = TokenEndpoint(
        200,
        {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": "AT-1",
            "refresh_token": "RT-1",
        },
    )
    fake_sessions(monkeypatch, endpoint)
    token = mw2.fetch_token(REST, "client-1", CALLBACK, "the-code", "v" * 64, client_secret="cs")
    assert token.access_token == "AT-1" and token.refresh_token == "RT-1"
    assert token.expires_at is not None
    assert endpoint.form["code_verifier"] == ["v" * 64]
    assert endpoint.form["grant_type"] == ["authorization_code"]
    assert endpoint.form["client_id"] == ["client-1"]
    assert endpoint.form["client_secret"] == ["cs"]
    assert endpoint.form["redirect_uri"] == [CALLBACK]
    assert "AT-1" not in repr(token) and "RT-1" not in repr(token)


def test_refused_code_is_a_handshake_error(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = TokenEndpoint(400, {"error": "invalid_grant", "error_description": "bad verifier"})
    fake_sessions(monkeypatch, endpoint)
    with pytest.raises(HandshakeError) as info:
        mw2.fetch_token(REST, "client-1", CALLBACK, "the-code", "w" * 64)
    assert info.value.code == "invalid_grant"


def test_profile_refusal_is_an_identify_error() -> None:
    session = requests.Session()
    session.mount("https://", TokenEndpoint(401, {"error": "invalid_token"}))
    with pytest.raises(IdentifyError) as info:
        mw2.profile(REST, "expired-token", session=session)
    assert info.value.reason == "provider_error"


def test_profile_is_read() -> None:
    session = requests.Session()
    # Extension:OAuth states the central id as a string.
    body = {"sub": "3", "username": "Alice", "blocked": False, "groups": ["user"], "grants": []}
    session.mount("https://", TokenEndpoint(200, body))
    identity = mw2.profile(REST, "token", session=session)
    assert identity.username == "Alice" and identity.sub == 3


def test_refresh_sends_the_refresh_token_and_takes_the_rotated_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The extension's answer: no scope, an hour's lifetime, the next refresh token.
    endpoint = TokenEndpoint(
        200,
        {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": "AT-2",
            "refresh_token": "RT-2",
        },
    )
    fake_sessions(monkeypatch, endpoint)
    token = mw2.refresh(REST, "client-1", "RT-1", client_secret="cs")
    assert endpoint.form["grant_type"] == ["refresh_token"]
    assert endpoint.form["refresh_token"] == ["RT-1"]
    assert endpoint.form["client_secret"] == ["cs"]
    assert (token.access_token, token.refresh_token, token.scope) == ("AT-2", "RT-2", ())
    assert token.expires_at is not None and not mw2.expiring(token.expires_at)


def test_refused_refresh_is_a_handshake_error(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = TokenEndpoint(400, {"error": "invalid_request", "message": "revoked"})
    fake_sessions(monkeypatch, endpoint)
    with pytest.raises(HandshakeError) as info:
        mw2.refresh(REST, "client-1", "RT-1", client_secret="cs")
    assert info.value.code == "invalid_request"


def test_expiring_within_the_margin() -> None:
    assert mw2.expiring(1000.0, margin=60, now=941.0)
    assert not mw2.expiring(1000.0, margin=60, now=939.0)
    assert not mw2.expiring(None, now=10**12)  # unknown: the wiki will say
