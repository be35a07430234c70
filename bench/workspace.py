"""How fast the workspace answers on a big database, beside a trivial route.

    .venv/bin/python bench/workspace.py [--tickets N] [--databases sqlite,postgresql]
                                        [--requests R]

For each database: a fresh one (SQLite in a temporary folder; PostgreSQL a
throwaway database on 127.0.0.1:5432, dropped at the end) is migrated, given
the default queues and bulk-seeded (:mod:`bench.seed_bulk`: N tickets, about
two articles each, one ticket with 50).  Then, through Flask's test client
logged in as an administrator (so every queue is visible), each of

* ``/healthz`` (one ``SELECT 1``: the baseline of routing, session and WSGI),
* ``/queues`` (the first page of all open tickets, with the tree's counts),
* ``/queues`` again, with a ticket changed before each request (so the
  tree's open counts, otherwise kept until a ticket changes, are recounted),
* ``/queues?page=<deep>`` (a page 90 % of the way down the list),
* ``/tickets/<n>`` (the zoom of the 50-article ticket),
* ``/search?q=<word>`` (a word in about one article in 200),

is requested R times after one warm-up request; p50 and p95 of the server
time are printed with their ratio to the baseline's.  Default sizes (100,000
tickets on PostgreSQL, 20,000 on SQLite) finish in a few minutes; the targets
are ``--tickets 1000000`` (PostgreSQL) and ``--tickets 100000`` (SQLite).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: the repository root is not on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from bench.apps import bench_app
from bench.seed_bulk import SEARCH_WORD, Seeded, seed

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_TICKETS = {"postgresql": 100_000, "sqlite": 20_000}
#: Above this p95 a view is slow enough to tell the lead about.
SLOW_MS = 50.0


@dataclass(frozen=True)
class Timing:
    """p50/p95 of one route, in milliseconds."""

    name: str
    p50: float
    p95: float


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """A new empty database URL, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    name = f"wikibridge_bench_{secrets.token_hex(4)}"
    # Pinged before use: the fault bench restarts PostgreSQL meanwhile.
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def make_app(url: str, workdir: Path) -> Flask:
    """The real app on ``url`` (with the search blueprint, registered or not yet)."""
    from wikibridge.web import search

    app = bench_app(url, workdir)
    if "search" not in app.blueprints:
        app.register_blueprint(search.bp)
    return app


def log_in_admin(app: Flask, client: FlaskClient) -> None:
    """A login session for an administrator, as tests/helpers.py ``log_in`` makes it."""
    from tickets.access import volunteer_named
    from wikibridge import sessions
    from wikibridge.crypto import TokenBox
    from wikibridge.db import new_session

    with new_session(app) as db:
        volunteer = volunteer_named(db, "BenchAdmin")
        volunteer.role = "admin"
        token, row = sessions.start(db, dt.timedelta(hours=2))
        row.volunteer_id = volunteer.id
        row.username = volunteer.username
        row.credentials = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).seal(
            {"version": "1", "key": "k", "secret": "s"}
        )
        db.commit()
    with client.session_transaction() as s:
        s["sid"] = token


def measure(
    client: FlaskClient,
    name: str,
    path: str,
    requests: int,
    before: Callable[[], None] | None = None,
) -> Timing:
    """Request ``path`` once to warm up, then ``requests`` times; fail on non-200.

    ``before`` runs ahead of each request, outside the timing.
    """
    times: list[float] = []
    for i in range(requests + 1):
        if before is not None:
            before()
        began = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        if i:
            times.append(elapsed)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return Timing(name, statistics.median(times), p95)


def run(kind: str, tickets: int, requests: int) -> tuple[Seeded, list[Timing], str]:
    """Seed one database and time the routes; return the seeding, timings and page count."""
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, Path(tmp)) as url:
        seeded = seed(url, tickets)
        app = make_app(url, Path(tmp))
        try:
            client = app.test_client()
            log_in_admin(app, client)
            first = client.get("/queues").get_data(as_text=True)
            pages = _page_count(first)
            deep = max(1, int(pages * 0.9))
            timings = [
                measure(client, "/healthz (baseline)", "/healthz", requests),
                measure(client, "/queues", "/queues", requests),
                measure(
                    client,
                    "/queues after a ticket changed",
                    "/queues",
                    requests,
                    before=lambda: touch_ticket(app),
                ),
                measure(client, f"/queues?page={deep}", f"/queues?page={deep}", requests),
                measure(client, "zoom (50 articles)", f"/tickets/{seeded.big_ticket}", requests),
                measure(client, f"/search?q={SEARCH_WORD}", f"/search?q={SEARCH_WORD}", requests),
            ]
        finally:
            app.extensions["db_engine"].dispose()
    return seeded, timings, f"{pages} pages"


def touch_ticket(app: Flask) -> None:
    """Change a ticket, as a volunteer elsewhere would: the open counts must be read again."""
    from sqlalchemy import update

    from tickets.models import Ticket, utcnow

    with app.extensions["db_engine"].begin() as conn:
        conn.execute(update(Ticket).where(Ticket.id == 1).values(changed_at=utcnow()))


def _page_count(html: str) -> int:
    import re

    found = re.search(r"of (\d+) - Page:", html)
    total = int(found.group(1)) if found else 0
    return max(1, -(-total // 25))


def table(kind: str, seeded: Seeded, timings: list[Timing]) -> str:
    """A Markdown table of one database's results."""
    base = timings[0]
    lines = [
        f"**{kind}**: {seeded.tickets:,} tickets, {seeded.articles:,} articles, "
        f"seeded in {seeded.seconds:.1f} s ({seeded.tickets / seeded.seconds:,.0f} tickets/s)",
        "",
        "| request | p50 ms | p95 ms | p50 × baseline | p95 × baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.name} | {t.p50:.1f} | {t.p95:.1f} | {t.p50 / base.p50:.1f} | "
            f"{t.p95 / base.p95:.1f} |"
        )
    slow = [t.name for t in timings[1:] if t.p95 > SLOW_MS]
    if slow:
        lines.append("")
        lines.append(f"p95 over {SLOW_MS:.0f} ms: {', '.join(slow)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run each database in turn, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tickets", type=int, help="tickets to seed (default: 100000 PostgreSQL, 20000 SQLite)"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per route")
    args = parser.parse_args(argv)
    for kind in args.databases.split(","):
        if kind not in DEFAULT_TICKETS:
            parser.error(f"unknown database {kind!r}")
        n = args.tickets or DEFAULT_TICKETS[kind]
        print(f"{kind}: seeding {n:,} tickets …", file=sys.stderr, flush=True)
        seeded, timings, pages = run(kind, n, args.requests)
        print(table(kind, seeded, timings) + f"\n(open-ticket list: {pages})\n", flush=True)


if __name__ == "__main__":
    main()
