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

This module is imported by every ``wikibridge`` command (the ``mail`` group
lists it), so asyncio and aiosmtpd are imported only when a listener starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import re
import signal
import socket
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from wikibridge import metrics

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from tickets.intake import Delivery
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

#: aiosmtpd's line buffer limit when nothing is to be refused for its size.
_UNLIMITED = 2**62


def _reason(exc: BaseException) -> str:
    # The first line says what happened; later lines of a database error hold
    # the SQL and its parameters (message text), and SQLAlchemy never puts a
    # URL's password in any of them.
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{exc.__class__.__name__}: {first}"


def _replies(line: str, count: int) -> str:
    """One reply line per recipient: LMTP answers DATA for each (RFC 2033, 4.2)."""
    return "\r\n".join([line] * max(count, 1))


# -- storing ------------------------------------------------------------------


class _Handler:
    """aiosmtpd handler: stores each message once, off the event loop."""

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

    async def store(self, raw: bytes, recipients: list[str], queue: str | None) -> Delivery:
        """Prepare ``raw`` on a worker thread, then wait for the commit that stores it.

        Shielded: a client gone mid-way (its answer lost) must not cut the
        store short; it delivers again and hears the stored ticket.
        """
        import asyncio

        loop = asyncio.get_running_loop()

        async def prepare_and_commit() -> Delivery:
            if self.pool is None:
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
            return await asyncio.wrap_future(self.committer.submit(routed))

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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipients = list(envelope.rcpt_tos)
        raw = bytes(envelope.original_content or b"")
        try:
            delivery = await self.store(raw, recipients, self.queue)
        except Exception as exc:  # noqa: BLE001 - any failure to store is temporary for the MTA
            metrics.mail_not_stored("lmtp")
            log.warning(
                "message from %s for %d recipient(s) not stored, answered 451: %s",
                envelope.mail_from,
                len(recipients),
                _reason(exc),
            )
            return _replies(REPLY_NOT_STORED, len(recipients))
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
        return _replies(reply.format(number=delivery.number), len(recipients))

    def prepare(self, raw: bytes, recipients: list[str], queue: str | None) -> Routed:
        """Parse and route one message (in a worker thread; needs no database but the policy).

        The bytes are stored exactly as received; the envelope recipients are
        kept beside them and route the message when its headers name no
        known address (a Bcc, an alias the MTA expanded).
        """
        from wikibridge.mail.batch import prepare_routed

        return prepare_routed(
            raw,
            self.committer.policies.get(),
            queue=queue,
            max_bytes=self.max_bytes,
            envelope_to=recipients,
        )


# "<local@domain>" of MAIL FROM or RCPT TO (dot-atoms only), and what follows it.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_PLAIN_PATH = re.compile(rf"[ \t]*<({_DOT_ATOM}@{_DOT_ATOM})>(?=[ \t]|$)")
# A line of a reply that more lines follow ("250-SIZE").
_CONTINUED = re.compile(r"\d{3}-")


_COMMAND_NAMES: dict[type, list[str]] = {}


def _command_names(cls: type) -> list[str]:
    """The names of ``cls``'s command (``smtp_``) and authentication (``auth_``) methods."""
    names = _COMMAND_NAMES.get(cls)
    if names is None:
        names = [name for name in dir(cls) if name.startswith(("smtp_", "auth_"))]
        _COMMAND_NAMES[cls] = names
    return names


def _unstuffed(data: bytes) -> bytes:
    """The body of DATA without the dot an SMTP client adds before a line starting with one."""
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\r\n.", b"\r\n")


@dataclasses.dataclass
class _Counts:
    # The DATA command in progress: how many replies it owes, and whether its
    # "354" has gone out (replies after that are per recipient).
    recipients: int = 0
    in_body: bool = False


def _protocol_class() -> type[Any]:
    """aiosmtpd's LMTP, with one reply per recipient for every outcome of DATA.

    aiosmtpd answers an oversize message (552) or an overlong line with a
    single line; an LMTP client waits for one per recipient and would hang.
    Built on first use, so that importing this module stays cheap.
    """
    import asyncio

    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import MISSING, syntax

    class LMTPSession(LMTP):
        def __init__(self, *args: Any, line_limit: int, **kwargs: Any) -> None:
            # Real mail breaks RFC 5322's 998-octet line limit (unwrapped HTML,
            # base64 in one line); aiosmtpd would refuse it with a permanent
            # 500 and the MTA would bounce it.  A line can be as long as the
            # message may be.  (Read by the base class's constructor.)
            self.line_length_limit = max(line_limit, 1001)
            self._counts = _Counts()
            self._continued: list[str] = []
            super().__init__(*args, **kwargs)

        def __dir__(self) -> list[str]:
            # aiosmtpd looks through dir() of every new session for its smtp_
            # and auth_ methods, reading every attribute (a fifth of the event
            # loop's time per message); those of the class are all it can find.
            return _command_names(type(self))

        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            if self.event_handler.closing:
                # A transaction begun before the stop is finished; none starts after it.
                await super().push(REPLY_SHUTTING_DOWN)
                if self.transport is not None:
                    self.transport.close()
                return
            rcpts = len(self.envelope.rcpt_tos) if self.envelope is not None else 0
            self._counts = _Counts(recipients=rcpts)
            try:
                if (
                    self.data_size_limit is None
                    and not self._decode_data
                    and self.line_length_limit >= _UNLIMITED
                ):
                    await self._receive_data(arg)
                else:  # limits to enforce line by line: aiosmtpd's own reading
                    await super().smtp_DATA(arg)
            finally:
                self._counts = _Counts()

        async def _receive_data(self, arg: str) -> None:
            """DATA as aiosmtpd answers it, the body read in large pieces.

            aiosmtpd reads the body a line at a time (a read, a log call and
            two joins per line: a tenth of the listener's time on typical
            mail); with no size or line limit to enforce, reading up to each
            ".\\r\\n" and finding the lone "." line among them keeps the same bytes.
            """
            if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
                return
            if self.envelope is None or not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            pieces: list[bytes] = []
            try:
                while True:
                    # Each piece ends a line (the first starts one): the body
                    # ends at a piece that is, or ends with, the line ".".
                    piece = await self._reader.readuntil(b".\r\n")
                    pieces.append(piece)
                    if piece == b".\r\n" or piece.endswith(b"\r\n.\r\n"):
                        break
            except asyncio.CancelledError:
                self._writer.close()
                raise
            content = _unstuffed(b"".join(pieces)[:-3])
            self.envelope.content = content
            self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()
            await self.push("250 OK" if status is MISSING else status)

        def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
            # aiosmtpd parses every MAIL FROM and RCPT TO with the email
            # package's address parser and defines a class on each call; a
            # plain <local@domain> is answered the same without either.
            plain = _PLAIN_PATH.match(arg)
            if plain is None or "(" in arg:
                return super()._getaddr(arg)
            address = plain.group(1)
            if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
                return None, None
            rest = arg[plain.end() :]
            return address, rest.lstrip() if rest[:1] in (" ", "\t") else rest

        async def push(self, status: Any) -> None:
            if isinstance(status, str) and _CONTINUED.match(status):
                # A line of a multi-line reply (LHLO's): sent with the last
                # line, in one write, instead of a write and a drain each.
                self._continued.append(status)
                return
            if self._continued:
                status = "\r\n".join([*self._continued, status])
                self._continued = []
            counts = self._counts
            if (
                counts.in_body
                and isinstance(status, str)
                and "\r\n" not in status
                and counts.recipients > 1
            ):
                status = _replies(status, counts.recipients)
            await super().push(status)
            if isinstance(status, str) and status.startswith("354"):
                counts.in_body = True

        @property
        def in_data(self) -> bool:
            """Whether a DATA command is being received, stored or answered."""
            return self._counts.recipients > 0

    return LMTPSession


# -- the listener -------------------------------------------------------------


class LMTPListener:
    """An LMTP server storing into ``app``: in the foreground or on a thread.

    :param app: the application whose database receives the mail.
    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one (see :attr:`port`).
    :param queue: put new tickets in this queue instead of routing them.
    :param max_bytes: largest message read (default: ``MAIL_MAX_BYTES``); a larger
        one is accepted and stored unread, never refused.
    :param threads: messages parsed and routed at the same time (one thread writes).
    :param grace: seconds a stop waits for messages being stored.
    :param handoff: a Unix socket path where ``mail deliver`` may hand over
        its messages (:mod:`wikibridge.mail.handoff`); None: no such socket.
    :param processes: worker processes that parse and route, so that more than
        one core prepares messages (0: ``threads`` threads of this process).
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
    ) -> None:
        self.app = app
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
        committer = GroupCommitter(self.app.extensions["db_engine"], self.app.config)
        try:
            asyncio.run(self._main(executor, committer, handle_signals, on_ready, pool))
        finally:
            # A store still running past the grace period finishes its commit
            # (or rolls back) before we return; nothing is left half done.
            executor.shutdown(wait=True, cancel_futures=True)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            committer.close()

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
        protocol = _protocol_class()
        sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        hostname = socket.gethostname()  # getfqdn(), aiosmtpd's default, may wait on DNS

        def _session() -> Any:
            proto = protocol(
                handler,
                # No limit here: a message over max_bytes is stored unread
                # (the store applies it), where a 552 would bounce it.  The
                # MTA's own size limit (Postfix: message_size_limit) is the
                # bound on what arrives.
                line_limit=_UNLIMITED,
                data_size_limit=None,
                # Postfix bounces SMTPUTF8 mail a next hop cannot take.
                enable_SMTPUTF8=True,
                hostname=hostname,
                ident="wikibridge LMTP",
                loop=loop,
            )
            sessions.add(proto)
            return proto

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
            for proto in list(sessions):
                if proto.transport is not None:
                    proto.transport.close()
            await server.wait_closed()


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
    # aiosmtpd logs every connection at INFO; one line per message is ours.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


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
    "--threads", default=4, show_default=True, help="Messages parsed and routed at the same time."
)
@click.option(
    "--processes",
    default=0,
    show_default=True,
    help="Worker processes that parse and route, to use more cores (0: threads only).",
)
@with_appcontext
def lmtp_command(listen: str, queue: str | None, threads: int, processes: int) -> None:
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
