"""Whether a volunteer is blocked on a wiki, asked of the wiki itself.

MediaWiki lets a blocked user keep an OAuth token, and the desk's login
lasts hours: so the desk asks again while the volunteer works (web requests,
every ``BLOCK_CHECK_SECONDS``) and before a batch edits (the batch runner reads
the block from pywikibot's ``userinfo``). A partial block (some pages or
namespaces) does not end a login: the wiki refuses those edits one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from oauth.mediawiki1 import DEFAULT_USER_AGENT

__all__ = ["Block", "BlockCheckFailed", "block_from", "login_wiki", "sitewide_block"]


class BlockCheckFailed(Exception):
    """The wiki could not be asked (down, slow, or an answer we cannot read)."""


@dataclass(frozen=True)
class Block:
    """A sitewide block of a user on a wiki."""

    wiki: str
    reason: str
    expiry: str


def block_from(wiki: str, info: Mapping[str, Any]) -> Block | None:
    """The sitewide block stated in a ``userinfo`` or ``users`` entry, or None.

    Reads both formats: ``blockid``/``blockreason``/``blockexpiry``, with
    ``blockpartial`` true for a partial block.
    """
    if "blockid" not in info and "blockinfo" not in info:
        return None
    if info.get("blockpartial") in (True, ""):  # formatversion 2 and 1
        return None
    return Block(
        wiki=wiki,
        reason=str(info.get("blockreason", "")),
        expiry=str(info.get("blockexpiry", "")),
    )


def sitewide_block(wiki: str, api_url: str, username: str, *, timeout: float = 5.0) -> Block | None:
    """Ask ``api_url`` anonymously whether ``username`` is blocked there (sitewide).

    Anonymous ``list=users``: it needs no token, so an expired one does not
    get in the way, and it costs one small request.

    :raises BlockCheckFailed: if the wiki does not answer or answers nonsense.
    """
    try:
        response = requests.get(
            api_url,
            params={
                "action": "query",
                "list": "users",
                "ususers": username,
                "usprop": "blockinfo",
                "format": "json",
                "formatversion": "2",
            },
            headers={"User-Agent": DEFAULT_USER_AGENT},
            timeout=timeout,
        )
        users = response.json()["query"]["users"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise BlockCheckFailed(f"{wiki}: {type(exc).__name__}") from exc
    if not users or not isinstance(users[0], dict):
        raise BlockCheckFailed(f"{wiki}: no answer about {username}")
    return block_from(wiki, users[0])


def login_wiki(config: Mapping[str, Any]) -> tuple[str, str]:
    """(name, ``api.php``) of the wiki volunteers log in on.

    The name is the ``WIKIS`` entry at that address (``meta``), else its host.
    """
    api_url = str(config["OAUTH_INDEX_URL"]).rsplit("/", 1)[0] + "/api.php"
    for name, wiki in dict(config.get("WIKIS", {})).items():
        if wiki.get("api_url") == api_url:
            return str(name), api_url
    return urlsplit(api_url).netloc, api_url
