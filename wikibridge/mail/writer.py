"""The LMTP listener's writer in a process of its own.

The listener's event loop and its writer thread took turns at one
interpreter's lock: every round trip the writer made to the database handed
the lock over and back, and with the writer replaced by a stub taking no CPU
the same listener answered twice as many messages (README, intake figures).
Here the listener's writer thread only hands each batch to a child process
and waits for its answer with the lock released; the child writes the batch
(:func:`wikibridge.mail.batch.write_batch`, the same transaction as before)
and answers after the commit, so nobody hears "stored" any earlier.

The child is spawned (the listener runs threads, so no fork) and needs only
the database URL, the system id and the mail domain.  It ignores SIGINT and
SIGTERM: a stop reaches it through the listener, which first lets the
messages in flight be written, then closes the pipe.  A child that dies
costs only the batch it held, answered "try again later" (its commit, if
it happened, makes the redelivery a duplicate); the next batch starts a
new child.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from tickets.intake import Delivery
    from wikibridge.mail.batch import Routed

log = logging.getLogger(__name__)

#: Seconds a stop waits for the child to finish after the pipe is closed.
CLOSE_SECONDS = 30.0


class StoreFailed(Exception):
    """The child could not store a message; the text is its exception's class and first line.

    Database exceptions are not sent as they are: some do not survive
    pickling, and their later lines hold the SQL and its parameters.
    """


class WriterGone(StoreFailed):
    """The child ended (killed, crashed) while it held the batch."""


def reason(exc: BaseException) -> str:
    """What a log line or a 451 says of ``exc``: its class and the first line of its text."""
    if isinstance(exc, StoreFailed):
        return str(exc)
    # Later lines of a database error hold the SQL and its parameters (message
    # text); SQLAlchemy never puts a URL's password in any of them.
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{exc.__class__.__name__}: {first}"


def _portable(result: Delivery | BaseException) -> Delivery | BaseException:
    return StoreFailed(reason(result)) if isinstance(result, BaseException) else result


def serve(conn: Connection, database_url: str, system_id: str, mail_domain: str) -> None:
    """The child: write each batch received on ``conn`` and answer with its results.

    Ends when the listener sends None or the pipe closes.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    from wikibridge.engine import make_engine
    from wikibridge.mail.batch import HeldConnection, PolicyCache, write_batch

    engine = make_engine(database_url)
    policies = PolicyCache(engine, mail_domain)
    held = HeldConnection(engine)
    try:
        while True:
            try:
                items = conn.recv()
            except EOFError:  # the listener is gone
                return
            if items is None:
                return
            try:
                results = write_batch(engine, items, policies.get(), system_id, held=held)
            except Exception as exc:  # noqa: BLE001 - the policy could not be read
                results = [exc] * len(items)
            conn.send([_portable(r) for r in results])
    finally:
        held.close()
        engine.dispose()


class ProcessWriter:
    """Writes batches in a child process; called by :class:`wikibridge.mail.batch.GroupCommitter`.

    Used by one thread at a time (the committer's).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._args = (
            str(config["DATABASE_URL"]),
            str(config["SYSTEM_ID"]),
            str(config["MAIL_DOMAIN"]),
        )
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None

    def start(self) -> None:
        """Start the child now (it imports the database layer while the listener starts)."""
        if self._process is not None:
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(theirs, *self._args), name="wikibridge-intake-writer"
        )
        process.start()
        theirs.close()  # the child's end: only the child holds it now
        self._conn, self._process = ours, process

    def __call__(self, items: Sequence[Routed]) -> list[Delivery | BaseException]:
        """Write ``items`` in one transaction in the child; per item its delivery or failure."""
        self.start()
        assert self._conn is not None
        try:
            self._conn.send(list(items))
            results: list[Delivery | BaseException] = self._conn.recv()
        except (EOFError, OSError) as exc:
            code = self._process.exitcode if self._process is not None else None
            self._discard()
            log.warning("the intake writer process ended (exit code %s); starting another", code)
            gone = WriterGone(f"the writer process ended ({exc.__class__.__name__})")
            return [gone] * len(items)
        return results

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Let the child finish and end (killed if it has not within ``timeout``)."""
        conn, process = self._conn, self._process
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
        if process is not None:
            process.join(timeout)
        self._discard()

    def _discard(self) -> None:
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join()
            process.close()
