"""The backup file: a zip of one JSON Lines member per table, and a manifest.

Each row is one line, a JSON object of its columns (keys sorted, ASCII):
integers and booleans as they are, text as strings, timestamps as ISO 8601
in UTC, binary columns in base64, JSON columns as their JSON text (so an SQL
NULL, ``null``, stays apart from a JSON ``null``, ``"null"``).  The same
encoding is used on SQLite and PostgreSQL, so a file from one loads into the
other and checksums computed from either database agree.

A table's checksum is the sum, modulo 2**256, of the SHA-256 of each of its
lines: it does not depend on row order, which differs between the databases'
collations, and it can be recomputed from a restored database as well as
from the file.  ``manifest.json`` is written last, with the tables in
foreign-key order (parents first), their columns, counts and checksums.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.types import TypeEngine

FORMAT = "wikibridge-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: What rows are written and read in: enough to keep memory flat, few enough
#: round trips.
BATCH = 500

KINDS = ("bool", "int", "datetime", "json", "bytes", "str")


class BackupError(Exception):
    """A backup, restore or archive cannot go on; the message says why."""


class DamagedBackup(BackupError):
    """The file is not what its manifest says (``table`` names where, if known)."""

    def __init__(self, message: str, table: str | None = None) -> None:
        super().__init__(message)
        self.table = table


def kind_of(type_: TypeEngine[Any]) -> str:
    """The encoding of a column type; an unknown type is refused, not guessed."""
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, Integer):
        return "int"
    if isinstance(type_, DateTime):
        return "datetime"
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, LargeBinary):
        return "bytes"
    if isinstance(type_, String):
        return "str"
    raise BackupError(f"no backup encoding for the column type {type_!r}")


def _generic_type(kind: str) -> TypeEngine[Any]:
    # The same generic type on both databases, so values come back alike.
    types: dict[str, TypeEngine[Any]] = {
        "bool": Boolean(),
        "int": BigInteger(),
        "datetime": DateTime(timezone=True),
        "json": JSON(),
        "bytes": LargeBinary(),
        "str": String(),
    }
    return types[kind]


@dataclass
class TableSpec:
    """One table as the file describes it: columns with kinds, keys, counts."""

    name: str
    columns: dict[str, str]
    primary_key: list[str]
    #: Columns referring to this same table (``queue.parent_id``): loaded
    #: after the rows, since a row may point at one that comes later.
    self_references: list[str] = field(default_factory=list)
    rows: int = 0
    checksum: str = ""

    def table(self) -> Table:
        """A Core table of this shape, with the generic types the encoding expects."""
        return Table(
            self.name,
            MetaData(),
            *(
                Column(name, _generic_type(kind), primary_key=name in self.primary_key)
                for name, kind in self.columns.items()
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The manifest's entry."""
        return {
            "name": self.name,
            "columns": self.columns,
            "primary_key": self.primary_key,
            "self_references": self.self_references,
            "rows": self.rows,
            "checksum": self.checksum,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableSpec:
        """Read a manifest's entry, refusing kinds this code does not know."""
        try:
            spec = cls(
                name=str(data["name"]),
                columns={str(k): str(v) for k, v in dict(data["columns"]).items()},
                primary_key=[str(c) for c in data["primary_key"]],
                self_references=[str(c) for c in data.get("self_references", [])],
                rows=int(data["rows"]),
                checksum=str(data["checksum"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedBackup(f"manifest entry unreadable: {exc!r}") from exc
        unknown = set(spec.columns.values()) - set(KINDS)
        if unknown:
            raise DamagedBackup(f"unknown column kinds {sorted(unknown)}", spec.name)
        return spec


def spec_of(table: Table) -> TableSpec:
    """The spec of a table of the models (or reflected)."""
    return TableSpec(
        name=table.name,
        columns={c.name: kind_of(c.type) for c in table.columns},
        primary_key=[c.name for c in table.primary_key.columns],
        self_references=[
            c.name
            for c in table.columns
            if any(fk.column.table.name == table.name for fk in c.foreign_keys)
        ],
    )


# --- rows -------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back the naive UTC it was given; PostgreSQL an aware value.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def encode_value(kind: str, value: Any) -> Any:
    """One column's value as it goes into a line (JSON columns: see :func:`json_text`)."""
    if value is None:
        return None
    if kind == "datetime":
        return _utc(value).isoformat(timespec="microseconds")
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "json":
        return json_text(value)
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return str(value)


def json_text(value: Any) -> str:
    """A JSON column's value as canonical JSON text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def decode_value(kind: str, value: Any) -> Any:
    """A line's value back as the database takes it (JSON columns stay text)."""
    if value is None:
        return None
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    return value


def encode_line(row: Mapping[str, Any]) -> bytes:
    """A row of encoded values as one line (with its newline)."""
    return json_text(dict(row)).encode("ascii") + b"\n"


class Checksum:
    """The order-independent checksum of a table's lines, and their count."""

    def __init__(self) -> None:
        self.total = 0
        self.rows = 0

    def add(self, line: bytes) -> None:
        """Count one line (with its newline)."""
        self.total = (self.total + int.from_bytes(hashlib.sha256(line).digest())) % (1 << 256)
        self.rows += 1

    @property
    def hexdigest(self) -> str:
        """The checksum as written in the manifest."""
        return f"sum-sha256:{self.total:064x}"


# --- writing ----------------------------------------------------------------


def member_name(table: str) -> str:
    """The zip member holding ``table``'s rows."""
    return f"tables/{table}.jsonl"


class BackupWriter:
    """Writes a backup file: a temporary file, fsynced, renamed into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._raw: BinaryIO = open(self.tmp, "wb")  # noqa: SIM115 - closed in finish/abort
        self._zip = zipfile.ZipFile(
            self._raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6
        )
        self.specs: list[TableSpec] = []

    def write_table(self, spec: TableSpec, lines: Iterable[bytes]) -> TableSpec:
        """Stream ``lines`` into the table's member; set the spec's count and checksum."""
        checksum = Checksum()
        with self._zip.open(member_name(spec.name), "w", force_zip64=True) as out:
            pending = bytearray()
            for line in lines:
                checksum.add(line)
                pending += line
                if len(pending) >= 1 << 16:
                    out.write(pending)
                    pending.clear()
            out.write(pending)
        spec.rows = checksum.rows
        spec.checksum = checksum.hexdigest
        self.specs.append(spec)
        return spec

    def finish(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest, make the file durable and move it into place."""
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **manifest,
            "tables": [s.to_json() for s in self.specs],
        }
        self._zip.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        self._zip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.path

    def abort(self) -> None:
        """Give up: close and remove the temporary file (the target is untouched)."""
        # The file is thrown away: whatever closing it says does not matter.
        with contextlib.suppress(Exception):
            self._zip.close()
        self._raw.close()
        self.tmp.unlink(missing_ok=True)


# --- reading ----------------------------------------------------------------


class BackupReader:
    """Reads a backup file member by member, never all at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            manifest = json.loads(self._zip.read(MANIFEST))
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise DamagedBackup(f"{path} is no readable backup: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DamagedBackup(f"{path} is no wikibridge backup")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise DamagedBackup(
                f"{path} has format version {manifest.get('format_version')}, "
                f"this code reads {FORMAT_VERSION}"
            )
        self.manifest: dict[str, Any] = manifest
        self.specs = [TableSpec.from_json(t) for t in manifest.get("tables", [])]

    def close(self) -> None:
        """Close the file."""
        self._zip.close()

    def __enter__(self) -> BackupReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def lines(self, spec: TableSpec) -> Iterator[bytes]:
        """The table's lines as stored."""
        try:
            with self._zip.open(member_name(spec.name)) as member:
                yield from member
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DamagedBackup(f"table {spec.name}: {exc}", spec.name) from exc

    def rows(self, spec: TableSpec) -> Iterator[dict[str, Any]]:
        """The table's rows, decoded for inserting (checked against the columns)."""
        for number, line in enumerate(self.lines(spec), 1):
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise DamagedBackup(
                    f"table {spec.name}: line {number} unreadable", spec.name
                ) from exc
            if not isinstance(data, dict) or set(data) != set(spec.columns):
                raise DamagedBackup(
                    f"table {spec.name}: line {number} has other columns", spec.name
                )
            try:
                yield {c: decode_value(spec.columns[c], v) for c, v in data.items()}
            except (ValueError, TypeError) as exc:
                raise DamagedBackup(f"table {spec.name}: line {number}: {exc}", spec.name) from exc

    def verify(self) -> dict[str, int]:
        """Check every table against the manifest; return the counts.

        :raises DamagedBackup: naming the first table that does not match.
        """
        counts = {}
        for spec in self.specs:
            checksum = Checksum()
            for number, line in enumerate(self.lines(spec), 1):
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    raise DamagedBackup(
                        f"table {spec.name}: line {number} unreadable", spec.name
                    ) from exc
                if not isinstance(data, dict) or set(data) != set(spec.columns):
                    raise DamagedBackup(
                        f"table {spec.name}: line {number} has other columns", spec.name
                    )
                checksum.add(line)
            if checksum.rows != spec.rows:
                raise DamagedBackup(
                    f"table {spec.name}: {checksum.rows} rows, the manifest says {spec.rows}",
                    spec.name,
                )
            if checksum.hexdigest != spec.checksum:
                raise DamagedBackup(f"table {spec.name}: checksum does not match", spec.name)
            counts[spec.name] = checksum.rows
        return counts
