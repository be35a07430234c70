"""Fill a migrated database with many tickets quickly, for the workspace bench.

Rows go in by ``executemany`` on SQLite (one transaction; the search triggers
of migration 0007 index them as they come) and by ``COPY`` on PostgreSQL,
never through the ORM one row at a time.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tickets.models import Queue
from wikibridge.migrate import seed_queues, upgrade

#: The word the bench searches for; about one article in 200 contains it.
SEARCH_WORD = "lighthouse"
#: Share of tickets still open (the queue view lists only those).
OPEN_SHARE = 0.3
OPEN_STATES = ["new", "open", "pending reminder"]
CLOSED_STATES = ["closed successful", "closed unsuccessful"]
BATCH = 20_000

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ber", "dan", "für", "grü", "sch"]
_COMMON = "the photo file permission licence creative commons ich bin der urheber grüßen"
_COMMON_WORDS = _COMMON.split(" ")


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` made."""

    tickets: int
    articles: int
    #: The number of the ticket with :data:`BIG_TICKET_ARTICLES` articles.
    big_ticket: str
    seconds: float


BIG_TICKET_ARTICLES = 50


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words = {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size] + _COMMON_WORDS * 20


def _text(rng: random.Random, vocab: list[str], words: int) -> str:
    text = rng.choices(vocab, k=words)
    if rng.random() < 0.005:
        text[rng.randrange(words)] = SEARCH_WORD
    return " ".join(text)


def _rows(
    n: int, queue_ids: list[int], big_queue: int, seed: int = 1
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Tickets with their articles, oldest first (ids 1..n in order)."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=max(1, (5 * 365 * 86400) // max(n, 1)))
    big = n // 2 + 1
    for tid in range(1, n + 1):
        created = start + step * tid
        open_ = rng.random() < OPEN_SHARE
        customer = f"user{rng.randrange(n)}@example.org"
        subject = _text(rng, vocab, 5).capitalize()
        ticket = {
            "id": tid,
            "number": f"{created:%Y%m%d}{tid:08d}",
            "title": subject,
            "queue_id": big_queue if tid == big else rng.choice(queue_ids),
            "state": rng.choice(OPEN_STATES if open_ else CLOSED_STATES),
            "priority": 3,
            "customer": customer,
            "route_rule": "bench",
            "locked": False,
            "created_at": created,
            "changed_at": created,
        }
        count = BIG_TICKET_ARTICLES if tid == big else rng.choice((1, 2, 3))
        articles = []
        for k in range(count):
            incoming = k % 2 == 0
            articles.append(
                {
                    "ticket_id": tid,
                    "channel": "email",
                    "sender_type": "customer" if incoming else "agent",
                    "from_addr": customer if incoming else "permissions@wikimedia.org",
                    "to_addr": "permissions@wikimedia.org" if incoming else customer,
                    "cc_addr": "",
                    "subject": subject if k == 0 else f"Re: {subject}",
                    "body": _text(rng, vocab, rng.randint(20, 80)),
                    "send_status": "" if incoming else "sent",
                    "send_attempts": 0,
                    "send_error": "",
                    "created_at": created + dt.timedelta(minutes=k),
                }
            )
        yield ticket, articles


TICKET_COLUMNS = [
    "id",
    "number",
    "title",
    "queue_id",
    "state",
    "priority",
    "customer",
    "route_rule",
    "locked",
    "created_at",
    "changed_at",
]
ARTICLE_COLUMNS = [
    "ticket_id",
    "channel",
    "sender_type",
    "from_addr",
    "to_addr",
    "cc_addr",
    "subject",
    "body",
    "send_status",
    "send_attempts",
    "send_error",
    "created_at",
]


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime format (naive text, UTC by convention).
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _batches(
    rows: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    tickets: list[dict[str, Any]] = []
    articles: list[dict[str, Any]] = []
    for ticket, its_articles in rows:
        tickets.append(ticket)
        articles.extend(its_articles)
        if len(tickets) >= BATCH:
            yield tickets, articles
            tickets, articles = [], []
    if tickets:
        yield tickets, articles


def _insert_sql(table: str, columns: list[str]) -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - our names


def _seed_sqlite(path: str, rows: Iterator[Any]) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    t_sql = _insert_sql("ticket", TICKET_COLUMNS)
    a_sql = _insert_sql("article", ARTICLE_COLUMNS)
    n_t = n_a = 0
    with conn:
        for tickets, articles in _batches(rows):
            conn.executemany(
                t_sql, ([_sqlite_value(t[c]) for c in TICKET_COLUMNS] for t in tickets)
            )
            conn.executemany(
                a_sql, ([_sqlite_value(a[c]) for c in ARTICLE_COLUMNS] for a in articles)
            )
            n_t += len(tickets)
            n_a += len(articles)
    conn.execute("ANALYZE")
    conn.close()
    return n_t, n_a


def _seed_postgresql(url: str, rows: Iterator[Any]) -> tuple[int, int]:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    n_t = n_a = 0
    with psycopg.connect(conninfo) as conn:
        with conn.cursor() as cur:
            for tickets, articles in _batches(rows):
                with cur.copy(f"COPY ticket ({', '.join(TICKET_COLUMNS)}) FROM STDIN") as copy:
                    for t in tickets:
                        copy.write_row([t[c] for c in TICKET_COLUMNS])
                with cur.copy(f"COPY article ({', '.join(ARTICLE_COLUMNS)}) FROM STDIN") as copy:
                    for a in articles:
                        copy.write_row([a[c] for c in ARTICLE_COLUMNS])
                n_t += len(tickets)
                n_a += len(articles)
            # Ids were given explicitly: move the sequences past them.
            for table in ("ticket", "article"):
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: E501, S608 - our names
                cur.execute(sql)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE ticket")
        conn.execute("VACUUM ANALYZE article")
        # Each article's COPY rewrote its ticket's search row (migration 0022):
        # clear the old versions, as autovacuum would in time.
        conn.execute("VACUUM ANALYZE ticket_search")
    return n_t, n_a


def seed(url: str, tickets: int) -> Seeded:
    """Migrate ``url``, create the default queues, and add ``tickets`` tickets.

    :returns: counts, the 50-article ticket's number and the seconds taken
        (the bulk insert and its indexing, not the migration).
    """
    import time

    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        seed_queues(session)
        queues = {q.name: q.id for q in session.scalars(select(Queue))}
    engine.dispose()
    queue_ids = sorted(queues.values())
    rows = _rows(tickets, queue_ids, queues["Permissions"])
    began = time.perf_counter()
    if url.startswith("sqlite"):
        n_t, n_a = _seed_sqlite(url.removeprefix("sqlite:///"), rows)
    else:
        n_t, n_a = _seed_postgresql(url, rows)
    seconds = time.perf_counter() - began
    big = tickets // 2 + 1
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=max(1, (5 * 365 * 86400) // max(tickets, 1)))
    number = f"{start + step * big:%Y%m%d}{big:08d}"
    return Seeded(n_t, n_a, number, seconds)
