"""The identify JWT check refuses forged, stale and replayed statements."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from oauth import IdentifyError, verify_identify_jwt
from oauth.identity import Identity

KEY = "0123456789abcdef0123456789abcdef"
SECRET = "f2b6f6ccc47e9f6b298eaa74789897b98dc6a594"
OTHER_SECRET = "0000000000000000000000000000000000000000"
ISSUER = "https://meta.wikimedia.org"
NONCE = "1b6ac2b9d3f0a4e6c8d2b4f6a8c0e2"
NOW = 1_700_000_000.0


def claims(**override: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": KEY,
        "exp": int(NOW) + 100,
        "iat": int(NOW),
        "sub": 4242,
        "username": "Carol Example",
        "editcount": 17,
        "confirmed_email": True,
        "blocked": False,
        "registered": "20160602101500",
        "groups": ["*", "user", "autoconfirmed", "vrt-permissions"],
        "rights": ["read", "edit"],
        "grants": ["basic", "editpage"],
        "nonce": NONCE,
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def verify(token: str, **kwargs: Any) -> Identity:
    args: dict[str, Any] = {
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "issuer": ISSUER,
        "nonce": NONCE,
        "now": NOW,
    }
    args.update(kwargs)
    return verify_identify_jwt(token, **args)


def reason_of(token: str, **kwargs: Any) -> str:
    with pytest.raises(IdentifyError) as info:
        verify(token, **kwargs)
    return info.value.reason


def test_good_statement_is_accepted() -> None:
    identity = verify(sign(claims()))
    assert identity.username == "Carol Example"
    assert identity.sub == 4242
    assert identity.in_group("vrt-permissions")
    assert identity.grants == ("basic", "editpage")
    assert identity.editcount == 17
    assert identity.confirmed_email is True
    assert identity.blocked is False
    assert identity.registered is not None and identity.registered.year == 2016


def test_trailing_slash_in_configured_issuer_is_tolerated() -> None:
    assert verify(sign(claims()), issuer=ISSUER + "/").username == "Carol Example"


def test_wrong_secret_is_refused() -> None:
    assert reason_of(sign(claims(), secret=OTHER_SECRET)) == "signature"


def test_wrong_audience_is_refused() -> None:
    assert reason_of(sign(claims(aud="someoneelse0123456789abcdef0123"))) == "audience"


def test_wrong_issuer_is_refused() -> None:
    assert reason_of(sign(claims(iss="https://evil.example.org"))) == "issuer"


def test_expired_statement_is_refused() -> None:
    token = sign(claims(iat=int(NOW) - 500, exp=int(NOW) - 400))
    assert reason_of(token) == "expired"


def test_expiry_within_leeway_is_accepted() -> None:
    token = sign(claims(iat=int(NOW) - 120, exp=int(NOW) - 20))
    assert verify(token, leeway=30).username == "Carol Example"
    assert reason_of(token, leeway=10) == "expired"


def test_statement_issued_in_the_future_is_refused() -> None:
    token = sign(claims(iat=int(NOW) + 300, exp=int(NOW) + 400))
    assert reason_of(token) == "not_yet_valid"


def test_replayed_nonce_is_refused() -> None:
    assert reason_of(sign(claims()), nonce="another-nonce-of-another-request") == "nonce"


def test_empty_expected_nonce_is_refused() -> None:
    assert reason_of(sign(claims(nonce="")), nonce="") in {"nonce", "missing_claim"}


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "sub", "nonce"])
def test_missing_required_claim_is_refused(claim: str) -> None:
    payload = claims()
    del payload[claim]
    assert reason_of(sign(payload)) in {"missing_claim", "audience"}


def test_missing_username_is_refused() -> None:
    payload = claims()
    del payload["username"]
    assert reason_of(sign(payload)) == "missing_claim"


def test_badly_typed_claim_is_refused() -> None:
    assert reason_of(sign(claims(groups="sysop"))) == "bad_claim"
    assert reason_of(sign(claims(blocked="no"))) == "bad_claim"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused() -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims())}."
    assert reason_of(token) == "algorithm"


def test_other_hmac_algorithm_is_refused() -> None:
    assert reason_of(sign(claims(), secret=SECRET * 2, alg="HS512")) == "algorithm"


def test_header_claiming_hs256_over_a_forged_body_is_refused() -> None:
    good = sign(claims())
    header, _, signature = good.split(".")
    forged = f"{header}.{_b64(claims(username='Mallory'))}.{signature}"
    assert reason_of(forged) == "signature"


@pytest.mark.parametrize("garbage", ["", "not a jwt", "a.b.c", '{"error": "x"}'])
def test_garbage_is_refused(garbage: str) -> None:
    assert reason_of(garbage) == "malformed"


def test_blocked_claim_is_reported() -> None:
    assert verify(sign(claims(blocked=True))).blocked is True


def test_real_clock_is_used_by_default() -> None:
    now = time.time()
    token = sign(claims(iat=int(now), exp=int(now) + 100))
    assert verify(token, now=None).username == "Carol Example"
    stale = sign(claims(iat=int(now) - 1000, exp=int(now) - 900))
    assert reason_of(stale, now=None) == "expired"


def test_error_message_is_for_volunteers_and_holds_no_secret() -> None:
    with pytest.raises(IdentifyError) as info:
        verify(sign(claims(), secret=OTHER_SECRET))
    assert "log in again" in info.value.message
    assert SECRET not in str(info.value) and OTHER_SECRET not in str(info.value)
