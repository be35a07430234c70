"""A wiki account's public record, read anonymously from the wiki's API.

Two small reads: ``list=users`` (edit count, registration, groups, a block in
force) for the eligibility check, and the block log (``list=logevents``) so
administrators see blocks past and present.  Bounded in time; a wiki that
does not answer raises :class:`UserRecordUnavailable`, never hangs a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from oauth.errors import IdentifyError
from oauth.identity import parse_registration
from oauth.mediawiki1 import DEFAULT_USER_AGENT
from tickets.eligibility import EligibilityFacts

__all__ = [
    "BlockEvent",
    "UserRecord",
    "UserRecordReader",
    "UserRecordUnavailable",
    "read_block_log",
    "read_user_record",
]

TIMEOUT = 10.0


class UserRecordUnavailable(Exception):
    """The wiki could not be asked, or its answer could not be read."""


@dataclass(frozen=True)
class BlockEvent:
    """One entry of the block log: a block, change or unblock."""

    action: str
    by: str
    timestamp: dt.datetime | None
    expiry: str = ""
    comment: str = ""


@dataclass(frozen=True)
class UserRecord:
    """What the wiki says of an account now."""

    username: str
    exists: bool
    editcount: int = 0
    registered: dt.datetime | None = None
    groups: tuple[str, ...] = ()
    blocked: bool = False
    block_reason: str = ""
    block_expiry: str = ""
    blocks: tuple[BlockEvent, ...] = field(default_factory=tuple)

    def facts(self) -> EligibilityFacts:
        """The record as eligibility facts (no word on the e-mail address)."""
        return EligibilityFacts(
            username=self.username,
            editcount=self.editcount,
            registered=self.registered,
            blocked=self.blocked,
            confirmed_email=None,
            groups=tuple(g for g in self.groups if g != "*"),
            sources=("wiki",),
        )


#: How the web layer reads a record: ``(api_url, username) -> UserRecord``;
#: tests put a fake in ``app.extensions["user_record_reader"]``.
UserRecordReader = Callable[[str, str], UserRecord]


def _query(api_url: str, params: dict[str, str], timeout: float) -> dict[str, Any]:
    try:
        response = requests.get(
            api_url,
            params={"action": "query", "format": "json", "formatversion": "2", **params},
            headers={"User-Agent": DEFAULT_USER_AGENT},
            timeout=timeout,
        )
        response.raise_for_status()
        query = response.json()["query"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise UserRecordUnavailable(f"{api_url}: {type(exc).__name__}") from exc
    if not isinstance(query, dict):
        raise UserRecordUnavailable(f"{api_url}: no query in the answer")
    return query


def _timestamp(value: object) -> dt.datetime | None:
    try:
        return parse_registration(value)
    except IdentifyError:  # a malformed date loses only itself
        return None


def read_block_log(
    api_url: str, username: str, *, timeout: float = TIMEOUT, limit: int = 50
) -> tuple[BlockEvent, ...]:
    """Blocks, changes and unblocks of ``username``, newest first.

    :raises UserRecordUnavailable: the wiki did not answer.
    """
    query = _query(
        api_url,
        {
            "list": "logevents",
            "letype": "block",
            "letitle": f"User:{username}",
            "leprop": "user|timestamp|comment|details|type",
            "lelimit": str(limit),
        },
        timeout,
    )
    events = []
    for entry in query.get("logevents", []):
        if not isinstance(entry, dict):
            continue
        params = entry.get("params") or {}
        events.append(
            BlockEvent(
                action=str(entry.get("action", "")),
                by=str(entry.get("user", "")),
                timestamp=_timestamp(entry.get("timestamp")),
                expiry=str(params.get("expiry", "") if isinstance(params, dict) else ""),
                comment=str(entry.get("comment", "")),
            )
        )
    return tuple(events)


def read_user_record(api_url: str, username: str, *, timeout: float = TIMEOUT) -> UserRecord:
    """The account's record and its block log, asked anonymously of ``api_url``.

    :raises UserRecordUnavailable: the wiki did not answer or answered nonsense.
    """
    query = _query(
        api_url,
        {
            "list": "users",
            "ususers": username,
            "usprop": "blockinfo|editcount|registration|groups",
        },
        timeout,
    )
    users = query.get("users")
    if not isinstance(users, list) or not users or not isinstance(users[0], dict):
        raise UserRecordUnavailable(f"{api_url}: no answer about the user")
    user = users[0]
    if user.get("missing") or user.get("invalid"):
        return UserRecord(username=username, exists=False)
    return UserRecord(
        username=str(user.get("name", username)),
        exists=True,
        editcount=int(user.get("editcount") or 0),
        registered=_timestamp(user.get("registration")),
        groups=tuple(str(g) for g in user.get("groups", [])),
        # A partial block (some pages) does not keep anyone from helping at the desk.
        blocked="blockid" in user and not user.get("blockpartial"),
        block_reason=str(user.get("blockreason", "")),
        block_expiry=str(user.get("blockexpiry", "")),
        blocks=read_block_log(api_url, username, timeout=timeout),
    )
