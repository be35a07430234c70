"""Archiving old closed tickets: exported to a verified file, then removed.

This is the one module allowed to delete rows (``tests/unit/test_nothing_deleted.py``
names it), and only rows that are in a backup file it wrote and read back
first.  It runs only when someone types ``wikibridge archive``; nothing
time-based calls it.

One transaction holds it all: choosing the tickets, writing the file (a
backup of just those tickets, their rows and what they refer to, so it loads
into an empty desk), checking it, and removing exactly those rows.  On SQLite
the transaction takes the write lock at once; on PostgreSQL it locks the
chosen tickets.  The archived numbers are recorded as known tickets, so the
reference audit still knows them as real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tickets.models import Base, State
from tickets.queues import queue_by_name
from tickets.references import KnownTicket
from tickets.retention import Selection, referenced_rows, rows_of_tickets, select_tickets
from wikibridge.backup.format import BackupError, BackupReader, BackupWriter, DamagedBackup
from wikibridge.backup.snapshot import current_revision, desk_version
from wikibridge.backup.tables import EXCLUDED, backup_specs, read_lines

CHUNK = 500
#: SQLite's full-text tables (migration 0007) have triggers for inserts and
#: updates only: removed rows must be taken out of them by hand.
SQLITE_FTS = {"article": ("article_fts", ("subject", "body")), "ticket": ("ticket_fts", ("title",))}


@dataclass
class ArchiveReport:
    """What an archive run did."""

    selection: Selection
    path: Path | None
    removed: dict[str, int]


def plan(session: Session, closed_before: dt.datetime, queue: str | None = None) -> Selection:
    """The tickets an archive run would take now (for ``--dry-run``).

    :raises BackupError: no queue of that name.
    """
    target = None
    if queue is not None:
        target = queue_by_name(session, queue)
        if target is None:
            raise BackupError(f"no queue {queue!r}")
    return select_tickets(session, closed_before, target)


def _begin(conn: Connection) -> Connection:
    if conn.dialect.name == "sqlite":
        # The write lock from the start: nothing changes between export and removal.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return conn
    conn = conn.execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    return conn


def _lock(conn: Connection, ids: list[int]) -> None:
    if conn.dialect.name != "postgresql":
        return
    table = Base.metadata.tables["ticket"]
    for start in range(0, len(ids), CHUNK):
        # Fails (serialisation) if one of them changed since the snapshot.
        conn.execute(
            select(table.c.id).where(table.c.id.in_(ids[start : start + CHUNK])).with_for_update()
        )


def _write(
    conn: Connection,
    path: Path,
    keep: dict[str, set[Any]],
    manifest: dict[str, Any],
) -> dict[str, int]:
    writer = BackupWriter(path)
    try:
        for spec in backup_specs():
            wanted = keep.get(spec.name, set())
            writer.write_table(spec, read_lines(conn, spec, wanted) if wanted else iter(()))
        writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    return {s.name: s.rows for s in writer.specs}


def _remove_table(conn: Connection, table: Table, keys: set[Any]) -> int:
    (key,) = table.primary_key.columns
    ordered = sorted(keys)
    own = [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
    fts = SQLITE_FTS.get(table.name) if conn.dialect.name == "sqlite" else None
    removed = 0
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        if own:
            # Rows pointing at each other within the table go in any order.
            conn.execute(update(table).where(key.in_(chunk)).values({c: None for c in own}))
        if fts is not None:
            name, columns = fts
            listed = ", ".join(columns)
            sql = f"INSERT INTO {name}({name}, rowid, {listed}) SELECT 'delete', id, {listed} "
            sql += f"FROM {table.name} WHERE id IN :ids"
            conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), {"ids": chunk})
        removed += conn.execute(table.delete().where(key.in_(chunk))).rowcount
    return removed


def archive(
    engine: Engine,
    path: Path,
    closed_before: dt.datetime,
    queue: str | None = None,
    by: str = "cli",
) -> ArchiveReport:
    """Write the qualifying tickets to ``path``, check the file, then remove them.

    Nothing is removed unless the file was written, read back and matched.

    :raises BackupError: no queue of that name, or the removal did not match
        the file (nothing is removed then).
    """
    with engine.connect() as plain:
        conn = _begin(plain)
        try:
            with Session(bind=conn) as session:
                selection = plan(session, closed_before, queue)
                ids = [t.id for t in selection.tickets]
                numbers = {t.id: (t.number, t.queue.name, t.state) for t in selection.tickets}
            if not ids:
                conn.rollback()
                return ArchiveReport(selection, None, {})
            _lock(conn, ids)
            removed = rows_of_tickets(conn, ids, skip=EXCLUDED)
            context = referenced_rows(conn, removed, skip=EXCLUDED)
            keep = {name: removed.get(name, set()) | context.get(name, set()) for name in removed}
            manifest = {
                "kind": "archive",
                "alembic_revision": current_revision(conn),
                "dialect": conn.dialect.name,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "desk_version": desk_version(),
                "excluded": EXCLUDED,
                "selection": {
                    "closed_before": closed_before.isoformat(),
                    "queue": queue,
                    "tickets": sorted(n for n, _, _ in numbers.values()),
                },
                "removed": {name: len(keys) for name, keys in removed.items() if keys},
            }
            written = _write(conn, path, keep, manifest)
            with BackupReader(path) as reader:
                counts = reader.verify()
            expected = {name: len(keys) for name, keys in keep.items()}
            if counts != {name: expected.get(name, 0) for name in counts}:
                raise DamagedBackup(f"{path}: the archive does not hold every row it should")
            done: dict[str, int] = {}
            for table in reversed(Base.metadata.sorted_tables):
                keys = removed.get(table.name)
                if keys:
                    done[table.name] = _remove_table(conn, table, keys)
            if done != {name: len(keys) for name, keys in removed.items() if keys}:
                raise BackupError("the rows removed are not the rows archived; nothing removed")
            _remember(conn, numbers, path, by)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    assert written
    return ArchiveReport(selection, path, done)


def _remember(
    conn: Connection, numbers: dict[int, tuple[str, str, str]], path: Path, by: str
) -> None:
    """Record the archived numbers as known tickets, for the reference audit."""
    table = KnownTicket.__table__
    listed = [n for n, _, _ in numbers.values()]
    known = set()
    for start in range(0, len(listed), CHUNK):
        known |= set(
            conn.scalars(
                select(table.c.number).where(table.c.number.in_(listed[start : start + CHUNK]))
            )
        )
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "number": number,
            "old_id": None,
            "queue": queue,
            "permission_confirmed": state == State.CLOSED_SUCCESSFUL.value,
            "imported_from": f"archive {path.name} by {by}"[:255],
            "imported_at": now,
        }
        for number, queue, state in numbers.values()
        if number not in known
    ]
    if rows:
        conn.execute(table.insert(), rows)  # type: ignore[attr-defined]


__all__ = ["ArchiveReport", "archive", "plan"]
