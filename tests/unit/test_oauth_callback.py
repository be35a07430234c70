"""Callbacks that do not belong to the login this browser started are refused."""

from __future__ import annotations

import pytest

from oauth import CallbackMismatchError, check_oauth1_token, check_oauth2_state, oauth1_verifier


def test_matching_state_passes() -> None:
    check_oauth2_state("s3cr3t-state", "s3cr3t-state")


@pytest.mark.parametrize(
    ("expected", "received"),
    [
        ("s3cr3t-state", "other-state"),
        ("s3cr3t-state", ""),
        ("s3cr3t-state", None),
        (None, "s3cr3t-state"),
        ("", ""),
        ("s3cr3t-state", "s3cr3t-state "),
    ],
)
def test_state_mismatch_is_refused(expected: str | None, received: str | None) -> None:
    with pytest.raises(CallbackMismatchError) as info:
        check_oauth2_state(expected, received)
    assert "start the login again" in info.value.message


def test_non_ascii_state_is_refused_not_crashing() -> None:
    with pytest.raises(CallbackMismatchError):
        check_oauth2_state("state", "stäte")


def test_oauth1_token_must_match_request_token() -> None:
    check_oauth1_token("req-token", "req-token")
    with pytest.raises(CallbackMismatchError):
        check_oauth1_token("req-token", "someone-elses-token")
    with pytest.raises(CallbackMismatchError):
        check_oauth1_token(None, "req-token")


def test_oauth1_verifier_is_returned_for_our_callback() -> None:
    query = {"oauth_token": "req-token", "oauth_verifier": "v123"}
    assert oauth1_verifier("req-token", query) == "v123"


@pytest.mark.parametrize(
    "query",
    [
        {"oauth_token": "other", "oauth_verifier": "v123"},
        {"oauth_verifier": "v123"},
        {"oauth_token": "req-token"},
        {"oauth_token": "req-token", "oauth_verifier": ""},
    ],
)
def test_foreign_or_incomplete_oauth1_callback_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(CallbackMismatchError):
        oauth1_verifier("req-token", query)
