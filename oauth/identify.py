"""Verification of the JWT that MediaWiki's ``Special:OAuth/identify`` returns.

The statement is signed with HS256 using the consumer secret. Everything in
it is checked here, in one pure function, because a forged or replayed
statement would let someone work on the desk under another volunteer's name.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import jwt

from oauth.errors import IdentifyError
from oauth.identity import Identity, identity_from_claims

DEFAULT_LEEWAY = 30.0
"""Seconds of clock difference tolerated on ``iat`` and ``exp``."""

# The only algorithm MediaWiki uses; "none" and asymmetric algorithms (which
# invite key-confusion attacks) are refused before any other check.
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "nonce"]


def _normalize_issuer(issuer: str) -> str:
    # $wgCanonicalServer has no trailing slash; tolerate one in our config.
    return issuer.rstrip("/")


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentifyError("bad_claim", detail=f"{name} is not a number")
    return float(value)


def verify_identify_jwt(
    token: str,
    *,
    consumer_key: str,
    consumer_secret: str,
    issuer: str,
    nonce: str,
    leeway: float = DEFAULT_LEEWAY,
    now: float | None = None,
) -> Identity:
    """Verify an identify JWT and return who it names.

    :param token: the body of the identify response.
    :param consumer_key: our consumer key; must be the ``aud`` claim.
    :param consumer_secret: our consumer secret; the HS256 key.
    :param issuer: the wiki's canonical server, e.g. ``https://meta.wikimedia.org``;
        must be the ``iss`` claim.
    :param nonce: the ``oauth_nonce`` we signed the identify request with; the
        ``nonce`` claim must echo it, or the statement is a replay.
    :param leeway: seconds of clock difference tolerated on ``iat`` and ``exp``.
    :param now: the current Unix time (for tests); defaults to the clock.
    :raises IdentifyError: with ``reason`` naming the failed check.
    """
    if not token or token.count(".") != 2:
        raise IdentifyError("malformed", detail="the answer is not a JWT")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise IdentifyError("malformed", detail="the JWT header cannot be read") from exc
    if header.get("alg") != _ALGORITHM:
        raise IdentifyError("algorithm", detail=f"alg {header.get('alg')!r} is not HS256")

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            consumer_secret,
            algorithms=[_ALGORITHM],
            audience=consumer_key,
            options={
                "require": list(_REQUIRED_CLAIMS),
                # Time is checked below against ``now``; PyJWT only knows the clock.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                # MediaWiki's sub is an integer, which PyJWT's sub check refuses.
                "verify_sub": False,
                "verify_iss": False,
                "strict_aud": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise IdentifyError(
            "signature", detail="signature does not verify (wrong consumer secret?)"
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise IdentifyError("missing_claim", detail=f"claim {exc.claim!r} is missing") from exc
    except jwt.InvalidAudienceError as exc:
        raise IdentifyError("audience", detail="aud is not our consumer key") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise IdentifyError("algorithm", detail="algorithm not allowed") from exc
    except jwt.DecodeError as exc:
        raise IdentifyError("malformed", detail="the JWT cannot be decoded") from exc
    except jwt.InvalidTokenError as exc:
        raise IdentifyError("malformed", detail=type(exc).__name__) from exc

    iss = claims["iss"]
    if not isinstance(iss, str) or _normalize_issuer(iss) != _normalize_issuer(issuer):
        raise IdentifyError("issuer", detail=f"iss {iss!r} is not {issuer!r}")

    current = time.time() if now is None else now
    if _number(claims, "exp") < current - leeway:
        raise IdentifyError("expired", detail="the statement has expired")
    if _number(claims, "iat") > current + leeway:
        raise IdentifyError("not_yet_valid", detail="the statement is issued in the future")

    claimed_nonce = claims["nonce"]
    if (
        not nonce
        or not isinstance(claimed_nonce, str)
        or not hmac.compare_digest(claimed_nonce.encode(), nonce.encode())
    ):
        raise IdentifyError("nonce", detail="nonce does not match our request (replay?)")

    return identity_from_claims(claims)
