"""Database engines, without Flask (the mail pipe starts with this alone)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

#: Seconds a SQLite connection waits for the writer before giving up.  Mail
#: systems wait far longer for a delivery (Postfix: command_time_limit 1000 s).
SQLITE_BUSY_SECONDS = 120


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine whose commits survive a power failure.

    Intake acknowledges a message (exit 0, LMTP 250, the IMAP flag) once its
    commit returns, so a commit must be on disk by then: SQLite runs WAL with
    ``synchronous=FULL`` (NORMAL may lose the last commits on power loss),
    PostgreSQL with ``synchronous_commit=on`` whatever the server's default.
    SQLite also gets foreign keys and a patient lock wait.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_SECONDS})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        args = dict(kwargs.pop("connect_args", {}))
        args.setdefault("options", "-c synchronous_commit=on")
        kwargs["connect_args"] = args
    return create_engine(url, **kwargs)


@contextlib.contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Wait in line for SQLite's single writer; on other databases, nothing.

    Twenty ``mail deliver`` processes at once (Postfix's default) on two
    cores: SQLite's busy handler polls with growing sleeps, so a waiting
    writer may sleep through many turns and time out.  A blocking ``flock``
    on a file beside the database hands the turn over at once and in order.
    Held only around the write transaction, never while parsing or routing.
    """
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    # Read-only is enough for flock, so the mail system's pipe user and the
    # web's user can share a lock file that either of them created.
    fd = os.open(f"{database}-writer.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
