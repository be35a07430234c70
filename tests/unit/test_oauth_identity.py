"""Identity statements: blocked volunteers are refused, claims are typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oauth import BlockedUserError, IdentifyError, ensure_not_blocked
from oauth.identity import Identity, identity_from_claims, parse_registration


def test_blocked_volunteer_is_refused_with_a_clear_message() -> None:
    with pytest.raises(BlockedUserError) as info:
        ensure_not_blocked(Identity(username="Mallory", sub=4, blocked=True))
    assert "Your wiki account (Mallory) is blocked" in info.value.message


def test_unblocked_volunteer_passes() -> None:
    alice = Identity(username="Alice", sub=1)
    assert ensure_not_blocked(alice) is alice


def test_both_registration_formats_are_read() -> None:
    expected = datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert parse_registration("20240301123005") == expected
    assert parse_registration("2024-03-01T12:30:05Z") == expected
    assert parse_registration(None) is None
    with pytest.raises(IdentifyError):
        parse_registration("yesterday")


def test_profile_shape_is_read() -> None:
    identity = identity_from_claims(
        {
            "sub": "12",
            "username": "Bob",
            "editcount": 0,
            "confirmed_email": False,
            "blocked": False,
            "registered": None,
            "groups": ["*", "user"],
            "rights": ["read"],
            "grants": ["basic"],
        }
    )
    assert identity.sub == 12
    assert identity.registered is None


def test_hidden_user_statement_is_refused() -> None:
    with pytest.raises(IdentifyError) as info:
        identity_from_claims({"sub": 99, "blocked": True})
    assert info.value.reason == "missing_claim"
