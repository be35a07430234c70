"""Who a volunteer is on the wiki, as the wiki's OAuth provider states it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oauth.errors import BlockedUserError, IdentifyError


@dataclass(frozen=True)
class Identity:
    """A user statement from ``Special:OAuth/identify`` or ``oauth2/resource/profile``.

    :param username: the wiki user name, e.g. ``Carol Example``.
    :param sub: the central user id (stable across renames and wikis).
    :param groups: effective user groups, e.g. ``("*", "user", "vrt-permissions")``.
    :param rights: user rights on the provider wiki.
    :param grants: OAuth grants the volunteer gave the desk.
    :param blocked: whether the account is blocked on the provider wiki.
    :param editcount: number of edits.
    :param confirmed_email: whether the account has a confirmed e-mail address.
    :param registered: when the account was created (None for very old accounts).
    """

    username: str
    sub: int
    groups: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()
    blocked: bool = False
    editcount: int = 0
    confirmed_email: bool = False
    registered: datetime | None = None

    def in_group(self, group: str) -> bool:
        """Tell whether the volunteer is a member of ``group`` on the wiki."""
        return group in self.groups


def ensure_not_blocked(identity: Identity) -> Identity:
    """Refuse a blocked volunteer.

    MediaWiki lets a blocked user authorize an OAuth consumer and answers
    identify with ``blocked: true``, so the consumer itself must refuse.

    :raises BlockedUserError: if ``identity.blocked``.
    :return: the identity, for chaining.
    """
    if identity.blocked:
        raise BlockedUserError(identity.username)
    return identity


def parse_registration(value: object) -> datetime | None:
    """Parse MediaWiki's registration time.

    MediaWiki states it as a 14-digit ``YYYYMMDDHHMMSS`` timestamp (TS_MW) in
    identify and profile, and as ISO 8601 in the action API; accept both.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise IdentifyError("bad_claim", detail=f"registered is a {type(value).__name__}")
    try:
        if len(value) == 14 and value.isdigit():
            return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IdentifyError("bad_claim", detail="registered is not a timestamp") from exc


def _str_list(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise IdentifyError("bad_claim", detail=f"{name} is not a list of strings")
    return tuple(value)


def _bool(claims: Mapping[str, Any], name: str) -> bool:
    value = claims.get(name, False)
    if not isinstance(value, bool):
        raise IdentifyError("bad_claim", detail=f"{name} is not a boolean")
    return value


def identity_from_claims(claims: Mapping[str, Any]) -> Identity:
    """Build an :class:`Identity` from verified identify claims or a profile.

    :raises IdentifyError: (``missing_claim`` or ``bad_claim``) when a claim
        is absent or of the wrong type. A hidden user (MediaWiki then sends
        only ``sub`` and ``blocked``) has no ``username`` and is refused.
    """
    username = claims.get("username")
    if not isinstance(username, str) or not username:
        raise IdentifyError("missing_claim", detail="no username in the user statement")
    sub = claims.get("sub")
    # Extension:OAuth states the central id as a string ("3") in identify and
    # the OAuth 2 profile; older providers and imitations send an integer.
    if isinstance(sub, str) and sub.isdigit():
        sub = int(sub)
    if not isinstance(sub, int) or isinstance(sub, bool):
        raise IdentifyError("bad_claim", detail="sub is not a central user id")
    editcount = claims.get("editcount", 0)
    if not isinstance(editcount, int) or isinstance(editcount, bool):
        raise IdentifyError("bad_claim", detail="editcount is not an integer")
    return Identity(
        username=username,
        sub=sub,
        groups=_str_list(claims, "groups"),
        rights=_str_list(claims, "rights"),
        grants=_str_list(claims, "grants"),
        blocked=_bool(claims, "blocked"),
        editcount=editcount,
        confirmed_email=_bool(claims, "confirmed_email"),
        registered=parse_registration(claims.get("registered")),
    )
