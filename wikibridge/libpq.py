"""PostgreSQL through libpq alone, for ``mail deliver``'s process per message.

The mail system starts a process for every message.  Importing psycopg cost
such a process about 90 ms, three times everything else it does; the C
library psycopg itself calls, libpq, loads through :mod:`ctypes` in a few.
This module calls libpq directly for the little intake asks of a database:
connect, run a statement with parameters, read its rows, commit, roll back.
Connecting is libpq's own work, as under psycopg: the same connection
parameters, TLS, authentication, ``PGPASSFILE`` and the other ``PG*``
variables.  The libpq loaded is psycopg's own where psycopg brought one
(``psycopg[binary]``), else the system's; with neither, the pipe uses
psycopg (:func:`wikibridge.engine.connect_driver`).

Parameters go to the server as psycopg 3 sends them, so that the same
statement means the same under both: ``None`` as NULL, ``bool`` as boolean,
``int`` as bigint, ``float`` as double precision, ``str`` as text of no
declared type (the server infers it from its use, as for a literal),
``bytes`` as bytea in binary, datetimes as timestamps (with time zone when
aware).  Rows are read as text and turned into ``int``, ``bool``, ``float``,
``bytes``, ``datetime`` or ``str`` by their column's type; JSON stays text.
A type outside these raises :class:`TypeError`: the statements run here are
intake's own, and the tests run them all.

Errors are raised as the DB-API's classes by SQLSTATE (``OperationalError``
for a connection lost or refused, ``IntegrityError`` for a constraint …),
with the server's message and without the statement or its values.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import re
import sys

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any

_CONNECTION_OK = 0
_COMMAND_OK, _TUPLES_OK = 1, 2
_IDLE, _IN_ERROR = 0, 3  # PQtransactionStatus: outside a transaction; one whose statement failed
_SQLSTATE_FIELD = ord("C")

_OID_BOOL, _OID_BYTEA, _OID_INT8, _OID_FLOAT8 = 16, 17, 20, 701
_OID_TIMESTAMP, _OID_TIMESTAMPTZ = 1114, 1184

#: Type OIDs of the columns read, by what they become.
_INTEGERS = frozenset((20, 21, 23, 26))  # int8, int2, int4, oid
_FLOATS = frozenset((700, 701))
_TEXTS = frozenset((18, 19, 25, 114, 705, 1042, 1043, 3802))  # char, name, text, json,
# unknown, bpchar, varchar, jsonb

#: psycopg's ``%(name)s`` parameters (and its doubled ``%``).
_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


class Error(Exception):
    """A database error; ``sqlstate`` is the server's code for it, when it gave one."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class DatabaseError(Error):
    """An error in a statement the server refused."""


class OperationalError(DatabaseError):
    """The connection failed, was lost, or the server is shutting down or out of resources."""


class IntegrityError(DatabaseError):
    """A constraint refused the statement (a key already taken, a foreign key …)."""


class DataError(DatabaseError):
    """A value the column's type cannot take."""


class ProgrammingError(DatabaseError):
    """The statement is wrong (syntax, a missing table or column, a type)."""


#: SQLSTATE classes (their first two characters) by the error raised; others: DatabaseError.
_ERROR_CLASSES: dict[str, type[DatabaseError]] = {
    "08": OperationalError,  # connection exception
    "22": DataError,
    "23": IntegrityError,
    "40": OperationalError,  # transaction rollback: serialization failure, deadlock
    "42": ProgrammingError,
    "53": OperationalError,  # insufficient resources
    "57": OperationalError,  # operator intervention: shutdown, cancel
    "58": OperationalError,  # system error
}


def _declare(lib: Any) -> None:
    """Give ctypes the signatures of the libpq functions used here."""
    p, i, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "PQconnectdbParams": (p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        "PQstatus": (i, [p]),
        "PQerrorMessage": (s, [p]),
        "PQfinish": (None, [p]),
        "PQtransactionStatus": (i, [p]),
        "PQexec": (p, [p, s]),
        "PQexecParams": (
            p,
            [
                p,
                s,
                i,
                ctypes.POINTER(ctypes.c_uint),
                ctypes.POINTER(s),
                ctypes.POINTER(i),
                ctypes.POINTER(i),
                i,
            ],
        ),
        "PQresultStatus": (i, [p]),
        "PQresultErrorMessage": (s, [p]),
        "PQresultErrorField": (s, [p, i]),
        "PQntuples": (i, [p]),
        "PQnfields": (i, [p]),
        "PQftype": (ctypes.c_uint, [p, i]),
        "PQgetisnull": (i, [p, i, i]),
        "PQgetvalue": (p, [p, i, i]),
        "PQgetlength": (i, [p, i, i]),
        "PQcmdTuples": (s, [p]),
        "PQclear": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def _candidates() -> Iterator[str]:
    """Where libpq may be: psycopg's own copy first, then the system's."""
    for entry in sys.path:
        if not entry:
            continue  # the working directory: never a place to load code from
        folder = os.path.join(entry, "psycopg_binary.libs")
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.startswith("libpq-") and ".so" in name:
                yield os.path.join(folder, name)
    yield "libpq.so.5"


_loaded: list[Any] = []


def load() -> Any | None:
    """libpq, loaded once per process; None when it cannot be found."""
    if not _loaded:
        lib = None
        for path in _candidates():
            try:
                lib = ctypes.CDLL(path)
                _declare(lib)
            except (OSError, AttributeError):
                lib = None
                continue
            break
        _loaded.append(lib)
    return _loaded[0]


def _message(text: bytes | None) -> str:
    return (text or b"").decode("utf-8", "replace").strip()


def connect(lib: Any, params: Mapping[str, Any]) -> Connection:
    """A connection with libpq's keyword ``params`` (``host``, ``dbname``, ``options`` …).

    :raises OperationalError: when the server cannot be reached or refuses.
    """
    pairs = [(key.encode(), str(value).encode()) for key, value in params.items()]
    pairs.append((b"client_encoding", b"UTF8"))
    keywords = (ctypes.c_char_p * (len(pairs) + 1))(*(k for k, _ in pairs), None)
    values = (ctypes.c_char_p * (len(pairs) + 1))(*(v for _, v in pairs), None)
    handle = lib.PQconnectdbParams(keywords, values, 0)
    if not handle:
        raise OperationalError("libpq could not allocate a connection")
    if lib.PQstatus(handle) != _CONNECTION_OK:
        message = _message(lib.PQerrorMessage(handle))
        lib.PQfinish(handle)
        raise OperationalError(f"connection failed: {message}")
    return Connection(lib, handle)


class Result:
    """The rows a statement returned, all read at once (intake's results are a row or few)."""

    __slots__ = ("_next", "rowcount", "rows")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self._next = 0

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None after the last."""
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows not read yet."""
        rest = self.rows[self._next :]
        self._next = len(self.rows)
        return rest

    def close(self) -> None:
        """Nothing to free: the server's result was freed when it was read."""


_NUMBERED: dict[str, tuple[bytes, tuple[str, ...]]] = {}


def numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql`` (psycopg's ``%(name)s`` style) as libpq takes it: ``$1``, ``$2`` …, and the names."""
    known = _NUMBERED.get(sql)
    if known is None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        known = _NUMBERED[sql] = (_PYFORMAT.sub(number, sql).encode(), tuple(names))
    return known


def _encode(value: Any) -> tuple[bytes | None, int, int]:
    """A parameter as libpq takes it: its bytes, type OID and format (1: binary)."""
    if value is None:
        return None, 0, 0
    if isinstance(value, bool):
        return (b"t" if value else b"f"), _OID_BOOL, 0
    if isinstance(value, int):
        return str(value).encode(), _OID_INT8, 0
    if isinstance(value, str):
        if "\x00" in value:
            raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return value.encode(), 0, 0
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), _OID_BYTEA, 1
    if isinstance(value, float):
        return repr(value).encode(), _OID_FLOAT8, 0
    if isinstance(value, dt.datetime):
        oid = _OID_TIMESTAMP if value.tzinfo is None else _OID_TIMESTAMPTZ
        return value.isoformat(" ").encode(), oid, 0
    raise TypeError(f"no PostgreSQL parameter for a {type(value).__name__}")


def _decode(raw: bytes, oid: int) -> Any:
    """A value read as text, by its column's type OID."""
    if oid in _TEXTS:
        return raw.decode()
    if oid in _INTEGERS:
        return int(raw)
    if oid == _OID_BOOL:
        return raw == b"t"
    if oid == _OID_BYTEA:
        return bytes.fromhex(raw[2:].decode())  # "\x" and hex digits
    if oid in (_OID_TIMESTAMPTZ, _OID_TIMESTAMP):
        return dt.datetime.fromisoformat(raw.decode())
    if oid in _FLOATS:
        return float(raw)
    raise TypeError(f"no Python value for the PostgreSQL type OID {oid}")


class Connection:
    """One libpq connection, used as intake uses psycopg's (outside autocommit).

    The first statement after a commit or rollback begins a transaction;
    :meth:`commit` ends it, and fails if a statement in it failed.
    """

    __slots__ = ("_handle", "_lib")

    def __init__(self, lib: Any, handle: int) -> None:
        self._lib = lib
        self._handle: int | None = handle

    def _status(self) -> int:
        """libpq's own account of the transaction (no round trip)."""
        return int(self._lib.PQtransactionStatus(self._connection()))

    def _connection(self) -> int:
        if self._handle is None:
            raise OperationalError("the connection is closed")
        return self._handle

    def _check(self, result: int | None) -> int:
        """``result`` if the statement succeeded; else it is freed and the error raised."""
        lib = self._lib
        if not result:
            raise OperationalError(_message(lib.PQerrorMessage(self._connection())))
        if lib.PQresultStatus(result) in (_COMMAND_OK, _TUPLES_OK):
            return result
        message = _message(lib.PQresultErrorMessage(result))
        sqlstate = lib.PQresultErrorField(result, _SQLSTATE_FIELD)
        lib.PQclear(result)
        code = sqlstate.decode() if sqlstate else None
        # No SQLSTATE: libpq itself failed (the server closed the connection …).
        error = _ERROR_CLASSES.get(code[:2], DatabaseError) if code else OperationalError
        raise error(message.removeprefix("ERROR:").strip(), code)

    def _run(self, sql: bytes) -> None:
        self._lib.PQclear(self._check(self._lib.PQexec(self._connection(), sql)))

    def _begin(self) -> None:
        if self._status() == _IDLE:
            self._run(b"BEGIN")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run ``sql`` (``%(name)s`` parameters) with ``params``; its rows, read."""
        command, names = numbered(sql)
        count = len(names)
        values = (ctypes.c_char_p * count)()
        types = (ctypes.c_uint * count)()
        lengths = (ctypes.c_int * count)()
        formats = (ctypes.c_int * count)()
        given = params or {}
        for index, name in enumerate(names):
            encoded, types[index], formats[index] = _encode(given[name])
            values[index] = encoded
            lengths[index] = len(encoded) if encoded is not None else 0
        self._begin()
        lib = self._lib
        result = self._check(
            lib.PQexecParams(self._connection(), command, count, types, values, lengths, formats, 0)
        )
        try:
            fields = lib.PQnfields(result)
            oids = [lib.PQftype(result, column) for column in range(fields)]
            rows = []
            for row in range(lib.PQntuples(result)):
                rows.append(
                    tuple(
                        None
                        if lib.PQgetisnull(result, row, column)
                        else _decode(
                            ctypes.string_at(
                                lib.PQgetvalue(result, row, column),
                                lib.PQgetlength(result, row, column),
                            ),
                            oids[column],
                        )
                        for column in range(fields)
                    )
                )
            affected = lib.PQcmdTuples(result)
        finally:
            lib.PQclear(result)
        return Result(rows, int(affected) if affected else -1)

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``sql`` once for each parameter set of ``rows``."""
        for params in rows:
            self.execute(sql, params)

    def commit(self) -> None:
        """Commit the transaction.

        :raises DatabaseError: when a statement in it had failed (it is rolled back).
        """
        status = self._status()
        if status == _IDLE:
            return
        failed = status == _IN_ERROR
        self._run(b"ROLLBACK" if failed else b"COMMIT")
        if failed:
            raise DatabaseError("a statement of the transaction failed; it was rolled back")

    def rollback(self) -> None:
        """Roll the transaction back."""
        if self._status() != _IDLE:
            self._run(b"ROLLBACK")

    def close(self) -> None:
        """Close the connection; what was not committed is rolled back by the server."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._lib.PQfinish(handle)
