"""SQL text with named parameters, run on sqlite3, psycopg or a SQLAlchemy connection.

``wikibridge mail deliver`` runs once per message: importing SQLAlchemy cost it
more than everything else it does.  Intake's statements are therefore plain SQL
(``:name`` parameters) run through :class:`Db`, a few lines over the driver's
connection; the listener, ``mail import`` and the web run the very same
statements on their SQLAlchemy connection (:meth:`Db.over`), inside its
transaction, so every way in writes identical rows.

Standard library only: SQLAlchemy is imported only when a SQLAlchemy session
or connection is handed in (:func:`as_db`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    Row = tuple[Any, ...]

#: ``:name`` parameters (not ``::type`` casts, not inside a word).
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
#: Statements in psycopg's ``%(name)s`` style, by their ``:name`` text.
_PYFORMAT: dict[str, str] = {}


def pyformat(sql: str) -> str:
    """``sql`` with ``:name`` parameters written ``%(name)s`` (and ``%`` doubled)."""
    converted = _PYFORMAT.get(sql)
    if converted is None:
        converted = _PYFORMAT[sql] = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    return converted


def sqlite_timestamp(value: dt.datetime) -> str:
    """A timestamp as SQLAlchemy stores it in SQLite (no zone; UTC by convention).

    Rows written here and rows written by the ORM must read back the same, and
    compare as text in SQLite's indexes.
    """
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - SQLAlchemy's own format
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _sqlite_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: sqlite_timestamp(v) if isinstance(v, dt.datetime) else v for k, v in params.items()}


class Pending:
    """A statement's first row, read when asked for (see :meth:`Db.later`)."""

    __slots__ = ("_done", "_read", "_row")

    def __init__(self, read: Callable[[], Row | None]) -> None:
        self._read = read
        self._row: Row | None = None
        self._done = False

    def row(self) -> Row | None:
        """The first row, if any (the statement has run once this returns)."""
        if not self._done:
            self._row, self._done = self._read(), True
        return self._row

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        row = self.row()
        return row[0] if row is not None else None


def _first_row(result: Any) -> Row | None:
    try:
        row = result.fetchone()
    finally:
        result.close()
    return tuple(row) if row is not None else None


class Db:
    """A database connection and the few calls intake makes on it.

    ``dialect`` is ``sqlite`` or ``postgresql``.  Statements are written with
    ``:name`` parameters; timestamps are aware UTC datetimes, JSON values are
    passed as the text :func:`json.dumps` makes of them (as SQLAlchemy's JSON
    type stores them).  Build one with :meth:`sqlite`, :meth:`psycopg` or
    :meth:`over`.
    """

    __slots__ = (
        "_commit",
        "_execute",
        "_executemany",
        "_in_transaction",
        "_rollback",
        "before_commit",
        "dialect",
        "numbers",
        "pipelined",
        "queue_ids",
    )

    def __init__(
        self,
        dialect: str,
        execute: Callable[[str, Any], Any],
        executemany: Callable[[str, list[Any]], Any],
        in_transaction: Callable[[], bool],
        commit: Callable[[], None],
        rollback: Callable[[], None],
    ) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise RuntimeError(f"unsupported database {dialect}")
        self.dialect = dialect
        self._execute = execute
        self._executemany = executemany
        self._in_transaction = in_transaction
        self._commit = commit
        self._rollback = rollback
        #: Queue ids by name, read or created by this connection (see
        #: :func:`tickets.intake_rows.queue_id`): kept past a commit (queues
        #: are never renamed or deleted), forgotten by a rollback, which may
        #: take back a queue it created.
        self.queue_ids: dict[str, int] = {}
        #: Ticket counters this transaction holds, by (day, system id): the
        #: value stored and the last one handed out (see
        #: :func:`tickets.intake_rows.hold_numbers`); None when each number is
        #: taken from the database.
        self.numbers: dict[tuple[str, str], list[int]] | None = None
        #: Run by :meth:`commit` first (writes what was held back until then).
        self.before_commit: Callable[[Db], None] | None = None
        #: In psycopg's pipeline mode: statements sent with :meth:`later` travel
        #: together and their results come back in one round trip.
        self.pipelined = False

    def commit(self) -> None:
        """End the transaction (on a SQLAlchemy connection: its transaction)."""
        if self.before_commit is not None:
            self.before_commit(self)
        if self.numbers is not None:
            self.numbers.clear()
        self._commit()

    def rollback(self) -> None:
        """Undo the transaction."""
        self.queue_ids.clear()
        if self.numbers is not None:
            self.numbers.clear()
        self._rollback()

    @classmethod
    def sqlite(cls, connection: Any) -> Db:
        """Over a :mod:`sqlite3` connection (in its default transaction mode)."""
        return cls(
            "sqlite",
            connection.execute,
            connection.executemany,
            lambda: bool(connection.in_transaction),
            connection.commit,
            connection.rollback,
        )

    @classmethod
    def psycopg(cls, connection: Any) -> Db:
        """Over a psycopg (3) connection, not in autocommit mode."""

        def executemany(sql: str, rows: list[Any]) -> None:
            with connection.cursor() as cursor:
                cursor.executemany(sql, rows)

        return cls(
            "postgresql",
            connection.execute,
            executemany,
            lambda: True,
            connection.commit,
            connection.rollback,
        )

    @classmethod
    def over(cls, conn: Connection) -> Db:
        """Over a SQLAlchemy connection: its driver runs the statements in its transaction.

        ``exec_driver_sql`` hands the text and parameters to the driver's
        cursor unchanged, inside the connection's transaction (begun if
        need be), and its cursor events still see every statement.
        """
        return cls(
            conn.dialect.name,
            conn.exec_driver_sql,
            conn.exec_driver_sql,
            lambda: bool(getattr(conn.connection.dbapi_connection, "in_transaction", True)),
            conn.commit,
            conn.rollback,
        )

    def _sql(self, sql: str) -> str:
        return pyformat(sql) if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run ``sql``; the driver's cursor (or SQLAlchemy's result) to read rows from."""
        if params is None:
            return self._execute(self._sql(sql), {})
        if self.dialect == "sqlite":
            params = _sqlite_params(params)
        return self._execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run ``sql`` once per parameter set, in one call to the driver."""
        batch = list(rows)
        if not batch:
            return
        if self.dialect == "sqlite":
            batch = [_sqlite_params(r) for r in batch]
        self._executemany(self._sql(sql), batch)

    def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row ``sql`` returns, if any (the rest are dropped)."""
        return _first_row(self.execute(sql, params))

    def later(self, sql: str, params: Mapping[str, Any] | None = None) -> Pending:
        """``sql``'s first row, to be read later: many such statements share a round trip.

        On a pipelined connection the statement is sent now and its result
        read with the others sent before it.  Elsewhere it runs when its row is
        first asked for (a lookup never asked for never runs), so a writing
        statement must be read.
        """
        if self.pipelined:
            result = self.execute(sql, params)
            return Pending(lambda: _first_row(result))
        return Pending(lambda: self.first(sql, params))

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.first(sql, params)
        return row[0] if row is not None else None

    def begin_write(self) -> None:
        """Start the transaction as a writer from its first statement.

        SQLite lets only one writer in; a transaction that reads first and
        writes later fails at once if another wrote in between, instead of
        waiting its turn.  ``BEGIN IMMEDIATE`` queues the delivery up front.
        PostgreSQL needs nothing: the counter row's lock orders deliveries there.
        """
        # sqlite3 opens its own transaction only before a write, so earlier
        # reads leave it outside one: ask the driver.
        if self.dialect == "sqlite" and not self._in_transaction():
            self.execute("BEGIN IMMEDIATE")


def as_db(session: Session | Connection | Db) -> Db:
    """A :class:`Db` over ``session``'s connection (its pending ORM changes flushed first)."""
    if isinstance(session, Db):
        return session
    from sqlalchemy.engine import Connection

    if isinstance(session, Connection):
        return Db.over(session)
    session.flush()
    return Db.over(session.connection())
