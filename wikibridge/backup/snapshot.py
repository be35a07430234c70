"""A consistent backup of a running desk.

The whole backup is read in one transaction: REPEATABLE READ (and READ ONLY)
on PostgreSQL, one read transaction on SQLite, whose WAL lets mail keep
arriving meanwhile.  Either way every table is read as of the same moment, so
an article never shows up without its ticket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from wikibridge.backup.format import BackupError, BackupWriter
from wikibridge.backup.tables import EXCLUDED, backup_specs, read_lines
from wikibridge.migrate import alembic_config


def desk_version() -> str:
    """The installed wikibridge version."""
    try:
        return version("wikibridge")
    except PackageNotFoundError:
        return "unknown"


def head_revision(url: str) -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The schema revision of the database (None: no schema yet)."""
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no table: no schema
        return None


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the database as of one moment."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
            return
        # pysqlite starts no transaction for reads by itself; the snapshot
        # is taken by the first read after BEGIN.
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
        try:
            yield conn
        finally:
            conn.rollback()


def take_backup(engine: Engine, path: Path) -> dict[str, Any]:
    """Write a backup of everything the desk stores to ``path``; return its manifest.

    :raises BackupError: when the database's schema is not the one this code
        knows (upgrade first, or back up with the matching version).
    """
    url = engine.url.render_as_string(hide_password=False)
    head = head_revision(url)
    writer = BackupWriter(path)
    try:
        with read_snapshot(engine) as conn:
            revision = current_revision(conn)
            if revision != head:
                raise BackupError(
                    f"the database is at schema revision {revision}, this code at {head}: "
                    "back up with the wikibridge version matching the database, "
                    "or run `wikibridge db upgrade` first"
                )
            for spec in backup_specs():
                writer.write_table(spec, read_lines(conn, spec))
        manifest = {
            "kind": "backup",
            "alembic_revision": revision,
            "dialect": engine.dialect.name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "desk_version": desk_version(),
            "excluded": EXCLUDED,
        }
        writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    return {**manifest, "tables": [s.to_json() for s in writer.specs]}
