"""Reading pages and saving edits through a logged-in pywikibot site.

Shared by the tagging batches and the page writes: both read a page as the
editor, decide, and save against what they read, so a concurrent edit comes
back as an edit conflict rather than being overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wikibridge.wiki.pages import Snapshot, query_for, snapshots


def read_as(site: Any, titles: Sequence[str]) -> dict[str, Snapshot]:
    """Snapshots of ``titles`` (at most 50) read through ``site``, keyed by the titles given."""
    from pywikibot.data.api import Request

    data = Request(site=site, parameters=query_for(titles)).submit()
    return snapshots(data, titles)


def edit_params(
    site: Any, snap: Snapshot, summary: str, *, as_bot: bool, create: bool = False
) -> dict[str, Any]:
    """An ``action=edit`` request against ``snap`` (add ``text`` or ``undo``).

    An existing page is edited with its base and start timestamps (a change
    or a deletion since the read is refused, not overwritten) and never
    re-created; a missing page (``create``) only if it is still missing.
    """
    params: dict[str, Any] = {
        "action": "edit",
        "title": snap.title,
        "summary": summary,
        "starttimestamp": snap.read_at,
        "watchlist": "nochange",
        "assert": "bot" if as_bot else "user",
        "token": site.tokens["csrf"],
        "formatversion": "2",
    }
    if snap.exists:
        params["basetimestamp"] = snap.timestamp
        params["baserevid"] = snap.revision
        params["nocreate"] = "1"
    elif create:
        params["createonly"] = "1"
    else:
        params["nocreate"] = "1"
    if as_bot:
        params["bot"] = "1"
    return params
