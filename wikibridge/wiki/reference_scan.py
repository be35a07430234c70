"""Finding every page of a wiki that cites a ticket: the full scan and the incremental sync.

Both read with an anonymous mwclient site handed in, and never ask for a page
at a time. The full scan walks the API's list queries as generators that also
return each page's text (transclusions of every permission and pending
template, external links to ticket URLs, interwiki backlinks), 50 pages a
request (500 where the account may). The sync follows recent changes from
where it stopped and reads the pages that changed, 50 a request.

Each request's pages are recorded and the cursor (the API's continuation) is
committed in one transaction, so a run killed at any point resumes where its
last commit left it, and recording a page twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import utcnow
from tickets.references import (
    PageText,
    Recorded,
    WikiReference,
    cursor,
    record_missing,
    record_pages,
)
from wikibridge.wiki.references import ReferenceNames, find_references, title_key

log = logging.getLogger(__name__)

#: Pages per request with their text: the API's limit without ``apihighlimits``.
PAGES_PER_REQUEST = 50
HIGH_PAGES_PER_REQUEST = 500


class ScanError(Exception):
    """The wiki could not be read; the cursor keeps what was done."""


@dataclass
class Progress:
    """How far a scan or sync has come, for a progress bar."""

    wiki: str
    what: str
    done: int = 0
    #: Pages a second list named again after this scan had read them (not read twice).
    skipped: int = 0
    total: int | None = None
    requests: int = 0
    recorded: Recorded = field(default_factory=Recorded)


Report = Callable[[Progress], None]


def _query(site: Any, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    import mwclient.errors
    import requests

    progress.requests += 1
    try:
        data: dict[str, Any] = site.get("query", **params)
    except (requests.RequestException, mwclient.errors.MwClientError) as exc:
        raise ScanError(f"the wiki could not be read: {exc}") from exc
    return data


def _answers(site: Any, params: dict[str, Any], progress: Progress) -> Iterator[dict[str, Any]]:
    """Every answer to a query, following the API's continuation to the end."""
    params = dict(params)
    while True:
        data = _query(site, params, progress)
        yield data
        if "continue" not in data:
            return
        params.update(data["continue"])


def page_size(site: Any) -> int:
    """Pages with text per request for this account: 500 with ``apihighlimits``, else 50."""
    rights = getattr(site, "rights", None) or []
    return HIGH_PAGES_PER_REQUEST if "apihighlimits" in rights else PAGES_PER_REQUEST


def sources(
    names: ReferenceNames, url_patterns: Sequence[str], redirects: Iterable[str] = ()
) -> list[dict[str, str]]:
    """The list queries that together find every citing page, as generator parameters.

    A page transcluding a redirect is listed under the redirect's target too,
    so redirects get no query of their own (each such page would be read twice).
    """
    skip = {title_key(r) for r in redirects}
    found: list[dict[str, str]] = []
    for name in dict.fromkeys(title_key(n) for n in (*names.permission, *names.pending)):
        if name not in skip:
            found.append({"generator": "embeddedin", "geititle": f"Template:{name}"})
    for pattern in url_patterns:
        protocol, _, rest = pattern.partition("://")
        found.append(
            {"generator": "exturlusage", "geuquery": rest or protocol, "geuprotocol": protocol}
            if rest
            else {"generator": "exturlusage", "geuquery": pattern}
        )
    for prefix in (*names.number_prefixes, *names.id_prefixes):
        found.append({"generator": "iwbacklinks", "giwblprefix": prefix})
    return found


def _limit_key(source: dict[str, str]) -> str:
    return {"embeddedin": "geilimit", "exturlusage": "geulimit", "iwbacklinks": "giwbllimit"}[
        source["generator"]
    ]


_TEXT = {
    "prop": "revisions",
    "rvprop": "ids|content",
    "rvslots": "main",
    "formatversion": "2",
}


def _pages_of(data: dict[str, Any], names: ReferenceNames) -> tuple[list[PageText], list[int]]:
    """Pages with their text from a query answer, and the ids of pages that are missing."""
    texts: list[PageText] = []
    missing: list[int] = []
    for page in data.get("query", {}).get("pages", []):
        if page.get("missing") or page.get("invalid"):
            if page.get("pageid"):
                missing.append(int(page["pageid"]))
            continue
        revisions = page.get("revisions")
        if not revisions:
            continue  # its text comes with the continuation
        revision = revisions[0]
        content = revision.get("slots", {}).get("main", {}).get("content", "")
        texts.append(
            PageText(
                page_id=int(page["pageid"]),
                title=str(page["title"]),
                namespace=int(page.get("ns", 0)),
                revision=int(revision["revid"]),
                citations=find_references(str(content), names),
            )
        )
    return texts, missing


def _record(
    session: Session, wiki: str, pages: list[PageText], missing: list[int], progress: Progress
) -> None:
    outcome = record_pages(session, wiki, pages)
    gone = record_missing(session, wiki, missing) if missing else 0
    progress.recorded.added += outcome.added
    progress.recorded.gone += outcome.gone + gone
    progress.recorded.kept += outcome.kept
    progress.done += len(pages) + len(missing)


def template_redirects(site: Any, names: ReferenceNames, progress: Progress) -> dict[str, str]:
    """Redirects to the reference templates on this wiki: redirect name -> template name."""
    titles = [f"Template:{title_key(n)}" for n in (*names.permission, *names.pending)]
    found: dict[str, str] = {}
    for start in range(0, len(titles), PAGES_PER_REQUEST):
        params: dict[str, Any] = {
            "titles": "|".join(titles[start : start + PAGES_PER_REQUEST]),
            "prop": "redirects",
            "rdlimit": "max",
            "rdnamespace": "10",
            "formatversion": "2",
        }
        for data in _answers(site, params, progress):
            for page in data.get("query", {}).get("pages", []):
                target = str(page["title"]).split(":", 1)[1]
                for redirect in page.get("redirects", []):
                    found[str(redirect["title"]).split(":", 1)[1]] = target
    return found


def _list_params(source: dict[str, str]) -> dict[str, Any]:
    """A generator source as a plain list query of page ids, 500 a request."""
    generator = source["generator"]
    params: dict[str, Any] = {"list": generator, "formatversion": "2"}
    prefix = {"embeddedin": "ei", "exturlusage": "eu", "iwbacklinks": "iwbl"}[generator]
    for key, value in source.items():
        if key != "generator":
            params[prefix + key[len("g" + prefix) :]] = value
    params[prefix + "limit"] = "max"
    if generator == "exturlusage":
        params["euprop"] = "ids"
    return params


def _read_since(
    session_factory: Callable[[], Session], wiki: str, ids: Sequence[int], since: dt.datetime
) -> set[int]:
    """Which of ``ids`` this scan has read already (their references were seen since it began)."""
    if not ids:
        return set()
    with session_factory() as db:
        return set(
            db.scalars(
                select(WikiReference.page_id)
                .where(
                    WikiReference.wiki == wiki,
                    WikiReference.page_id.in_(list(ids)),
                    WikiReference.last_seen >= since,
                )
                .distinct()
            )
        )


def count_pages(site: Any, source: dict[str, str], progress: Progress) -> int:
    """How many pages a source lists (ids only, 500 a request), for the progress bar."""
    generator = source["generator"]
    return sum(
        len(data.get("query", {}).get(generator, []))
        for data in _answers(site, _list_params(source), progress)
    )


def scan(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    *,
    url_patterns: Sequence[str] = (),
    report: Report | None = None,
    restart: bool = False,
) -> Progress:
    """Scan ``wiki`` for every citing page, resuming a scan a kill interrupted.

    At the end, references that no page read in this scan still carries (on
    pages that stopped citing or were deleted) are read again and marked gone.
    """
    progress = Progress(wiki, "scan")
    with session_factory() as db:
        state = dict(cursor(db, wiki, "scan").state)
        if restart or not state or state.get("finished"):
            redirects = template_redirects(site, names, progress)
            state = {"started": utcnow().isoformat(), "source": 0, "continue": {}}
            state["redirects"] = redirects
            state["total"] = sum(
                count_pages(site, s, progress) for s in sources(names, url_patterns, redirects)
            )
            _save(db, wiki, "scan", state)
            db.commit()
    redirects = dict(state.get("redirects", {}))
    names = names.with_redirects(redirects)
    progress.total = int(state.get("total", 0)) or None
    progress.done = int(state.get("done", 0))
    limit = page_size(site)
    all_sources = sources(names, url_patterns, redirects)
    started = dt.datetime.fromisoformat(state["started"])
    for index in range(int(state["source"]), len(all_sources)):
        source = all_sources[index]
        if source["generator"] == "embeddedin":
            _scan_with_text(
                site, wiki, names, session_factory, state, index, source, limit, progress, report
            )
        else:
            _scan_by_ids(
                site, wiki, names, session_factory, state, index, source, started, progress, report
            )
    _sweep_unseen(site, wiki, names, session_factory, started, progress)
    with session_factory() as db:
        state.update(finished=utcnow().isoformat())
        _save(db, wiki, "scan", state)
        sync_state = cursor(db, wiki, "sync")
        if not sync_state.state:
            # The sync takes over from the moment the scan began: nothing edited
            # meanwhile is missed.
            sync_state.state = {"rcstart": _api_time(state["started"]), "seen": []}
        db.commit()
    if report:
        report(progress)
    return progress


def _keep_position(
    db: Session,
    wiki: str,
    state: dict[str, Any],
    index: int,
    more: dict[str, Any] | None,
    progress: Progress,
) -> None:
    """Where the scan goes on from (``more``: the API's continuation), for ``db`` to commit."""
    state.update(source=index if more else index + 1, done=progress.done)
    state["continue"] = more or {}
    _save(db, wiki, "scan", state)


def _scan_with_text(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    state: dict[str, Any],
    index: int,
    source: dict[str, str],
    limit: int,
    progress: Progress,
    report: Report | None,
) -> None:
    """A template's transclusions, their text in the same answers, 50 (or 500) a request.

    The next request goes out while this one's pages are parsed and stored:
    the wiki and this process work at the same time.
    """
    base: dict[str, Any] = {**_TEXT, **source, _limit_key(source): str(limit)}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference-scan") as ahead:
        pending = ahead.submit(_query, site, {**base, **(state.get("continue") or {})}, progress)
        while True:
            data = pending.result()
            more = data.get("continue")
            if more:
                pending = ahead.submit(_query, site, {**base, **more}, progress)
            pages, missing = _pages_of(data, names)
            with session_factory() as db:
                # What was recorded and where to go on from, in one transaction.
                _record(db, wiki, pages, missing, progress)
                _keep_position(db, wiki, state, index, more, progress)
                db.commit()
            if report:
                report(progress)
            if not more:
                return


def _scan_by_ids(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    state: dict[str, Any],
    index: int,
    source: dict[str, str],
    started: dt.datetime,
    progress: Progress,
    report: Report | None,
) -> None:
    """Pages a link list names (500 ids a request), read only if this scan has not yet.

    Permission templates render a link to the ticket, so the external-link list
    names most of the pages the template lists named already.
    """
    generator = source["generator"]
    params = {**_list_params(source), **(state.get("continue") or {})}
    while True:
        data = _query(site, params, progress)
        listed = sorted(
            {int(i["pageid"]) for i in data.get("query", {}).get(generator, []) if i.get("pageid")}
        )
        seen = _read_since(session_factory, wiki, listed, started)
        progress.skipped += len(seen)
        _read_ids(
            site, wiki, [i for i in listed if i not in seen], names, session_factory, progress
        )
        more = data.get("continue")
        with session_factory() as db:
            _keep_position(db, wiki, state, index, more, progress)
            db.commit()
        if report:
            report(progress)
        if not more:
            return
        params = {**_list_params(source), **more}


def _save(db: Session, wiki: str, name: str, state: dict[str, Any]) -> None:
    cursor(db, wiki, name).state = dict(state)


def _api_time(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_ids(
    site: Any,
    wiki: str,
    ids: Sequence[int],
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    progress: Progress,
) -> None:
    """Read pages by id, 50 a request, and record what they cite now."""
    for start in range(0, len(ids), PAGES_PER_REQUEST):
        chunk = ids[start : start + PAGES_PER_REQUEST]
        params: dict[str, Any] = {**_TEXT, "pageids": "|".join(str(i) for i in chunk)}
        pages: list[PageText] = []
        missing: list[int] = []
        for data in _answers(site, params, progress):
            got, lost = _pages_of(data, names)
            pages += got
            missing += lost
        with session_factory() as db:
            _record(db, wiki, pages, missing, progress)
            db.commit()


def _sweep_unseen(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    started: dt.datetime,
    progress: Progress,
) -> None:
    with session_factory() as db:
        ids = sorted(
            set(
                db.scalars(
                    select(WikiReference.page_id).where(
                        WikiReference.wiki == wiki,
                        WikiReference.gone_at.is_(None),
                        WikiReference.last_seen < started,
                    )
                )
            )
        )
    _read_ids(site, wiki, ids, names, session_factory, progress)


def _changes(
    site: Any, state: dict[str, Any], progress: Progress
) -> Iterator[list[dict[str, Any]]]:
    params: dict[str, Any] = {
        "list": "recentchanges",
        "rcprop": "ids|title|timestamp|loginfo",
        "rctype": "edit|new|log",
        "rcdir": "newer",
        "rclimit": "500",
        "formatversion": "2",
    }
    if state.get("rcstart"):
        params["rcstart"] = state["rcstart"]
    for data in _answers(site, params, progress):
        yield list(data.get("query", {}).get("recentchanges", []))


def sync(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    *,
    report: Report | None = None,
) -> Progress:
    """Follow recent changes on ``wiki`` since the last sync and record the pages they touched.

    The cursor keeps the timestamp of the last change handled and the ids of
    the changes at that second, so the next sync starts there without
    repeating them.
    """
    progress = Progress(wiki, "sync")
    with session_factory() as db:
        state = dict(cursor(db, wiki, "sync").state)
        redirects = dict(cursor(db, wiki, "scan").state.get("redirects", {}))
    names = names.with_redirects(redirects)
    if not state.get("rcstart"):
        state = {"rcstart": _api_time(utcnow().isoformat()), "seen": []}
    for changes in _changes(site, state, progress):
        seen = set(state.get("seen", []))
        fresh = [c for c in changes if int(c.get("rcid", 0)) not in seen]
        if not fresh:
            continue
        ids = sorted({int(c["pageid"]) for c in fresh if c.get("pageid")})
        titles = sorted({str(c["title"]) for c in fresh if not c.get("pageid")})
        if titles:
            # Log entries (deletions) may carry no page id: the pages we hold
            # references of under those titles are read again.
            with session_factory() as db:
                ids += db.scalars(
                    select(WikiReference.page_id).where(
                        WikiReference.wiki == wiki,
                        WikiReference.title.in_(titles),
                        WikiReference.gone_at.is_(None),
                    )
                )
        # The bar counts the pages to read, as it learns of them.
        wanted = sorted(set(ids))
        progress.total = (progress.total or 0) + len(wanted)
        _read_ids(site, wiki, wanted, names, session_factory, progress)
        last = fresh[-1]["timestamp"]
        state = {
            "rcstart": last,
            "seen": [int(c["rcid"]) for c in changes if c["timestamp"] == last]
            + ([r for r in state.get("seen", []) if state.get("rcstart") == last]),
        }
        with session_factory() as db:
            _save(db, wiki, "sync", state)
            db.commit()
        if report:
            report(progress)
    with session_factory() as db:
        _save(db, wiki, "sync", state)
        db.commit()
    return progress


def find_authors(
    site: Any,
    wiki: str,
    names: ReferenceNames,
    session_factory: Callable[[], Session],
    limit: int = 100,
    revisions: int = 50,
) -> int:
    """Learn who added references whose author is not known yet (at most ``limit`` pages).

    One request per page: its latest ``revisions`` revisions, walked back to the
    oldest that still carries the citation. A citation older than that window
    is credited to the oldest revision read (a lower bound, said in ``source``).
    """
    progress = Progress(wiki, "authors")
    with session_factory() as db:
        pages = list(
            dict.fromkeys(
                db.scalars(
                    select(WikiReference.page_id)
                    .where(
                        WikiReference.wiki == wiki,
                        WikiReference.gone_at.is_(None),
                        WikiReference.added_revision.is_(None),
                    )
                    .order_by(WikiReference.id)
                )
            )
        )[:limit]
    found = 0
    for page_id in pages:
        data = _query(
            site,
            {
                "pageids": str(page_id),
                "prop": "revisions",
                "rvprop": "ids|user|content",
                "rvslots": "main",
                "rvlimit": str(revisions),
                "formatversion": "2",
            },
            progress,
        )
        history = (data.get("query", {}).get("pages") or [{}])[0].get("revisions", [])
        cited = [
            (int(r["revid"]), str(r.get("user", "")), set(_citations(r, names))) for r in history
        ]
        with session_factory() as db:
            rows = db.scalars(
                select(WikiReference).where(
                    WikiReference.wiki == wiki,
                    WikiReference.page_id == page_id,
                    WikiReference.gone_at.is_(None),
                    WikiReference.added_revision.is_(None),
                )
            )
            for row in rows:
                key = (row.kind, row.ticket, row.is_id)
                author: tuple[int, str] | None = None
                for revid, user, keys in cited:  # newest first
                    if key not in keys:
                        break
                    author = (revid, user)
                if author is not None:
                    row.added_revision, row.added_by = author
                    found += 1
            db.commit()
    return found


def _citations(revision: dict[str, Any], names: ReferenceNames) -> Iterator[tuple[str, str, bool]]:
    text = revision.get("slots", {}).get("main", {}).get("content", "")
    for c in find_references(str(text), names):
        yield (c.kind, c.ticket, c.is_id)


def sync_due(app: Any) -> list[Progress]:
    """Sync every scanned wiki whose last sync is ``REFERENCE_SYNC_MINUTES`` old.

    Several workers run this each minute; a conditional UPDATE of the cursor
    lets one of them take each wiki's turn. A wiki never scanned is left alone
    (the first full scan is an administrator's decision: it reads every
    citing page).
    """
    from sqlalchemy import update

    from tickets.references import ReferenceCursor
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.references import names_from_settings

    minutes = int(app.config.get("REFERENCE_SYNC_MINUTES") or 0)
    if minutes <= 0:
        return []
    sessions = app.extensions["db_sessionmaker"]
    now = utcnow()
    done: list[Progress] = []
    for wiki, conf in app.config["WIKIS"].items():
        with sessions() as db:
            claimed = db.execute(
                update(ReferenceCursor)
                .where(
                    ReferenceCursor.wiki == wiki,
                    ReferenceCursor.name == "sync",
                    ReferenceCursor.changed_at < now - dt.timedelta(minutes=minutes),
                )
                .values(changed_at=now)
            ).rowcount
            db.commit()
        if not claimed:
            continue
        try:
            done.append(sync(site_for(conf), wiki, names_from_settings(app.config), sessions))
        except ScanError as exc:
            log.warning("reference sync of %s: %s; the next turn resumes", wiki, exc)
    return done
