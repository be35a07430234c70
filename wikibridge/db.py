"""The database: one engine per app, one session per request or job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from wikibridge.engine import make_engine


def init_app(app: Flask) -> None:
    """Attach an engine and session factory to ``app``; close sessions after requests."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


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
        s.close()
