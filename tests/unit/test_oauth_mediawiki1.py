"""The OAuth 1.0a client against a fake Special:OAuth (no network)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header
from requests.adapters import BaseAdapter

from oauth import HandshakeError, IdentifyError
from oauth.mediawiki1 import (
    AccessToken,
    OAuth1Consumer,
    RequestToken,
    api_auth,
    complete,
    identify,
    initiate,
)

INDEX = "https://meta.example.org/w/index.php"
ISSUER = "https://meta.example.org"
CONSUMER = OAuth1Consumer(
    index_url=INDEX,
    issuer=ISSUER,
    key="0123456789abcdef0123456789abcdef",
    secret="f2b6f6ccc47e9f6b298eaa74789897b98dc6a594",
)
REQUEST = RequestToken("req0123456789abcdef0123456789ab", "reqsecret0123456789abcdef0123456789abcd")
ACCESS = AccessToken("acc0123456789abcdef0123456789ab", "accsecret0123456789abcdef0123456789abcd")

Handler = Callable[[requests.PreparedRequest, dict[str, str]], tuple[int, str]]


class FakeWiki(BaseAdapter):
    """Answers Special:OAuth requests with a handler, after checking the signature."""

    def __init__(self, handler: Handler, token_secret: str | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.token_secret = token_secret
        self.seen: list[requests.PreparedRequest] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.seen.append(request)
        header = auth_header(request)
        oauth = dict(
            signature.collect_parameters(
                headers={"Authorization": header}, exclude_oauth_signature=False
            )
        )
        # oauthlib's Request takes attributes its type stubs do not declare
        checked: Any = OAuthRequest(request.url or "", "GET", "", {})
        checked.params = signature.collect_parameters(
            uri_query=urlsplit(request.url or "").query, headers={"Authorization": header}
        )
        checked.signature = oauth["oauth_signature"]
        assert signature.verify_hmac_sha1(checked, CONSUMER.secret, self.token_secret)
        status, body = self.handler(request, oauth)
        response = requests.Response()
        response.status_code = status
        response._content = body.encode()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def auth_header(request: requests.PreparedRequest) -> str:
    # requests-oauthlib puts the header in as bytes
    value: str | bytes = request.headers["Authorization"]
    return value.decode() if isinstance(value, bytes) else value


def session_with(adapter: FakeWiki) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    return session


def query_of(request: requests.PreparedRequest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url or "").query)


def test_initiate_signs_with_callback_and_returns_authorize_url() -> None:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        query = query_of(request)
        assert query["title"] == ["Special:OAuth/initiate"]
        assert query["oauth_callback"] == ["oob"]
        assert oauth["oauth_consumer_key"] == CONSUMER.key
        return 200, json.dumps({"key": REQUEST.key, "secret": REQUEST.secret})

    url, token = initiate(CONSUMER, session=session_with(FakeWiki(handler)))
    assert token == REQUEST
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(INDEX + "?")
    assert query == {
        "title": ["Special:OAuth/authorize"],
        "oauth_token": [REQUEST.key],
        "oauth_consumer_key": [CONSUMER.key],
    }


def test_initiate_error_body_is_a_handshake_error() -> None:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        return 200, json.dumps({"error": "mwoauth-callback-not-oob", "message": "nope"})

    with pytest.raises(HandshakeError) as info:
        initiate(CONSUMER, session=session_with(FakeWiki(handler)))
    assert info.value.code == "mwoauth-callback-not-oob"
    assert CONSUMER.secret not in str(info.value)


def test_initiate_non_json_answer_is_a_handshake_error() -> None:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        return 503, "<html>down</html>"

    with pytest.raises(HandshakeError) as info:
        initiate(CONSUMER, session=session_with(FakeWiki(handler)))
    assert info.value.code == "bad-response"


def test_complete_sends_verifier_and_returns_access_token() -> None:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        assert query_of(request)["title"] == ["Special:OAuth/token"]
        assert oauth["oauth_verifier"] == "verif"
        assert oauth["oauth_token"] == REQUEST.key
        return 200, json.dumps({"key": ACCESS.key, "secret": ACCESS.secret})

    adapter = FakeWiki(handler, token_secret=REQUEST.secret)
    assert complete(CONSUMER, REQUEST, "verif", session=session_with(adapter)) == ACCESS


def identify_handler(**override: Any) -> Handler:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        assert query_of(request)["title"] == ["Special:OAuth/identify"]
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CONSUMER.key,
            "exp": now + 100,
            "iat": now,
            "sub": 7,
            "username": "Alice",
            "editcount": 3,
            "confirmed_email": False,
            "blocked": False,
            "registered": "20240101000000",
            "groups": ["*", "user"],
            "rights": ["read"],
            "grants": ["basic"],
            "nonce": oauth["oauth_nonce"],
        }
        claims.update(override)
        return 200, jwt.encode(claims, CONSUMER.secret, algorithm="HS256")

    return handler


def test_identify_verifies_the_statement_made_for_our_nonce() -> None:
    adapter = FakeWiki(identify_handler(), token_secret=ACCESS.secret)
    identity = identify(CONSUMER, ACCESS, session=session_with(adapter))
    assert identity.username == "Alice"
    assert identity.sub == 7


def test_identify_refuses_a_replayed_statement() -> None:
    adapter = FakeWiki(identify_handler(nonce="an-old-nonce-0123456789abcdef"), ACCESS.secret)
    with pytest.raises(IdentifyError) as info:
        identify(CONSUMER, ACCESS, session=session_with(adapter))
    assert info.value.reason == "nonce"


def test_identify_error_body_with_http_200_is_refused() -> None:
    def handler(request: requests.PreparedRequest, oauth: dict[str, str]) -> tuple[int, str]:
        body = {"error": "mwoauth-invalid-authorization", "message": "token revoked"}
        return 200, json.dumps(body)

    adapter = FakeWiki(handler, token_secret=ACCESS.secret)
    with pytest.raises(IdentifyError) as info:
        identify(CONSUMER, ACCESS, session=session_with(adapter))
    assert info.value.reason == "provider_error"
    assert "mwoauth-invalid-authorization" in info.value.detail


def test_unreachable_wiki_is_a_clear_error() -> None:
    class Down(BaseAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float, float] | tuple[float, None] | None = None,
            verify: bool | str = True,
            cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
            proxies: Mapping[str, str] | None = None,
        ) -> requests.Response:
            raise requests.ConnectionError("refused")

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("https://", Down())
    with pytest.raises(HandshakeError) as info:
        initiate(CONSUMER, session=session)
    assert info.value.code == "unreachable"


def test_secrets_stay_out_of_reprs() -> None:
    assert CONSUMER.secret not in repr(CONSUMER)
    assert ACCESS.secret not in repr(ACCESS)
    assert REQUEST.secret not in repr(REQUEST)


def test_api_auth_signs_as_the_volunteer() -> None:
    prepared = requests.Request("GET", "https://meta.example.org/w/api.php?action=query").prepare()
    signed = api_auth(CONSUMER, ACCESS)(prepared)
    assert dict(parse_authorization_header(auth_header(signed)))["oauth_token"] == ACCESS.key
