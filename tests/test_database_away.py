"""The database away (restarting, cut, refusing): pages say so with a 503, never a 500.

A volunteer whose request meets a PostgreSQL restart gets "try again in a
minute" and a ``Retry-After``; the API answers the same in JSON. Other
database errors (a missing table, a broken constraint) are faults of ours and
stay 500s.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from wikibridge import create_app
from wikibridge.db import database_away
from wikibridge.web.errors import DATABASE_RETRY_SECONDS

from .conftest import make_test_app
from .helpers import log_in, new_ticket

CLOSED = "postgresql+psycopg://desk@127.0.0.1:9/desk?connect_timeout=2"  # nothing answers


def _down_app(tmp_path: Path) -> Flask:
    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(tmp_path / "instance")
    return create_app(
        {
            "DATABASE_URL": CLOSED,
            "JOBS_URL": "memory",
            "SECRET_KEY": "test-secret",
            "TOKEN_ENCRYPTION_KEY": "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA=",
            "SERVER_NAME": "wikibridge.test",
            "PROPAGATE_EXCEPTIONS": False,
        }
    )


def test_pages_and_the_api_say_the_database_is_away(tmp_path):
    app = _down_app(tmp_path)
    client = app.test_client()
    with client.session_transaction() as s:
        s["sid"] = "a-session-id"
        s["csrf"] = "test-csrf"

    page = client.get("/queues")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(DATABASE_RETRY_SECONDS)
    text = page.get_data(as_text=True)
    assert "cannot reach its database" in text and "try again in a minute" in text
    assert "Traceback" not in text and "psycopg" not in text
    assert "see whether it was saved" not in text

    sent = client.post("/tickets/1/answer", data={"csrf_token": "test-csrf", "body": "Thanks"})
    assert sent.status_code == 503
    assert "see whether it was saved before you send it again" in sent.get_data(as_text=True)

    api = client.get("/api/v1/tickets/1")
    assert api.status_code == 503 and api.is_json
    assert api.get_json() == {
        "error": "database unavailable",
        "retry_after": DATABASE_RETRY_SECONDS,
    }

    german = client.get("/queues?lang=de")
    assert german.status_code == 503
    assert "erreicht seine Datenbank gerade nicht" in german.get_data(as_text=True)
    app.extensions["db_engine"].dispose()


def test_the_503_is_logged_as_a_warning_without_a_traceback(tmp_path, caplog):
    app = _down_app(tmp_path)
    with caplog.at_level("WARNING", logger="wikibridge.web.errors"):
        assert app.test_client().get("/api/v1/tickets/1").status_code == 503
    (record,) = [r for r in caplog.records if r.name == "wikibridge.web.errors"]
    assert "database unavailable" in record.getMessage() and record.exc_info is None
    app.extensions["db_engine"].dispose()


def test_other_database_errors_stay_500(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, PROPAGATE_EXCEPTIONS=False, TESTING=False)

    @app.get("/test-integrity")
    def _broken() -> str:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    assert app.test_client().get("/test-integrity").status_code == 500
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize(
    ("message", "away"),
    [
        ("database is locked", True),
        ("unable to open database file", True),
        ("no such table: ticket", False),
    ],
)
def test_sqlite_errors_that_mean_busy(message, away):
    exc = OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))
    assert database_away(exc) is away


class SwitchProxy:
    """A TCP proxy to the database that can cut every connection and refuse new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()  # as a stopped server refuses
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """Cut every connection and refuse new ones, as a restarting server does."""
        self.up.clear()
        with self._lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def close(self) -> None:
        self.down()
        self.server.close()


def test_a_restart_under_a_logged_in_volunteer_is_503_then_the_page(tmp_path, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server to restart: PostgreSQL (SQLite has none)")
    parts = urlsplit(database_url)
    proxy = SwitchProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    url = database_url.replace(parts.netloc.rsplit("@", 1)[-1], f"127.0.0.1:{proxy.port}")
    app = make_test_app(tmp_path, url, PROPAGATE_EXCEPTIONS=False, TESTING=False)
    try:
        client = app.test_client()
        log_in(app, client, "Ada")
        number = new_ticket(app)
        assert client.get(f"/tickets/{number}").status_code == 200

        proxy.down()
        seen = {client.get(path).status_code for path in ("/queues", f"/tickets/{number}")}
        assert seen == {503}

        proxy.up.set()
        # The pool's dead connections are found by the ping and replaced.
        assert client.get(f"/tickets/{number}").status_code == 200
        assert client.get("/queues").status_code == 200
    finally:
        app.extensions["db_engine"].dispose()
        proxy.close()


def test_a_connection_lost_after_the_answer_is_made_is_no_500(tmp_path, database_url):
    """PostgreSQL restarting between a page's last query and its end: the page stands."""
    from sqlalchemy import create_engine, text

    from wikibridge import db

    app = make_test_app(tmp_path, database_url)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    postgres = database_url.startswith("postgresql")

    @app.get("/test-cut-after-query")
    def _page() -> str:
        session = db.session()
        if postgres:
            # The server ends this very connection, as a restart does.
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            session.execute(text("SELECT 1"))

            def closing_fails() -> None:
                raise OperationalError("ROLLBACK", {}, Exception("disk I/O error"))

            session.close = closing_fails  # type: ignore[method-assign]
        return "made"

    try:
        client = app.test_client()
        response = client.get("/test-cut-after-query")
        assert response.status_code == 200 and response.get_data(as_text=True) == "made"
        assert client.get("/healthz").status_code == 200
    finally:
        admin.dispose()
        app.extensions["db_engine"].dispose()
