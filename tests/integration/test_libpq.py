"""The pipe's PostgreSQL connection through libpq alone (issue 13).

``mail deliver`` on PostgreSQL calls libpq through ctypes instead of
importing psycopg (:mod:`wikibridge.libpq`).  These tests run it against the
real server: values go and come back as under psycopg, errors carry their
SQLSTATE and never the values, a failed transaction never commits, and the
corpus stores the very same rows through either driver.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL, _empty_pg
from wikibridge import libpq
from wikibridge.config import read_settings
from wikibridge.engine import connect_driver, postgresql_params
from wikibridge.mail.pipe import _NO_KEYS
from wikibridge.mail.store import store_on

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mail"


@pytest.fixture
def conn() -> Iterator[libpq.Connection]:
    """A libpq connection to the server's maintenance database (temporary tables only)."""
    lib = libpq.load()
    assert lib is not None, "libpq was not found"
    params = postgresql_params(PG_ADMIN_URL)
    assert params is not None
    connection = libpq.connect(lib, params)
    yield connection
    connection.close()


def test_values_go_and_come_back_as_under_psycopg(conn):
    aware = dt.datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=dt.UTC)
    naive = dt.datetime(2026, 12, 5, 3, 4, 5)
    values: dict[str, Any] = {
        "small": 7,
        "big": 2**62,
        "negative": -3,
        "yes": True,
        "no": False,
        "nothing": None,
        "text": "Grüße, 日本語 and a % sign",
        "raw": bytes(range(256)) * 3,  # NUL bytes and every other byte value
        "ratio": 0.25,
        "aware": aware,
        "naive": naive,
        "document": '{"queues": ["Info"]}',
    }
    sql = (
        "SELECT %(small)s, %(big)s, %(negative)s, %(yes)s, %(no)s, %(nothing)s, "
        "%(text)s::text, %(raw)s, %(ratio)s, %(aware)s, %(naive)s, "
        "CAST(%(document)s AS json), %(small)s + 1, '100%%'"
    )
    row = conn.execute(sql, values).fetchone()
    expected = (*values.values(), 8, "100%")
    assert row == expected
    with psycopg.connect(**postgresql_params(PG_ADMIN_URL)) as other:  # type: ignore[arg-type]
        theirs = other.execute(sql, values).fetchone()
    # psycopg reads JSON itself; the desk's callers take either (tickets.policies).
    assert theirs is not None and theirs[:11] == row[:11] and theirs[12:] == row[12:]


def test_rows_are_read_in_order_and_counted(conn):
    conn.execute("CREATE TEMPORARY TABLE seen (id serial PRIMARY KEY, word varchar(20) UNIQUE)")
    conn.executemany(
        "INSERT INTO seen (word) VALUES (%(word)s)", [{"word": w} for w in ("a", "b", "c")]
    )
    result = conn.execute("SELECT id, word FROM seen ORDER BY id")
    assert result.rowcount == 3
    assert result.fetchone() == (1, "a")
    assert result.fetchall() == [(2, "b"), (3, "c")]
    assert result.fetchone() is None
    assert conn.execute("UPDATE seen SET word = upper(word)").rowcount == 3
    assert conn.execute("SELECT id FROM seen WHERE false").fetchone() is None


def test_a_rollback_undoes_and_a_commit_keeps(conn):
    conn.execute("CREATE TEMPORARY TABLE kept (word text) ON COMMIT PRESERVE ROWS")
    conn.commit()
    conn.execute("INSERT INTO kept VALUES (%(w)s)", {"w": "undone"})
    conn.rollback()
    conn.execute("INSERT INTO kept VALUES (%(w)s)", {"w": "kept"})
    conn.commit()
    assert conn.execute("SELECT word FROM kept").fetchall() == [("kept",)]


def test_errors_carry_their_sqlstate_and_not_the_values(conn):
    conn.execute("CREATE TEMPORARY TABLE once (word text PRIMARY KEY) ON COMMIT PRESERVE ROWS")
    conn.execute("INSERT INTO once VALUES (%(w)s)", {"w": "secret-value"})
    conn.commit()
    with pytest.raises(libpq.IntegrityError) as taken:
        conn.execute("INSERT INTO once VALUES (%(w)s)", {"w": "secret-value"})
    assert taken.value.sqlstate == "23505"
    assert "secret-value" not in str(taken.value).splitlines()[0]
    # The transaction failed: committing it rolls it back and says so.
    with pytest.raises(libpq.DatabaseError, match="rolled back"):
        conn.commit()
    with pytest.raises(libpq.ProgrammingError) as wrong:
        conn.execute("SELECT no_such_column FROM once")
    assert wrong.value.sqlstate == "42703"
    conn.rollback()
    with pytest.raises(libpq.DataError, match="NUL"):
        conn.execute("SELECT %(w)s", {"w": "a\x00b"})
    with pytest.raises(TypeError, match="dict"):
        conn.execute("SELECT %(w)s", {"w": {"not": "text"}})
    with pytest.raises(TypeError, match="OID 1700"):
        conn.execute("SELECT 1.5::numeric")
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM once").fetchone() == (1,)


def test_a_refused_connection_names_no_password():
    lib = libpq.load()
    params = {"host": "127.0.0.1", "port": "1", "user": "desk", "password": "hunter2-secret"}
    with pytest.raises(libpq.OperationalError) as refused:
        libpq.connect(lib, params)
    assert "connection failed" in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


def test_a_connection_ended_by_the_server_raises_operational_error(conn):
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    conn.rollback()
    with psycopg.connect(**postgresql_params(PG_ADMIN_URL), autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(libpq.OperationalError):
        conn.execute("SELECT 1")


def test_no_libpq_found_falls_back_to_psycopg(monkeypatch, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(libpq, "_loaded", [])
    monkeypatch.setattr(libpq, "_candidates", lambda: iter(["/nonexistent/libpq.so.5"]))
    assert libpq.load() is None
    direct = connect_driver(database_url)
    assert direct is not None
    try:
        assert direct.db.scalar("SELECT 1") == 1
        assert "psycopg" in type(direct.db._execute.__self__).__module__  # type: ignore[attr-defined]
    finally:
        direct.close()


def _stored_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row intake writes, without the times (they differ between runs)."""
    engine = create_engine(url)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in (
            "queue",
            "ticket_counter",
            "ticket",
            "queue_state_count",
            "article",
            "raw_message",
            "attachment",
            "blob",
            "history",
        ):
            result = connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - our names
            timeless = (
                tuple(v for v in row if not isinstance(v, dt.datetime | dt.date)) for row in result
            )
            rows[table] = sorted(timeless, key=repr)
    engine.dispose()
    return rows


def _store_corpus(url: str, tmp_path: Path, *, through_libpq: bool) -> list[str]:
    settings = read_settings(tmp_path / "instance", _NO_KEYS)
    messages = sorted((FIXTURES / "corpus").glob("*.eml")) + sorted(FIXTURES.glob("*.eml"))
    numbers = []
    direct = connect_driver(url, libpq=through_libpq)
    assert direct is not None
    try:
        for path in messages:
            delivery = store_on(direct.db, contextlib.nullcontext, settings, path.read_bytes())
            numbers.append(delivery.number)
    finally:
        direct.close()
    return numbers


def test_the_corpus_stores_the_same_rows_through_either_driver(tmp_path, database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    monkeypatch.setenv("WIKIBRIDGE_DATABASE_URL", database_url)
    numbers = _store_corpus(database_url, tmp_path, through_libpq=False)
    through_psycopg = _stored_rows(database_url)
    _empty_pg(database_url)
    assert _store_corpus(database_url, tmp_path, through_libpq=True) == numbers
    through_libpq = _stored_rows(database_url)
    assert through_libpq["ticket"] and through_libpq["article"]
    for table, rows in through_psycopg.items():
        assert through_libpq[table] == rows, table
