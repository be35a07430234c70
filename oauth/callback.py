"""Checks that a callback from the wiki belongs to the login this browser started.

Both are pure: the web layer keeps the expected value in its session and
passes it in together with the callback's query parameters.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from oauth.errors import CallbackMismatchError


def _same(expected: str, received: str) -> bool:
    # Constant time, so the expected value cannot be guessed byte by byte.
    return hmac.compare_digest(expected.encode(), received.encode())


def check_oauth2_state(expected: str | None, received: str | None) -> None:
    """Compare the OAuth 2 ``state`` of a callback with the one we issued.

    :param expected: the state stored in the session when the login started
        (None when the session has none, e.g. it expired).
    :param received: the ``state`` query parameter of the callback.
    :raises CallbackMismatchError: if either is missing or they differ.
    """
    if not expected:
        raise CallbackMismatchError("no OAuth 2 login is pending in this session")
    if not received:
        raise CallbackMismatchError("the callback has no state")
    if not _same(expected, received):
        raise CallbackMismatchError("the callback's state is not the one we issued")


def check_oauth1_token(expected_request_token: str | None, received: str | None) -> None:
    """Compare the ``oauth_token`` of an OAuth 1.0a callback with our request token.

    :param expected_request_token: the request token key stored in the session
        when the login started.
    :param received: the ``oauth_token`` query parameter of the callback.
    :raises CallbackMismatchError: if either is missing or they differ.
    """
    if not expected_request_token:
        raise CallbackMismatchError("no OAuth 1.0a login is pending in this session")
    if not received:
        raise CallbackMismatchError("the callback has no oauth_token")
    if not _same(expected_request_token, received):
        raise CallbackMismatchError("the callback's oauth_token is not our request token")


def oauth1_verifier(expected_request_token: str | None, query: Mapping[str, str]) -> str:
    """Check an OAuth 1.0a callback and return its ``oauth_verifier``.

    :param expected_request_token: the request token key stored in the session.
    :param query: the callback's query parameters.
    :raises CallbackMismatchError: on a foreign or incomplete callback.
    """
    check_oauth1_token(expected_request_token, query.get("oauth_token"))
    verifier = query.get("oauth_verifier")
    if not verifier:
        raise CallbackMismatchError("the callback has no oauth_verifier")
    return verifier
