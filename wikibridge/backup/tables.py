"""Which tables a backup holds, and their rows read from a database.

Every table of the models is backed up unless :data:`EXCLUDED` names it with a
reason, so a table added later is in the next backup without anyone
remembering to add it (``tests/test_backup.py`` checks the migrations' tables
against both lists).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

# The imports register every table on the metadata.
import tickets.access
import tickets.access_changes
import tickets.applications
import tickets.recruiting_settings
import tickets.references
import tickets.training
import tickets.wiki_writes  # noqa: F401
import wikibridge.sessions  # noqa: F401
from tickets.models import Base
from wikibridge.backup.format import BATCH, Checksum, TableSpec, encode_line, encode_value, spec_of

#: Tables left out of backups, and why.
EXCLUDED: dict[str, str] = {
    # Logins last hours; they hold the volunteers' wiki access tokens (sealed,
    # but a backup is copied to more places and kept longer than the
    # database), and an installation restored from a backup is a new one
    # where everybody logs in again.  Nothing refers to them by foreign key;
    # page edits keep the session id they ran under as plain text.
    "login_session": "short-lived logins holding sealed wiki access tokens",
    # Derived, not stored knowledge: the triggers of migration 0022 count the
    # tickets per queue and state as a restore inserts them, so the restored
    # counts are exact by construction (copying them too would count twice).
    "queue_state_count": "counts the triggers rebuild from the restored tickets",
}


def backup_specs() -> list[TableSpec]:
    """The tables a backup holds, parents before the tables referring to them."""
    return [spec_of(t) for t in Base.metadata.sorted_tables if t.name not in EXCLUDED]


def _select(spec: TableSpec) -> Any:
    table = spec.table()
    # ``col IS NULL`` tells an SQL NULL from a JSON null, which read back alike.
    nulls = [
        table.c[name].is_(None).label(f"_null_{name}")
        for name, kind in spec.columns.items()
        if kind == "json"
    ]
    return table, select(*table.c, *nulls)


def _line(spec: TableSpec, row: Any) -> bytes:
    mapping = row._mapping
    encoded: dict[str, Any] = {}
    for name, kind in spec.columns.items():
        if kind == "json" and mapping[f"_null_{name}"]:
            encoded[name] = None
        else:
            encoded[name] = encode_value(kind, mapping[name])
    return encode_line(encoded)


def read_lines(
    conn: Connection, spec: TableSpec, keys: Collection[Any] | None = None
) -> Iterator[bytes]:
    """The table's rows as backup lines, in primary key order, streamed.

    :param keys: only the rows with these primary key values (single-column keys).
    """
    table, query = _select(spec)
    order = [table.c[name] for name in spec.primary_key]
    if keys is None:
        result = conn.execution_options(yield_per=BATCH).execute(query.order_by(*order))
        for row in result:
            yield _line(spec, row)
        return
    (key,) = spec.primary_key
    ordered = sorted(keys)
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        for row in conn.execute(query.where(table.c[key].in_(chunk)).order_by(*order)):
            yield _line(spec, row)


def database_checksums(conn: Connection, specs: Sequence[TableSpec]) -> dict[str, tuple[int, str]]:
    """Count and checksum of each table as the database holds it now."""
    sums = {}
    for spec in specs:
        checksum = Checksum()
        for line in read_lines(conn, spec):
            checksum.add(line)
        sums[spec.name] = (checksum.rows, checksum.hexdigest)
    return sums
