"""The database: one engine per app, one session per request or job."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from wikibridge.engine import make_engine

log = logging.getLogger(__name__)

#: SQLite's words for "busy, try again" (its other operational errors, such
#: as a missing table, are faults of the installation).
_SQLITE_BUSY = ("database is locked", "database is busy", "unable to open database")


class DatabaseUnavailable(Exception):
    """The database went away while a job ran (a restart, a failover): try again shortly."""


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (or is busy) right now.

    PostgreSQL restarting, a connection the server cut, a refused connection:
    psycopg raises ``OperationalError`` (or ``InterfaceError`` on a closed
    connection). SQLite only when its file is locked or cannot be opened.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(words in str(exc.orig).lower() for words in _SQLITE_BUSY)
    return True


def init_app(app: Flask) -> None:
    """Attach an engine and session factory to ``app``; close sessions after requests."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            close_quietly(session)


def close_quietly(session: Session) -> None:
    """Close ``session``; a database that went away meanwhile costs its connection, no more.

    The request's answer is made by then: PostgreSQL restarting between the
    last query and the end of the request must not turn a page into a 500.
    """
    try:
        session.close()
    except SQLAlchemyError as exc:
        log.warning("database connection lost when closing the session (%s)", type(exc).__name__)
        with contextlib.suppress(SQLAlchemyError):
            session.invalidate()


def session() -> Session:
    """The session of the current request or app context."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    s: Session = g.db_session
    return s


@contextmanager
def new_session(app: Flask) -> Iterator[Session]:
    """A session of its own (for jobs and commands), closed afterwards."""
    s: Session = app.extensions["db_sessionmaker"]()
    try:
        yield s
    finally:
        # What the block committed stands even if the database goes away now.
        close_quietly(s)
