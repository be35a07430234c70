"""Storing many messages per transaction: LMTP's group commit and ``mail import``.

A commit costs a disk flush (``synchronous=FULL``, ``synchronous_commit=on``)
and, on SQLite, a turn at the single writer.  Messages that arrive together
share both: each is prepared and routed on its own (no database needed),
then a batch is written in one transaction, and only after its commit is
anyone told a message is stored.  A batch that fails is written again one
message at a time, so one bad message never costs the others their place.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from tickets.intake import Delivery, Incoming, Storing, prepare, routing_view, store_all
from tickets.intake_rows import hold_numbers
from tickets.numbers import is_valid
from tickets.routing import Decision, Policy, route
from tickets.sql import Db
from wikibridge.engine import writer_turn

log = logging.getLogger(__name__)

#: Most messages written in one transaction.
MAX_BATCH = 200
#: Seconds the active routing policy is reused before it is read again.
POLICY_SECONDS = 5.0


@dataclass(frozen=True)
class Routed:
    """A message prepared and routed, waiting for its transaction."""

    incoming: Incoming
    #: :func:`route`'s decision (None with ``queue`` or when routing is left
    #: to the transaction).
    decision: Decision | None
    #: A queue chosen by the caller (``--queue``).
    queue: str | None = None
    #: An archive's ticket number, kept when valid and free.
    number: str | None = None


class PolicyCache:
    """The active routing policy, read again at most every ``seconds``."""

    def __init__(self, engine: Engine, domain: str, seconds: float = POLICY_SECONDS) -> None:
        self.engine = engine
        self.domain = domain
        self.seconds = seconds
        self._lock = threading.Lock()
        self._policy: Policy | None = None
        self._read_at = 0.0

    def cached(self) -> Policy | None:
        """The policy if it was read less than ``seconds`` ago, else None (never reads)."""
        policy = self._policy
        if policy is None or time.monotonic() - self._read_at > self.seconds:
            return None
        return policy

    def get(self) -> Policy:
        """The policy (a change made meanwhile applies within ``seconds``)."""
        from sqlalchemy.orm import Session

        from tickets.policies import active_policy

        with self._lock:
            now = time.monotonic()
            if self._policy is None or now - self._read_at > self.seconds:
                with Session(self.engine) as db:
                    self._policy = active_policy(db, self.domain)
                self._read_at = now
            return self._policy


def prepare_routed(
    raw: bytes,
    policy: Policy,
    *,
    queue: str | None = None,
    max_bytes: int | None = None,
    envelope_to: Sequence[str] = (),
    old_numbers: bool = False,
) -> Routed:
    """Parse, sanitise, compress and route ``raw``: everything but writing.

    Never raises for bad input.  Follow-ups and duplicates are routed too
    (the transaction finds them and drops the decision): asking the database
    first would cost more than the language detection it saves.  With
    ``old_numbers`` (an archive), a new ticket takes the number of the
    subject's first valid ``[Ticket#N]`` when no ticket has it yet.
    """
    from wikibridge.mail.store import detector_for

    incoming = prepare(raw, max_bytes, envelope_to)
    decision = None
    if not queue:
        view = routing_view(incoming.parsed, incoming.envelope_to)
        decision = route(view, policy, detector_for(policy.languages))
    number = None
    if old_numbers:
        number = next((tag for tag in incoming.parsed.ticket_tags if is_valid(tag)), None)
    return Routed(incoming, decision, queue, number)


def _driver_db(engine: Engine, dbapi: Any) -> Db:
    if engine.dialect.name == "postgresql":
        return Db.psycopg(dbapi)
    return Db.sqlite(dbapi)


@contextlib.contextmanager
def _pipelined(engine: Engine, dbapi: Any, db: Db) -> Iterator[None]:
    """PostgreSQL's pipeline mode around a batch; elsewhere nothing.

    A statement whose result nobody reads (history, attachments, the
    counter's final value) is sent with the next one that is read, not in a
    round trip of its own, and intake sends each step's statements for the
    whole batch before reading any result (:meth:`Db.later`).  Statements
    still run in order, each seeing those before it, and the commit waits
    for all of them.
    """
    if engine.dialect.name == "postgresql":
        with dbapi.pipeline():
            db.pipelined = True
            try:
                yield
            finally:
                db.pipelined = False
    else:
        yield


@contextlib.contextmanager
def _driver_connection(engine: Engine) -> Iterator[Db]:
    """A :class:`Db` straight over a pooled driver connection, returned to the pool after.

    A batch runs a few statements per message: SQLAlchemy's work around each
    (its execution context, its result object) cost the listener more CPU
    than psycopg's own.  The pool still checks the connection out (pre-ping,
    SQLite's pragmas) and rolls back whatever was not committed when it
    comes back.
    """
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None  # checked out, so connected
        db = _driver_db(engine, dbapi)
        with _pipelined(engine, dbapi, db):
            yield db
    finally:
        raw.close()


#: Seconds a writer keeps its connection between batches without asking the
#: pool again (whose check-out pings the server first).
HOLD_SECONDS = 1.0


class HeldConnection:
    """One writer thread's connection, kept from one batch to the next while they follow closely.

    Under load a batch follows another within milliseconds: checking a
    connection out of the pool each time cost a ping (a round trip) and the
    pool's own work, and the queue ids the last transaction read were
    forgotten.  After a pause, or after any failure, the connection goes back
    to the pool and the next batch checks one out as before.  Used by one
    thread at a time.
    """

    def __init__(self, engine: Engine, seconds: float = HOLD_SECONDS) -> None:
        self.engine = engine
        self.seconds = seconds
        self._raw: Any = None
        self._db: Db | None = None
        self._used_at = 0.0

    @contextlib.contextmanager
    def use(self) -> Iterator[Db]:
        """The connection's :class:`Db` for one transaction (dropped if anything fails)."""
        if self._raw is not None and time.monotonic() - self._used_at > self.seconds:
            self.close()
        if self._raw is None or self._db is None:
            raw = self.engine.raw_connection()
            self._raw, self._db = raw, _driver_db(self.engine, raw.driver_connection)
        try:
            with _pipelined(self.engine, self._raw.driver_connection, self._db):
                yield self._db
        except BaseException:
            self.close()
            raise
        self._used_at = time.monotonic()

    def close(self) -> None:
        """Give the connection back to the pool (which rolls back what is left)."""
        raw, self._raw, self._db = self._raw, None, None
        if raw is not None:
            raw.close()


def write_batch(
    engine: Engine,
    items: Sequence[Routed],
    policy: Policy,
    system_id: str,
    *,
    held: HeldConnection | None = None,
) -> list[Delivery | BaseException]:
    """Write ``items`` in one transaction; per item its delivery, or why it was not stored.

    Returns only after the commit.  ``held``: a connection kept between
    batches; when the batch fails on it, the batch is written again on one
    checked out of the pool.  When the batch fails, each message is written
    again in a transaction of its own.
    """
    from wikibridge.mail.store import detector_for

    detector = detector_for(policy.languages)
    try:
        connection = held.use() if held is not None else _driver_connection(engine)
        with connection as db, writer_turn(engine):
            # One Db for the batch: what it learns (queue ids) serves every message.
            db.begin_write()
            hold_numbers(db)
            done: list[Delivery | BaseException] = list(
                store_all(
                    db,
                    [
                        Storing(item.incoming, item.queue, item.decision, item.number)
                        for item in items
                    ],
                    policy=policy,
                    detector=detector,
                    system_id=system_id,
                )
            )
            db.commit()
            return done
    except Exception as exc:  # noqa: BLE001 - reported per message below
        if held is not None:
            # The kept connection may have gone stale (a server restart):
            # the pool checks the next one before it is used.
            log.info("a batch failed on the kept connection (%s); writing it again", exc)
            return write_batch(engine, items, policy, system_id)
        if len(items) == 1:
            return [exc]
        log.warning("a batch of %d messages failed (%s); storing one at a time", len(items), exc)
        return [write_batch(engine, [item], policy, system_id)[0] for item in items]


#: Writes a batch in one transaction: per message its delivery, or why it was not stored.
BatchWriter = Callable[[Sequence[Routed]], list[Delivery | BaseException]]


class GroupCommitter:
    """One writer thread: messages submitted while a commit runs share the next one.

    :meth:`submit` returns a future that resolves to the :class:`Delivery`
    after the commit that stored the message, or to the exception that kept
    it from being stored.  ``writer`` writes each batch instead of
    :func:`write_batch` on this process's ``engine`` (the LMTP listener's
    :class:`wikibridge.mail.writer.ProcessWriter`).
    """

    def __init__(
        self,
        engine: Engine,
        config: Mapping[str, Any],
        *,
        max_batch: int = MAX_BATCH,
        on_batch: Callable[[int], None] | None = None,
        writer: BatchWriter | None = None,
    ) -> None:
        self.engine = engine
        self.system_id = str(config["SYSTEM_ID"])
        self.policies = PolicyCache(engine, config["MAIL_DOMAIN"])
        self.max_batch = max_batch
        self.on_batch = on_batch
        self.writer = writer
        self._queue: queue.SimpleQueue[tuple[Routed, Future[Delivery]] | None] = queue.SimpleQueue()
        self._held = HeldConnection(engine)
        self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        self._thread.start()

    def submit(self, item: Routed) -> Future[Delivery]:
        """Queue ``item`` for the next transaction."""
        future: Future[Delivery] = Future()
        self._queue.put((item, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Write what was submitted, then stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._batches()
        finally:
            self._held.close()

    def _batches(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._write(batch)

    def _write(self, batch: list[tuple[Routed, Future[Delivery]]]) -> None:
        items = [item for item, _ in batch]
        try:
            if self.writer is not None:
                results = self.writer(items)
            else:
                results = write_batch(
                    self.engine, items, self.policies.get(), self.system_id, held=self._held
                )
        except BaseException as exc:  # noqa: BLE001 - the policy could not be read
            results = [exc] * len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            if not future.set_running_or_notify_cancel():
                continue  # nobody waits for it any more (stored all the same)
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
