"""Loading a backup (or an archive) into an empty database, SQLite or PostgreSQL.

The file is checked first; then the schema is created at the backup's
revision, the rows go in parents first, in batches, inside one transaction
that is committed only when counts and checksums recomputed from the
database match the manifest.  Last, newer migrations bring the schema (and
the restored rows) up to what this code expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import JSON, Connection, Text, bindparam, cast, insert, inspect, text, update

from wikibridge.backup.format import (
    BATCH,
    BackupError,
    BackupReader,
    DamagedBackup,
    TableSpec,
)
from wikibridge.backup.snapshot import head_revision
from wikibridge.backup.tables import database_checksums
from wikibridge.engine import make_engine
from wikibridge.migrate import alembic_config, upgrade


@dataclass
class RestoreReport:
    """What a restore loaded."""

    revision: str
    head: str
    source_dialect: str
    counts: dict[str, int]


def _check_revision(url: str, revision: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema revision {revision} is unknown to this code "
            f"(newest known: {script.get_current_head()}): restore it with a newer wikibridge"
        )


def _check_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        names = sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise BackupError(
            f"the database is not empty (it has tables: {shown}); restore into a new, "
            "empty database, without running `wikibridge db upgrade` on it first"
        )


def _insert_statement(conn: Connection, spec: TableSpec) -> Any:
    table = spec.table()
    values: dict[str, Any] = {}
    for name, kind in spec.columns.items():
        column = table.c[name]
        if kind == "json":
            # The JSON text goes in as it is, so an SQL NULL stays NULL and a
            # JSON null stays ``null``.
            param = bindparam(f"p_{name}", type_=Text())
            values[name] = cast(param, JSON()) if conn.dialect.name == "postgresql" else param
        else:
            values[name] = bindparam(f"p_{name}", type_=column.type)
    return insert(table).values(values)


def _load_table(conn: Connection, spec: TableSpec, rows: Iterable[dict[str, Any]]) -> int:
    statement = _insert_statement(conn, spec)
    key = spec.primary_key[0]
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        params = {f"p_{name}": value for name, value in row.items()}
        if spec.self_references:
            # A row may point at one further on: set those columns afterwards.
            pointers = {c: row[c] for c in spec.self_references if row[c] is not None}
            if pointers:
                later.append({"p_key": row[key], **{f"v_{c}": v for c, v in pointers.items()}})
                for column in pointers:
                    params[f"p_{column}"] = None
        batch.append(params)
        if len(batch) >= BATCH:
            conn.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    if later:
        table = spec.table()
        for column in spec.self_references:
            todo = [
                {"p_key": r["p_key"], f"v_{column}": r[f"v_{column}"]}
                for r in later
                if f"v_{column}" in r
            ]
            if todo:
                conn.execute(
                    update(table)
                    .where(table.c[key] == bindparam("p_key"))
                    .values({column: bindparam(f"v_{column}")}),
                    todo,
                )
    return count


def _fix_sequences(conn: Connection, specs: Iterable[TableSpec]) -> None:
    # Rows came with their ids; the sequences must continue after them.
    quote = conn.dialect.identifier_preparer.quote
    for spec in specs:
        if len(spec.primary_key) != 1 or spec.columns[spec.primary_key[0]] != "int":
            continue
        table, column = quote(spec.name), quote(spec.primary_key[0])
        sql = "SELECT setval(pg_get_serial_sequence(:table, :column), "
        sql += f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {table}"
        conn.execute(text(sql), {"table": spec.name, "column": spec.primary_key[0]})


def check_against_database(conn: Connection, specs: list[TableSpec]) -> None:
    """Recompute counts and checksums in the database; raise on the first difference."""
    found = database_checksums(conn, specs)
    for spec in specs:
        rows, checksum = found[spec.name]
        if rows != spec.rows:
            raise DamagedBackup(
                f"table {spec.name}: {rows} rows restored, the manifest says {spec.rows}",
                spec.name,
            )
        if checksum != spec.checksum:
            raise DamagedBackup(
                f"table {spec.name}: the restored rows do not match the checksum", spec.name
            )


def restore(path: Path, url: str) -> RestoreReport:
    """Load the backup at ``path`` into the empty database at ``url``.

    :raises DamagedBackup: the file, or what was loaded, does not match the
        manifest (nothing is committed then).
    :raises BackupError: the database is not empty, or the backup is newer
        than this code.
    """
    with BackupReader(path) as reader:
        reader.verify()
        revision = str(reader.manifest.get("alembic_revision"))
        _check_revision(url, revision)
        _check_empty(url)
        upgrade(url, revision)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                counts = {s.name: _load_table(conn, s, reader.rows(s)) for s in reader.specs}
                if conn.dialect.name == "postgresql":
                    _fix_sequences(conn, reader.specs)
                check_against_database(conn, reader.specs)
        finally:
            engine.dispose()
    head = head_revision(url)
    if revision != head:
        upgrade(url, head)
    return RestoreReport(
        revision=revision,
        head=head,
        source_dialect=str(reader.manifest.get("dialect")),
        counts=counts,
    )
