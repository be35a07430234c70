"""Finding ticket references: full-scan rate, sync delay, and the public API's latency.

    .venv/bin/python bench/references.py [--pages 20000] [--synthetic 1000000]
                                         [--sandbox-dir DIR] [--port-base P] [--json]

On the bench sandbox Commons (``~/.local/state/wikibridge/bench-sandbox`` by
default, shared with ``bench/tagging.py``), ``--pages`` file pages citing
tickets are imported in bulk once (``importDump.php``; later runs reuse them):
``File:Refbench NNNNNN.jpg``, most with ``{{PermissionTicket|id=…}}``, some
with an alias, a pending template or a ``[[ticket:…]]`` link. Then, on a fresh
SQLite database:

* **full scan** (``wikibridge references scan``'s code, anonymous, 50 pages a
  request) beside a **baseline**: the same list queries with the pages' text
  read raw, without parsing or storing anything;
* **sync delay**: one page edited through ``api.php``, then one incremental
  sync; the seconds from the edit to its reference being stored;
* **public API**: p50/p95 of ``/api/v1/tickets/N`` and ``/api/v1/pages`` through
  the app at the seeded size, and at ``--synthetic`` references (rows made in
  bulk in another SQLite database), beside ``/healthz`` in the same run.

The target is a full scan of at least 500 pages/s, and the API's p95 under
20 ms at 1,000,000 references.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask

from bench.apps import bench_app
from bench.tagging import DEFAULT_DIR, sandbox

PREFIX = "Refbench"


def number(n: int) -> str:
    """A valid ticket number for the n-th bench page."""
    from tickets.numbers import format_number

    day = dt.date(2015, 1, 1) + dt.timedelta(days=n // 90000)
    return format_number(day, "10", n % 90000 + 1)


def page_text(n: int) -> str:
    """The wikitext of the n-th bench page: mostly the permission template."""
    kind = n % 20
    if kind < 16:
        cite = f"{{{{PermissionTicket|id={number(n)}}}}}"
    elif kind < 18:
        cite = f"{{{{VRT permission|{number(n)}}}}}"
    elif kind < 19:
        cite = f"{{{{Permission pending|id={number(n)}|day=1|month=May|year=2026}}}}"
    else:
        cite = f"See [[ticket:{number(n)}]]."
    return (
        "=={{int:filedesc}}==\n{{Information|description=A bench file|source=own work}}\n"
        f"=={{{{int:license-header}}}}==\n{cite}\n{{{{Cc-by-sa-4.0}}}}\n"
    )


def existing(api_url: str) -> int:
    """How many bench pages the wiki has (500 titles a request)."""
    count = 0
    params: dict[str, Any] = {
        "action": "query",
        "list": "allpages",
        "apnamespace": "6",
        "apprefix": f"{PREFIX} ",
        "aplimit": "500",
        "format": "json",
        "formatversion": "2",
    }
    with requests.Session() as http:
        http.trust_env = False
        while True:
            data = http.get(api_url, params=params, timeout=60).json()
            count += len(data["query"]["allpages"])
            if "continue" not in data:
                return count
            params.update(data["continue"])


def seed(state: Any, pages: int) -> float:
    """Import the bench pages the wiki lacks; the seconds it took."""
    from wikibridge_sandbox.bulk import import_pages

    have = existing(state.commons.api_url)
    if have >= pages:
        return 0.0
    began = time.perf_counter()
    import_pages(
        state.commons,
        ((f"File:{PREFIX} {n:06d}.jpg", page_text(n)) for n in range(have, pages)),
    )
    return time.perf_counter() - began


def raw_read(api_url: str, templates: list[str]) -> tuple[int, int, float]:
    """The baseline: list queries with the pages' text, read and thrown away."""
    pages = requests_made = 0
    began = time.perf_counter()
    with requests.Session() as http:
        http.trust_env = False
        for template in templates:
            params: dict[str, Any] = {
                "action": "query",
                "generator": "embeddedin",
                "geititle": f"Template:{template}",
                "geilimit": "50",
                "prop": "revisions",
                "rvprop": "ids|content",
                "rvslots": "main",
                "format": "json",
                "formatversion": "2",
            }
            while True:
                data = http.get(api_url, params=params, timeout=120).json()
                requests_made += 1
                pages += sum(1 for p in data.get("query", {}).get("pages", []) if "revisions" in p)
                if "continue" not in data:
                    break
                params.update(data["continue"])
    return pages, requests_made, time.perf_counter() - began


def full_scan(app: Flask) -> tuple[Any, float]:
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.reference_scan import scan
    from wikibridge.wiki.references import names_from_settings

    began = time.perf_counter()
    progress = scan(
        site_for(app.config["WIKIS"]["commons"]),
        "commons",
        names_from_settings(app.config),
        app.extensions["db_sessionmaker"],
        url_patterns=app.config["REFERENCE_URL_PATTERNS"],
        restart=True,
    )
    return progress, time.perf_counter() - began


def sync_delay(app: Flask, state: Any) -> tuple[float, float]:
    """Seconds from an edit to its reference stored, and of that the sync's own."""
    from sqlalchemy import select

    from tickets.references import WikiReference
    from wikibridge.db import new_session
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.reference_scan import sync
    from wikibridge.wiki.references import names_from_settings
    from wikibridge_sandbox.seed import AdminSession

    ticket = number(999_999)
    title = f"File:{PREFIX} sync {time.time_ns()}.jpg"
    with AdminSession(state.commons.api_url) as admin:
        admin.login(state.admin.username, state.admin.password)
        began = time.perf_counter()
        admin.call(
            "POST",
            action="edit",
            title=title,
            text=f"{{{{PermissionTicket|id={ticket}}}}}",
            token=admin.csrf_token(),
        )
    synced = time.perf_counter()
    sync(
        site_for(app.config["WIKIS"]["commons"]),
        "commons",
        names_from_settings(app.config),
        app.extensions["db_sessionmaker"],
    )
    done = time.perf_counter()
    with new_session(app) as db:
        found = db.scalars(select(WikiReference).where(WikiReference.title == title)).first()
    if found is None or found.ticket != ticket:
        raise SystemExit("the edited page's reference was not found by the sync")
    return done - began, done - synced


def latency(app: Flask, paths: list[str], rounds: int) -> tuple[float, float]:
    client = app.test_client()
    times = []
    for i in range(rounds):
        path = paths[i % len(paths)]
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def api_figures(app: Flask, titles: list[str], numbers: list[str], rounds: int) -> dict[str, Any]:
    random.seed(7)
    tickets = [f"/api/v1/tickets/{n}" for n in random.sample(numbers, min(200, len(numbers)))]
    pages = [
        f"/api/v1/pages?wiki=commons&title={t}"
        for t in random.sample(titles, min(200, len(titles)))
    ]
    latency(app, ["/healthz"], 20)  # warm the process
    return {
        "healthz": latency(app, ["/healthz"], rounds),
        "ticket": latency(app, tickets, rounds),
        "page": latency(app, pages, rounds),
    }


def synthetic(url: str, rows: int) -> tuple[list[str], list[str]]:
    """``rows`` references made in bulk; sample titles and numbers to ask for."""
    from sqlalchemy import create_engine, insert

    from tickets.models import utcnow
    from tickets.references import WikiReference
    from wikibridge.migrate import upgrade

    upgrade(url)
    engine = create_engine(url)
    now = utcnow()
    batch = 50_000
    with engine.begin() as conn:
        for start in range(0, rows, batch):
            conn.execute(
                insert(WikiReference),
                [
                    {
                        "wiki": "commons",
                        "page_id": n + 1,
                        "title": f"File:Synthetic {n:07d}.jpg",
                        "namespace": 6,
                        "kind": "template",
                        "ticket": number(n),
                        "is_id": False,
                        "number": number(n),
                        "source": "PermissionTicket",
                        "revision": n + 1,
                        "first_seen": now,
                        "last_seen": now,
                    }
                    for n in range(start, min(rows, start + batch))
                ],
            )
    engine.dispose()
    random.seed(11)
    picks = random.sample(range(rows), min(200, rows))
    return [f"File:Synthetic {n:07d}.jpg" for n in picks], [number(n) for n in picks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--sandbox-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--port-base", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    state = sandbox(args.sandbox_dir, args.port_base)
    seeded = seed(state, args.pages)
    if seeded:
        print(f"imported bench pages in {seeded:.1f} s", file=sys.stderr, flush=True)
    results: dict[str, Any] = {"pages": args.pages}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wikis = {
            "commons": {
                "family": "commons",
                "code": "commons",
                "api_url": state.commons.api_url,
                "article_url": state.commons.url + "/wiki/",
            }
        }
        # No per-client budget: the bench is one client asking many times.
        app = bench_app(
            f"sqlite:///{work / 'refs.sqlite3'}",
            work,
            WIKIS=wikis,
            PUBLIC_API_REQUESTS_PER_MINUTE=0,
        )
        from wikibridge.migrate import upgrade

        upgrade(app.config["DATABASE_URL"])
        names = ["PermissionTicket", "Permission pending"]
        raw_pages, raw_requests, raw_seconds = raw_read(state.commons.api_url, names)
        progress, seconds = full_scan(app)
        results["baseline"] = {
            "pages": raw_pages,
            "requests": raw_requests,
            "seconds": raw_seconds,
            "pages_per_s": raw_pages / raw_seconds,
        }
        results["scan"] = {
            "pages": progress.done,
            "listed_again": progress.skipped,
            "requests": progress.requests,
            "seconds": seconds,
            "pages_per_s": progress.done / seconds,
            "requests_per_page": progress.requests / max(1, progress.done),
            "references": progress.recorded.added,
        }
        total, own = sync_delay(app, state)
        results["sync"] = {"edit_to_stored_s": total, "sync_s": own}

        from sqlalchemy import select

        from tickets.references import WikiReference
        from wikibridge.db import new_session

        with new_session(app) as db:
            rows = db.execute(select(WikiReference.title, WikiReference.number).limit(5000)).all()
        results["api_seeded"] = api_figures(
            app, [r[0] for r in rows], [str(r[1]) for r in rows if r[1]], args.rounds
        )
        app.extensions["db_engine"].dispose()

        if args.synthetic:
            url = f"sqlite:///{work / 'synthetic.sqlite3'}"
            began = time.perf_counter()
            titles, numbers = synthetic(url, args.synthetic)
            results["synthetic_seconds"] = time.perf_counter() - began
            big = bench_app(url, work, WIKIS=wikis, PUBLIC_API_REQUESTS_PER_MINUTE=0)
            results["api_synthetic"] = api_figures(big, titles, numbers, args.rounds)
            results["synthetic"] = args.synthetic
            big.extensions["db_engine"].dispose()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


def report(r: dict[str, Any]) -> None:
    base, scan = r["baseline"], r["scan"]
    print(
        f"full scan: {scan['pages']} pages read ({r['pages']} bench pages on the wiki; "
        f"{scan['listed_again']} named again by a link list, not read twice)"
    )
    print("| | pages | requests | requests/page | seconds | pages/s | vs baseline |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| raw read (baseline) | {base['pages']} | {base['requests']} | "
        f"{base['requests'] / max(1, base['pages']):.3f} | {base['seconds']:.1f} | "
        f"{base['pages_per_s']:.0f} | 1.00× |"
    )
    print(
        f"| wikibridge scan | {scan['pages']} | {scan['requests']} | "
        f"{scan['requests_per_page']:.3f} | {scan['seconds']:.1f} | {scan['pages_per_s']:.0f} | "
        f"{scan['pages_per_s'] / base['pages_per_s']:.2f}× |"
    )
    print(
        f"\nedit to stored reference through one sync: {r['sync']['edit_to_stored_s']:.2f} s "
        f"(the sync itself {r['sync']['sync_s']:.2f} s)"
    )
    print("\n| request | seeded p50 / p95 ms | synthetic p50 / p95 ms |")
    print("|---|---|---|")
    synth = r.get("api_synthetic", {})
    for key, label in (
        ("healthz", "/healthz (baseline)"),
        ("ticket", "/api/v1/tickets/N"),
        ("page", "/api/v1/pages"),
    ):
        seeded = r["api_seeded"][key]
        big = synth.get(key)
        right = f"{big[0]:.1f} / {big[1]:.1f}" if big else "-"
        print(f"| {label} | {seeded[0]:.1f} / {seeded[1]:.1f} | {right} |")
    if synth:
        print(f"(synthetic: {r['synthetic']:,} references, made in {r['synthetic_seconds']:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
