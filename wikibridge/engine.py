"""Database connections whose commits survive a power failure, without Flask.

Intake acknowledges a message (exit 0, LMTP 250, the IMAP flag) once its
commit returns, so a commit must be on disk by then: SQLite runs WAL with
``synchronous=FULL`` (NORMAL may lose the last commits on power loss),
PostgreSQL with ``synchronous_commit=on`` whatever the server's default.
SQLite also gets foreign keys and a patient lock wait.

Two ways to such a connection: a SQLAlchemy engine (:func:`make_engine`, for
everything but the mail pipe) and the driver alone (:func:`connect_driver`:
``mail deliver``, a process per message, starts faster without SQLAlchemy,
and on PostgreSQL without psycopg).
Both take their settings from here.  SQLAlchemy is imported only by
:func:`make_engine`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy.engine import Engine

    from tickets.sql import Db

#: Seconds a SQLite connection waits for the writer before giving up.  Mail
#: systems wait far longer for a delivery (Postfix: command_time_limit 1000 s).
SQLITE_BUSY_SECONDS = 120
#: Run on every new SQLite connection.
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}",
)
#: libpq's ``options`` of every PostgreSQL connection.
POSTGRESQL_OPTIONS = "-c synchronous_commit=on"


def sqlite_pragmas(dbapi_conn: Any) -> None:
    """Make a new :mod:`sqlite3` connection durable and patient (:data:`SQLITE_PRAGMAS`)."""
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine whose commits survive a power failure (see the module's text)."""
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_SECONDS})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            sqlite_pragmas(dbapi_conn)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        args = dict(kwargs.pop("connect_args", {}))
        args.setdefault("options", POSTGRESQL_OPTIONS)
        kwargs["connect_args"] = args
    return create_engine(url, **kwargs)


@contextlib.contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Wait in line for the engine's SQLite writer; on other databases, nothing.

    See :func:`writer_lock`.
    """
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    with writer_lock(database):
        yield


@contextlib.contextmanager
def writer_lock(database: str | None) -> Iterator[None]:
    """Wait in line for the writer of the SQLite file ``database``; for None, nothing.

    Twenty ``mail deliver`` processes at once (Postfix's default) on two
    cores: SQLite's busy handler polls with growing sleeps, so a waiting
    writer may sleep through many turns and time out.  A blocking ``flock``
    on a file beside the database hands the turn over at once and in order.
    Held only around the write transaction, never while parsing or routing.
    """
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


class DriverConnection:
    """A connection made by :func:`connect_driver`: intake's :class:`~tickets.sql.Db`
    over it, the SQLite file whose writer lock to take (None on PostgreSQL),
    and :meth:`close`."""

    __slots__ = ("_close", "database", "db")

    def __init__(self, db: Db, database: str | None, close: Any) -> None:
        self.db = db
        self.database = database
        self._close = close

    def close(self) -> None:
        """Close the driver's connection (what was not committed is rolled back)."""
        self._close()


def sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL; None for anything else.

    None for in-memory databases, ``file:`` URIs and URLs with options: those
    are left to SQLAlchemy, which reads them all.
    """
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite") or "?" in rest:
        return None
    database = unquote(rest)  # as SQLAlchemy reads it
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def postgresql_params(url: str) -> dict[str, Any] | None:
    """psycopg's connection parameters for a ``postgresql+psycopg://`` URL, as SQLAlchemy
    would pass them; None for any URL this does not read the way SQLAlchemy does.

    ``synchronous_commit=on`` is set in ``options`` (replacing one in the URL,
    as :func:`make_engine`'s ``connect_args`` do).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme != "postgresql+psycopg":
        return None
    params: dict[str, Any] = {}
    if "@" in rest:
        # As SQLAlchemy reads it: user and password up to the first "@",
        # the user without ":" or "/", both percent-encoded.
        userinfo, _, rest = rest.partition("@")
        user, _, password = userinfo.partition(":")
        if "/" in user:
            return None
        # Empty parts are left out, as SQLAlchemy leaves them out.
        if user:
            params["user"] = unquote(user)
        if password:
            params["password"] = unquote(password)
    location, _, query = rest.partition("?")
    hostport, _, database = location.partition("/")
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
    if host:
        params["host"] = host
    if port:
        if not port.isdigit():
            return None
        params["port"] = int(port)
    if database:
        params["dbname"] = unquote(database)
    pairs = parse_qsl(query)
    if len({key for key, _ in pairs}) != len(pairs):
        return None  # a key given twice: SQLAlchemy's form for several hosts
    params.update(pairs)
    params["options"] = POSTGRESQL_OPTIONS
    return params


def connect_driver(url: str, *, libpq: bool = True) -> DriverConnection | None:
    """The database at ``url`` through its driver alone, as :func:`make_engine` sets it up.

    For a SQLite file (:mod:`sqlite3`) or PostgreSQL; None for any other URL
    (the caller then uses SQLAlchemy).  PostgreSQL is reached through libpq
    alone (:mod:`wikibridge.libpq`, a tenth of psycopg's import time) unless
    ``libpq`` is false or no libpq is found; then through psycopg.
    """
    from tickets.sql import Db

    database = sqlite_file(url)
    if database is not None:
        import sqlite3

        sqlite_conn = sqlite3.connect(database, timeout=SQLITE_BUSY_SECONDS)
        try:
            sqlite_pragmas(sqlite_conn)
        except BaseException:
            sqlite_conn.close()
            raise
        return DriverConnection(Db.sqlite(sqlite_conn), database, sqlite_conn.close)
    params = postgresql_params(url)
    if params is None:
        return None
    if libpq:
        from wikibridge import libpq as pq

        lib = pq.load()
        if lib is not None:
            conn = pq.connect(lib, params)
            db = Db(
                "postgresql",
                conn.execute,
                conn.executemany,
                lambda: True,
                conn.commit,
                conn.rollback,
            )
            return DriverConnection(db, None, conn.close)
    import psycopg

    pg_conn = psycopg.connect(**params)
    return DriverConnection(Db.psycopg(pg_conn), None, pg_conn.close)
