"""Pages as the wiki's API returns them: one query reads up to 50 with their text.

The same request is sent by the light reader (mwclient, anonymous) and by the
batch runner (pywikibot, as the volunteer), so both read the same snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: MediaWiki's limit of titles per query for users without ``apihighlimits``.
MAX_TITLES = 50

#: Parameters of the reading query (with ``titles``): content, ids, timestamps,
#: the last editor and summary (to recognise our own edit) and edit protection.
READ_QUERY: dict[str, str] = {
    "action": "query",
    "prop": "revisions|info",
    "rvprop": "ids|timestamp|user|comment|content",
    "rvslots": "main",
    "inprop": "protection",
    "curtimestamp": "1",
    "formatversion": "2",
}

FILE_NAMESPACE = 6

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = MAX_TITLES) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Snapshot:
    """One page as read: enough to decide an edit and to detect a conflict."""

    title: str
    exists: bool
    namespace: int = 0
    redirect: bool = False
    #: Why the wiki rejected the title ("" when it is valid).
    invalid: str = ""
    revision: int | None = None
    timestamp: str = ""
    user: str = ""
    comment: str = ""
    text: str = ""
    #: Edit protection levels ("sysop", "autoconfirmed"…), cascading included.
    protection: tuple[str, ...] = field(default_factory=tuple)
    #: The wiki's clock when the page was read (``starttimestamp`` of an edit).
    read_at: str = ""


def query_for(titles: Iterable[str]) -> dict[str, str]:
    """The reading query's parameters for ``titles`` (at most :data:`MAX_TITLES`)."""
    titles = list(titles)
    if len(titles) > MAX_TITLES:
        raise ValueError(f"at most {MAX_TITLES} titles per query")
    return {**READ_QUERY, "titles": "|".join(titles)}


def snapshots(data: dict[str, Any], requested: Iterable[str]) -> dict[str, Snapshot]:
    """Turn a reading query's answer into snapshots keyed by the titles asked for.

    The wiki answers under its own spelling of each title (``normalized``), so
    the mapping back keeps the caller's keys.
    """
    query = data.get("query", {})
    read_at = str(data.get("curtimestamp", ""))
    spelled = {n["from"]: n["to"] for n in query.get("normalized", [])}
    by_title: dict[str, Snapshot] = {}
    for page in query.get("pages", []):
        by_title[page.get("title", "")] = _snapshot(page, read_at)
    out = {}
    for title in requested:
        wiki_title = spelled.get(title, title)
        out[title] = by_title.get(wiki_title) or Snapshot(
            title=wiki_title, exists=False, read_at=read_at
        )
    return out


def _snapshot(page: dict[str, Any], read_at: str) -> Snapshot:
    title = str(page.get("title", ""))
    if "invalid" in page:
        return Snapshot(title=title, exists=False, invalid=str(page.get("invalidreason", "")))
    protection = tuple(
        str(p.get("level", "")) for p in page.get("protection", []) if p.get("type") == "edit"
    )
    if "missing" in page:
        return Snapshot(
            title=title,
            exists=False,
            namespace=int(page.get("ns", 0)),
            protection=protection,
            read_at=read_at,
        )
    revision = (page.get("revisions") or [{}])[0]
    main = revision.get("slots", {}).get("main", {})
    return Snapshot(
        title=title,
        exists=True,
        namespace=int(page.get("ns", 0)),
        redirect=bool(page.get("redirect", False)),
        revision=revision.get("revid"),
        timestamp=str(revision.get("timestamp", "")),
        user=str(revision.get("user", "")),
        comment=str(revision.get("comment", "")),
        text=str(main.get("content", "")),
        protection=protection,
        read_at=read_at,
    )
