"""The LMTP door: a long-lived listener the mail system hands messages to.

The MTA (Postfix: ``mailbox_transport = lmtp:inet:127.0.0.1:8024``) gives us
each message once, with all its recipients.  A worker thread parses and
routes it; one writer thread stores the messages that arrived meanwhile in
one transaction (group commit, :mod:`wikibridge.mail.batch`), and only after
that commit is every recipient answered ``250`` with the ticket number.
Whatever stops the store answers ``451`` for every recipient, so the MTA
keeps the message and tries again ("Never lose a message" in
``docs/ROUTING.md``).  The bytes are stored exactly as received; the envelope
recipients are kept beside them.

``wikibridge mail deliver`` starts Python and SQLAlchemy once per message;
this listener pays that once per process, and ``mail deliver`` hands its
message to it where it runs (:mod:`wikibridge.mail.handoff`).

The protocol itself is :mod:`wikibridge.mail.lmtp_session`.  This module is
imported by every ``wikibridge`` command (the ``mail`` group lists it), so
asyncio and the protocol are imported only when a listener starts.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from wikibridge import metrics
from wikibridge.mail.writer import reason as _reason

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

    from tickets.intake import Delivery
    from tickets.routing import Policy
    from wikibridge.mail.batch import GroupCommitter, Routed

log = logging.getLogger(__name__)

#: Default for the ``MAIL_MAX_BYTES`` setting: larger messages are stored unread.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
#: Mailman 3 made 8024 the customary unprivileged LMTP port (24 needs root).
DEFAULT_LISTEN = "127.0.0.1:8024"
#: How long a stop waits for messages already being stored, so their senders
#: hear the answer instead of retrying.
STOP_GRACE_SECONDS = 30.0

REPLY_STORED = "250 2.0.0 {number} stored"
REPLY_STORED_UNREAD = "250 2.0.0 {number} stored unread: too large, kept as received"
REPLY_NOT_STORED = "451 4.3.0 Message not stored, try again later"
REPLY_SHUTTING_DOWN = "421 4.3.2 Shutting down, try again later"

#: Messages up to this size are prepared on the event loop's thread when the
#: routing policy is at hand: a hand-over to a worker thread costs more than
#: preparing them (the GIL lets one run at a time anyway), and a larger one
#: would hold up the other connections too long.
INLINE_BYTES = 64 * 1024
#: Where batches are written: a child process (the default) or a thread of the listener.
WRITERS = ("process", "thread")
#: Seconds between looks for connections silent longer than ``IDLE_SECONDS``.
IDLE_SWEEP_SECONDS = 30.0


class _Results:
    """The writer thread's results, handed to the event loop a batch at a time.

    Each result set from another thread wakes the loop (a write to its
    self-pipe and a turn for the GIL); results of one commit arrive together,
    so the first of them schedules one wake-up that hands over all.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._arrived: list[tuple[asyncio.Future[Any], Future[Any]]] = []

    def watch(self, done: Future[Any]) -> asyncio.Future[Any]:
        """An asyncio future of the loop that takes on ``done``'s outcome."""
        waiting: asyncio.Future[Any] = self.loop.create_future()
        done.add_done_callback(functools.partial(self._arrive, waiting))
        return waiting

    def _arrive(self, waiting: asyncio.Future[Any], done: Future[Any]) -> None:
        with self._lock:
            first = not self._arrived
            self._arrived.append((waiting, done))
        if first:
            # RuntimeError: the loop has closed (a stop past its grace period).
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            arrived, self._arrived = self._arrived, []
        for waiting, done in arrived:
            if waiting.cancelled():
                continue
            if done.cancelled():
                waiting.cancel()
            elif (exc := done.exception()) is not None:
                waiting.set_exception(exc)
            else:
                waiting.set_result(done.result())


# -- storing ------------------------------------------------------------------


class _Handler:
    """Stores each message once, for LMTP sessions and ``mail deliver`` hand-offs."""

    def __init__(
        self,
        app: Flask,
        queue: str | None,
        executor: ThreadPoolExecutor,
        max_bytes: int,
        committer: GroupCommitter,
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        self.app = app
        #: Worker processes that parse and route (None: the threads of ``executor``).
        self.pool = pool
        self.queue = queue
        self.max_bytes = max_bytes
        self.executor = executor
        self.committer = committer
        self.closing = False
        #: Messages being stored (LMTP or handed off), for a graceful stop.
        self.storing = 0
        #: Largest message prepared on the event loop's thread (0: none).
        self.inline_bytes = INLINE_BYTES
        self._results: _Results | None = None

    async def store(self, raw: bytes, recipients: list[str], queue: str | None) -> Delivery:
        """Prepare ``raw``, then wait for the commit that stores it.

        Typical mail is prepared right here on the event loop's thread (see
        :data:`INLINE_BYTES`), larger mail on a worker thread or process.
        Shielded: a client gone mid-way (its answer lost) must not cut the
        store short; it delivers again and hears the stored ticket.
        """
        import asyncio

        loop = asyncio.get_running_loop()

        if self._results is None:
            self._results = _Results(loop)
        results = self._results

        async def prepare_and_commit() -> Delivery:
            policy = self.committer.policies.cached() if len(raw) <= self.inline_bytes else None
            if self.pool is None and policy is not None:
                routed = self.prepare(raw, recipients, queue, policy)
            elif self.pool is None:
                routed = await loop.run_in_executor(
                    self.executor, self.prepare, raw, recipients, queue
                )
            else:
                from wikibridge.mail.batch import prepare_routed

                policy = await loop.run_in_executor(self.executor, self.committer.policies.get)
                work = functools.partial(
                    prepare_routed,
                    raw,
                    policy,
                    queue=queue,
                    max_bytes=self.max_bytes,
                    envelope_to=recipients,
                )
                routed = await loop.run_in_executor(self.pool, work)
            # Answered only after the commit that stored it; messages arriving
            # meanwhile share that commit (group commit).
            return await results.watch(self.committer.submit(routed))

        self.storing += 1
        try:
            return await asyncio.shield(prepare_and_commit())
        finally:
            self.storing -= 1

    async def handle_handoff(self, reader: Any, writer: Any) -> None:
        """One ``mail deliver`` handing its message over (see :mod:`wikibridge.mail.handoff`)."""
        import asyncio

        from wikibridge.mail.handoff import MAX_REQUEST_LINE, parse_request

        try:
            line = await reader.readuntil(b"\n")
            if len(line) > MAX_REQUEST_LINE:
                raise ValueError("request line too long")
            length, queue = parse_request(line.rstrip(b"\n"))
            raw = await reader.readexactly(length)
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            answer = f"451 bad hand-off: {exc}"
        else:
            if self.closing:
                answer = "451 shutting down, try again later"
            else:
                try:
                    delivery = await self.store(raw, [], queue or self.queue)
                except Exception as exc:  # noqa: BLE001 - any failure to store is temporary
                    log.warning("handed-off message not stored, answered 451: %s", _reason(exc))
                    answer = f"451 not stored: {_reason(exc)}"
                else:
                    log.info(
                        "stored as %s in %s (%s, handed off by mail deliver), %d bytes",
                        delivery.number,
                        delivery.queue,
                        delivery.rule,
                        len(raw),
                    )
                    answer = f"250 {delivery.number}" + (" unread" if delivery.too_large else "")
        try:
            writer.write(answer.encode() + b"\n")
            await writer.drain()
        except OSError:
            pass  # it went away; the redelivery hears the stored ticket
        finally:
            writer.close()

    async def deliver(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        """Store a message an LMTP session received; the reply for each recipient."""
        try:
            delivery = await self.store(raw, recipients, self.queue)
        except Exception as exc:  # noqa: BLE001 - any failure to store is temporary for the MTA
            metrics.mail_not_stored("lmtp")
            log.warning(
                "message from %s for %d recipient(s) not stored, answered 451: %s",
                sender or "<>",
                len(recipients),
                _reason(exc),
            )
            return [REPLY_NOT_STORED] * len(recipients)
        metrics.mail_received("lmtp", delivery.rule)
        log.info(
            "stored as %s in %s (%s%s%s), %d bytes, %d recipient(s)",
            delivery.number,
            delivery.queue,
            delivery.rule,
            "" if delivery.created else ", already stored",
            ", unread: over MAIL_MAX_BYTES" if delivery.too_large else "",
            len(raw),
            len(recipients),
        )
        reply = REPLY_STORED_UNREAD if delivery.too_large else REPLY_STORED
        return [reply.format(number=delivery.number)] * len(recipients)

    def prepare(
        self, raw: bytes, recipients: list[str], queue: str | None, policy: Policy | None = None
    ) -> Routed:
        """Parse and route one message (needs no database but the policy, read if not given).

        The bytes are stored exactly as received; the envelope recipients are
        kept beside them and route the message when its headers name no
        known address (a Bcc, an alias the MTA expanded).
        """
        from wikibridge.mail.batch import prepare_routed

        return prepare_routed(
            raw,
            policy or self.committer.policies.get(),
            queue=queue,
            max_bytes=self.max_bytes,
            envelope_to=recipients,
        )


# -- the listener -------------------------------------------------------------


class LMTPListener:
    """An LMTP server storing into ``app``: in the foreground or on a thread.

    :param app: the application whose database receives the mail.
    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one (see :attr:`port`).
    :param queue: put new tickets in this queue instead of routing them.
    :param max_bytes: largest message read (default: ``MAIL_MAX_BYTES``); a larger
        one is accepted and stored unread, never refused.
    :param threads: threads that parse and route messages over ``INLINE_BYTES``
        (smaller ones are prepared on the event loop's thread; one thread writes).
    :param grace: seconds a stop waits for messages being stored.
    :param handoff: a Unix socket path where ``mail deliver`` may hand over
        its messages (:mod:`wikibridge.mail.handoff`); None: no such socket.
    :param processes: worker processes that parse and route, so that more than
        one core prepares messages (0: ``threads`` threads of this process).
    :param writer: ``process``: batches are written by a child process
        (:mod:`wikibridge.mail.writer`); ``thread``: by a thread of this one.
    """

    def __init__(
        self,
        app: Flask,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        queue: str | None = None,
        max_bytes: int | None = None,
        threads: int = 4,
        grace: float = STOP_GRACE_SECONDS,
        handoff: Path | None = None,
        processes: int = 0,
        writer: str = "process",
    ) -> None:
        if writer not in WRITERS:
            raise ValueError(f"writer must be one of {', '.join(WRITERS)}, not {writer!r}")
        self.app = app
        self.writer = writer
        self.handoff = handoff
        self.processes = max(0, processes)
        self.host = host
        self.port = port
        self.queue = queue
        self.max_bytes = int(max_bytes or app.config.get("MAIL_MAX_BYTES") or DEFAULT_MAX_BYTES)
        self.threads = max(1, threads)
        self.grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def serve(
        self, *, handle_signals: bool = False, on_ready: Callable[[], None] | None = None
    ) -> None:
        """Listen until :meth:`stop` (or SIGTERM/SIGINT with ``handle_signals``); block.

        :raises OSError: when the address cannot be bound.
        """
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from wikibridge.mail.batch import GroupCommitter

        executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="lmtp-store")
        pool = None
        if self.processes:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Spawned, not forked: this process runs threads already.
            pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        process_writer = None
        if self.writer == "process":
            from wikibridge.mail.writer import ProcessWriter

            process_writer = ProcessWriter(self.app.config)
            process_writer.start()  # its imports overlap the listener's start
        committer = GroupCommitter(
            self.app.extensions["db_engine"], self.app.config, writer=process_writer
        )
        try:
            asyncio.run(self._main(executor, committer, handle_signals, on_ready, pool))
        finally:
            # A store still running past the grace period finishes its commit
            # (or rolls back) before we return; nothing is left half done.
            executor.shutdown(wait=True, cancel_futures=True)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            committer.close()
            if process_writer is not None:
                process_writer.close()

    def start(self, timeout: float = 10.0) -> LMTPListener:
        """Serve on a background thread; return once listening (on :attr:`port`)."""

        def _run() -> None:
            try:
                self.serve()
            except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
                self._error = exc
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=_run, name="lmtp-listener", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("LMTP listener did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop listening, let messages being stored finish, close the connections."""
        self._stop_requested.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so it has stopped already.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> LMTPListener:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def _main(
        self,
        executor: ThreadPoolExecutor,
        committer: GroupCommitter,
        handle_signals: bool,
        on_ready: Callable[[], None] | None,
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        self._loop, self._stopping = loop, stopping
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stopping.set)
        if self._stop_requested.is_set():  # stop() came before the loop existed
            stopping.set()

        handler = _Handler(self.app, self.queue, executor, self.max_bytes, committer, pool)
        from wikibridge.mail.lmtp_session import IDLE_SECONDS, LMTPSession

        sessions: set[LMTPSession] = set()
        hostname = socket.gethostname()  # getfqdn() may wait on DNS

        def _session() -> LMTPSession:
            # No size limit here: a message over max_bytes is stored unread
            # (the store applies it), where a 552 would bounce it.  The MTA's
            # own size limit (Postfix: message_size_limit) bounds what arrives.
            session = LMTPSession(handler, hostname=hostname, loop=loop, on_close=sessions.discard)
            sessions.add(session)
            return session

        def _close_idle() -> None:
            cutoff = loop.time() - IDLE_SECONDS
            # A client silent in the middle of a message is cut too (RFC 5321
            # gives a server's wait for data 3 minutes); one waiting for its
            # answer is not.
            for session in [s for s in sessions if s.active_at < cutoff and not s.storing]:
                session.close_idle()
            sweeper[0] = loop.call_later(IDLE_SWEEP_SECONDS, _close_idle)

        sweeper = [loop.call_later(IDLE_SWEEP_SECONDS, _close_idle)]
        server = await loop.create_server(_session, host=self.host, port=self.port)
        self.port = server.sockets[0].getsockname()[1]
        handoff_server = None
        if self.handoff is not None and _claim_socket(self.handoff):
            try:
                handoff_server = await asyncio.start_unix_server(
                    handler.handle_handoff, path=os.fspath(self.handoff)
                )
                # The mail system's pipe user must reach it; nobody else.
                os.chmod(self.handoff, 0o660)
            except OSError as exc:  # a path too long for a socket, a read-only folder
                # LMTP works without it; mail deliver then stores by itself.
                log.warning("no hand-off socket at %s: %s", self.handoff, exc)
        # The language model loads off the event loop, before the first mail
        # would load it there (typical mail is prepared on the loop's thread).
        warming = loop.run_in_executor(executor, _warm_up)
        self._ready.set()
        if on_ready is not None:
            on_ready()
        try:
            await stopping.wait()
        finally:
            server.close()
            if handoff_server is not None:
                handoff_server.close()
                with contextlib.suppress(OSError):
                    os.unlink(self.handoff)  # type: ignore[arg-type]
            # Messages being received or stored get their answer; a DATA
            # after this gets 421, and idle sessions are cut.
            handler.closing = True
            deadline = loop.time() + self.grace
            while (handler.storing or any(p.in_data for p in list(sessions))) and (
                loop.time() < deadline
            ):
                await asyncio.sleep(0.05)
            sweeper[0].cancel()
            warming.cancel()
            for session in list(sessions):
                session.close()
            await server.wait_closed()


def _warm_up() -> None:
    from tickets.language import preload

    try:
        preload()
    except Exception as exc:  # noqa: BLE001 - routing goes on without a language
        log.warning("language model not loaded: %s", _reason(exc))


def _claim_socket(path: Path) -> bool:
    """Whether ``path`` is free for our hand-off socket (a dead listener's is removed)."""
    if not path.exists():
        return True
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        path.unlink(missing_ok=True)
        return True
    finally:
        probe.close()
    log.warning("another listener answers on %s: mail deliver hands off to that one", path)
    return False


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair.

    :raises ValueError: when it is not of that form.
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _setup_logging() -> None:
    # A daemon's log goes to standard error (the journal, under systemd),
    # unless the installation configured logging itself.
    # (LOG_FORMAT = "json" has already put its handler there.)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


@click.command("lmtp")
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on (port 0: any free port, printed on start).",
)
@click.option("--queue", "queue", default=None, help="Put new tickets in this queue.")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    help="Threads that parse and route messages over 64 KB (smaller ones: the event loop).",
)
@click.option(
    "--processes",
    default=0,
    show_default=True,
    help="Worker processes that parse and route, to use more cores (0: threads only).",
)
@click.option(
    "--writer",
    type=click.Choice(WRITERS),
    default="process",
    show_default=True,
    help="Write to the database in a process of its own, or on a thread of the listener's.",
)
@with_appcontext
def lmtp_command(listen: str, queue: str | None, threads: int, processes: int, writer: str) -> None:
    """Receive mail over LMTP until stopped with SIGTERM or Ctrl-C.

    Each message is stored once and every recipient is answered with its
    ticket number after the commit; when it cannot be stored, every recipient
    gets 451 and the mail system delivers it again later.  Messages larger
    than the MAIL_MAX_BYTES setting are stored unread, their raw bytes kept.
    """
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from exc
    _setup_logging()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    from wikibridge.mail.handoff import socket_path

    listener = LMTPListener(
        app,
        host,
        port,
        queue=queue,
        threads=threads,
        handoff=socket_path(Path(app.instance_path)),
        processes=processes,
        writer=writer,
    )

    def _ready() -> None:
        shown = f"[{host}]" if ":" in host else host
        click.echo(
            f"wikibridge lmtp: listening on {shown}:{listener.port} "
            f"(messages over {listener.max_bytes} bytes are stored unread)"
        )

    try:
        listener.serve(handle_signals=True, on_ready=_ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    click.echo("wikibridge lmtp: stopped")
