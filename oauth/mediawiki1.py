"""OAuth 1.0a as MediaWiki's Extension:OAuth speaks it, for the consumer side.

The handshake is three requests to ``index.php?title=Special:OAuth/…``
(``initiate``, then the volunteer approves at ``authorize``, then ``token``),
and ``identify`` tells who approved. The ``index.php?title=`` form is used
rather than ``/wiki/Special:OAuth``, because a redirect on the pretty URL
breaks the signature.

Typical use in a web app::

    consumer = OAuth1Consumer(index_url=..., issuer=..., key=..., secret=...)
    url, request_token = initiate(consumer, callback=...)
    # store request_token in the session, redirect the browser to url
    # ... on the callback:
    verifier = oauth1_verifier(stored_request_token.key, request.args)
    access_token = complete(consumer, stored_request_token, verifier)
    identity = ensure_not_blocked(identify(consumer, access_token))
    # sign api.php requests with api_auth(consumer, access_token)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from requests_oauthlib import OAuth1

from oauth.errors import HandshakeError, IdentifyError
from oauth.identify import DEFAULT_LEEWAY, verify_identify_jwt
from oauth.identity import Identity

DEFAULT_USER_AGENT = "wikibridge/0.1 (help desk; OAuth client)"
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class OAuth1Consumer:
    """An OAuth 1.0a consumer registered on a wiki (Special:OAuthConsumerRegistration).

    :param index_url: the provider wiki's ``index.php``, e.g.
        ``https://meta.wikimedia.org/w/index.php``.
    :param issuer: the provider wiki's canonical server, the ``iss`` of its
        identify statements, e.g. ``https://meta.wikimedia.org``.
    :param key: the consumer key.
    :param secret: the consumer secret.
    :param user_agent: sent with every request (Wikimedia requires a
        descriptive one with contact information).
    :param timeout: seconds per HTTP request.
    :param leeway: seconds of clock difference tolerated on the identify JWT.
    """

    index_url: str
    issuer: str
    key: str
    secret: str = field(repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = DEFAULT_TIMEOUT
    leeway: float = DEFAULT_LEEWAY


@dataclass(frozen=True)
class RequestToken:
    """The temporary token of a handshake in progress (keep it in the session)."""

    key: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AccessToken:
    """A volunteer's authorization: signs requests made as them."""

    key: str
    secret: str = field(repr=False)


def _session(session: requests.Session | None, consumer: OAuth1Consumer) -> requests.Session:
    if session is not None:
        return session
    new = requests.Session()
    new.headers["User-Agent"] = consumer.user_agent
    return new


def _get(
    http: requests.Session,
    consumer: OAuth1Consumer,
    params: dict[str, str],
    auth: OAuth1,
    step: str,
) -> requests.Response:
    try:
        return http.get(consumer.index_url, params=params, auth=auth, timeout=consumer.timeout)
    except requests.RequestException as exc:
        raise HandshakeError(
            "The wiki could not be reached. Please try again in a few minutes.",
            code="unreachable",
            detail=f"{step}: {type(exc).__name__}",
        ) from None


def _error_of(payload: Any) -> tuple[str, str] | None:
    # Special:OAuth answers errors as {"error": key, "message": text}, with HTTP 200.
    if isinstance(payload, dict) and "error" in payload:
        code = payload["error"]
        message = payload.get("message") or payload.get("error_description") or ""
        if isinstance(code, dict):  # the action API's shape, in case of a proxy
            message = code.get("info", "")
            code = code.get("code", "")
        return str(code), str(message)
    return None


def _token_from(response: requests.Response, step: str) -> tuple[str, str]:
    """Read ``{"key": …, "secret": …}`` from an initiate or token answer."""
    try:
        payload = response.json()
    except ValueError:
        raise HandshakeError(
            "The wiki gave an unexpected answer during login. Please try again later.",
            code="bad-response",
            detail=f"{step}: HTTP {response.status_code}, not JSON",
        ) from None
    error = _error_of(payload)
    if error is not None:
        code, message = error
        raise HandshakeError(
            "The wiki refused the login. Please start it again; if it keeps failing, "
            "tell the help desk admins.",
            code=code,
            detail=f"{step}: {code}: {message}",
        )
    key = payload.get("key") if isinstance(payload, dict) else None
    secret = payload.get("secret") if isinstance(payload, dict) else None
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        raise HandshakeError(
            "The wiki gave an unexpected answer during login. Please try again later.",
            code="bad-response",
            detail=f"{step}: HTTP {response.status_code}, no key/secret",
        )
    return key, secret


def authorize_url(consumer: OAuth1Consumer, request_token: RequestToken) -> str:
    """The URL where the volunteer approves the desk on the wiki."""
    query = urlencode(
        {
            "title": "Special:OAuth/authorize",
            "oauth_token": request_token.key,
            "oauth_consumer_key": consumer.key,
        }
    )
    return f"{consumer.index_url}?{query}"


def initiate(
    consumer: OAuth1Consumer,
    *,
    callback: str = "oob",
    session: requests.Session | None = None,
) -> tuple[str, RequestToken]:
    """Start a handshake: get a request token and the URL to send the volunteer to.

    :param callback: ``oob`` to use the callback registered with the consumer;
        or a full URL, which the wiki accepts only if the consumer was
        registered with "callback is a prefix" and the URL starts with it.
    :return: (authorize URL, request token).
    :raises HandshakeError: if the wiki refuses (bad consumer, wrong callback…).
    """
    http = _session(session, consumer)
    # oauth_callback goes in the query, as MediaWiki's own clients send it;
    # it is still covered by the signature.
    params = {"title": "Special:OAuth/initiate", "format": "json", "oauth_callback": callback}
    response = _get(
        http, consumer, params, OAuth1(consumer.key, client_secret=consumer.secret), "initiate"
    )
    key, secret = _token_from(response, "initiate")
    request_token = RequestToken(key, secret)
    return authorize_url(consumer, request_token), request_token


def complete(
    consumer: OAuth1Consumer,
    request_token: RequestToken,
    verifier: str,
    *,
    session: requests.Session | None = None,
) -> AccessToken:
    """Exchange the approved request token and the callback's verifier for an access token.

    Check the callback first with :func:`oauth.callback.oauth1_verifier`.

    :raises HandshakeError: if the wiki refuses (expired or reused request token…).
    """
    http = _session(session, consumer)
    auth = OAuth1(
        consumer.key,
        client_secret=consumer.secret,
        resource_owner_key=request_token.key,
        resource_owner_secret=request_token.secret,
        verifier=verifier,
    )
    response = _get(
        http, consumer, {"title": "Special:OAuth/token", "format": "json"}, auth, "token"
    )
    key, secret = _token_from(response, "token")
    return AccessToken(key, secret)


def api_auth(consumer: OAuth1Consumer, access_token: AccessToken) -> OAuth1:
    """A requests auth object that signs requests (e.g. to ``api.php``) as the volunteer."""
    return OAuth1(
        consumer.key,
        client_secret=consumer.secret,
        resource_owner_key=access_token.key,
        resource_owner_secret=access_token.secret,
    )


def new_nonce() -> str:
    """A fresh OAuth nonce: 30 random hex digits.

    30 characters of ``[0-9a-f]`` suits every server we know (oauthlib-based
    ones refuse nonces longer than 30 by default).
    """
    return secrets.token_hex(15)


def identify(
    consumer: OAuth1Consumer,
    access_token: AccessToken,
    *,
    session: requests.Session | None = None,
    now: float | None = None,
) -> Identity:
    """Ask the wiki who authorized ``access_token`` and verify its signed answer.

    The nonce of the signed request is ours, so the JWT's ``nonce`` claim
    proves the answer was made for this request and is not a replay.

    :raises IdentifyError: if the wiki refuses the token (e.g. revoked:
        reason ``provider_error``) or its statement does not verify.
    """
    http = _session(session, consumer)
    nonce = new_nonce()
    auth = OAuth1(
        consumer.key,
        client_secret=consumer.secret,
        resource_owner_key=access_token.key,
        resource_owner_secret=access_token.secret,
        nonce=nonce,
    )
    response = _get(http, consumer, {"title": "Special:OAuth/identify"}, auth, "identify")
    body = response.text.strip()
    # identify answers HTTP 200 even on errors, with a JSON error body.
    if body.startswith("{"):
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = _error_of(payload)
        code, message = error if error else ("bad-response", "unreadable JSON")
        raise IdentifyError(
            "provider_error",
            detail=f"identify: {code}: {message}",
            message="The wiki did not accept your authorization; it may have been revoked. "
            "Please log in again.",
        )
    if response.status_code != 200:
        raise IdentifyError("provider_error", detail=f"identify: HTTP {response.status_code}")
    return verify_identify_jwt(
        body,
        consumer_key=consumer.key,
        consumer_secret=consumer.secret,
        issuer=consumer.issuer,
        nonce=nonce,
        leeway=consumer.leeway,
        now=now,
    )
