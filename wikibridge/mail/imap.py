"""IMAP intake: take new mail from the configured mailboxes and store each message.

Only transport lives here; :func:`wikibridge.mail.store.store_message` parses,
routes and commits. The order is what keeps mail safe: a message is marked
done on the server (flagged ``\\Seen`` and ``$Wikibridge``, or moved) only
after the store has committed it. A message whose store fails stays as it was
and is taken again next time; a message stored just before the connection
broke is taken again too, and the store's idempotence on ``Message-ID``
reports it as a duplicate before it is marked done.

Settings (``IMAP_MAILBOXES``, a list of dicts) are described on
:class:`Mailbox`; ``IMAP_POLL_SECONDS`` paces the periodic job.
"""

from __future__ import annotations

import fcntl
import imaplib
import ipaddress
import logging
import os
import re
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from wikibridge import metrics
from wikibridge.mail.store import store_message

log = logging.getLogger(__name__)

#: Keyword set on every message stored, where the server keeps custom keywords.
KEYWORD = "$Wikibridge"
DEFAULT_BATCH = 50
DEFAULT_TIMEOUT = 60
DEFAULT_POLL_SECONDS = 60
#: Stop a batch after this many stores in a row failed: the database is down.
MAX_FAILURES_IN_A_ROW = 3

_SECURITY = ("ssl", "starttls", "none")
_DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


class MailboxSettingsError(ValueError):
    """``IMAP_MAILBOXES`` holds something that cannot work."""


class ImapError(Exception):
    """The server refused or the connection failed; the text says which, for a person."""


@dataclass(frozen=True)
class Mailbox:
    """One entry of ``IMAP_MAILBOXES``.

    ``name`` labels reports; ``security`` is ``"ssl"`` (TLS from the start,
    port 993), ``"starttls"`` (port 143) or ``"none"`` (loopback only, for
    tests); ``done`` is ``"flag"`` or ``"move:<Folder>"``; ``queue`` forces
    new tickets into that queue; ``batch`` caps messages per run; ``ca_file``
    adds a CA to trust; ``timeout`` is in seconds per network operation.
    """

    name: str
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 993
    security: str = "ssl"
    folder: str = "INBOX"
    done: str = "flag"
    queue: str | None = None
    batch: int = DEFAULT_BATCH
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def move_to(self) -> str | None:
        """The folder processed mail goes to, or None when it is only flagged."""
        return self.done.removeprefix("move:") if self.done.startswith("move:") else None

    @property
    def address(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    @classmethod
    def from_settings(cls, entry: Mapping[str, Any], index: int = 0) -> Mailbox:
        """Check one settings entry and fill in defaults; raise :class:`MailboxSettingsError`."""
        if not isinstance(entry, Mapping):
            raise MailboxSettingsError(f"IMAP_MAILBOXES[{index}] is not a dict")
        label = str(entry.get("name") or f"IMAP_MAILBOXES[{index}]")

        def bad(why: str) -> MailboxSettingsError:
            return MailboxSettingsError(f"mailbox {label}: {why}")

        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(entry) - known)
        if unknown:
            raise bad(f"unknown setting(s) {', '.join(unknown)}")
        for key in ("name", "host", "username", "password"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise bad(f"{key} is required (a non-empty string)")
        security = entry.get("security", "ssl")
        if security not in _SECURITY:
            raise bad(f"security must be one of {', '.join(_SECURITY)}, not {security!r}")
        if security == "none" and not _is_loopback(entry["host"]):
            raise bad(
                'security "none" would send the password unencrypted; '
                'use "ssl" or "starttls" for anything but 127.0.0.1/localhost'
            )
        done = entry.get("done", "flag")
        if done != "flag" and not (isinstance(done, str) and done.startswith("move:") and done[5:]):
            raise bad(f'done must be "flag" or "move:<Folder>", not {done!r}')
        folders = [entry.get("folder", "INBOX")] + ([done[5:]] if done != "flag" else [])
        for folder in folders:
            if not isinstance(folder, str) or not folder or not folder.isascii():
                # Non-ASCII names would need IMAP's modified UTF-7.
                raise bad(f"folder names must be non-empty ASCII, not {folder!r}")
        if not isinstance(entry.get("verify_tls", True), bool):
            raise bad("verify_tls must be true or false")
        for key in ("queue", "ca_file"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise bad(f"{key} must be a string or null")
        try:
            port = int(entry.get("port", _DEFAULT_PORTS[security]))
            batch = int(entry.get("batch", DEFAULT_BATCH))
            timeout = float(entry.get("timeout", DEFAULT_TIMEOUT))
        except (TypeError, ValueError) as exc:
            raise bad(f"port, batch and timeout must be numbers ({exc})") from None
        if not 0 < port < 65536 or batch < 1 or timeout <= 0:
            raise bad("port must be 1-65535, batch at least 1, timeout above 0")
        return cls(
            name=entry["name"],
            host=entry["host"],
            port=port,
            security=security,
            username=entry["username"],
            password=entry["password"],
            folder=entry.get("folder", "INBOX"),
            done=done,
            queue=entry.get("queue") or None,
            batch=batch,
            verify_tls=entry.get("verify_tls", True),
            ca_file=entry.get("ca_file") or None,
            timeout=timeout,
        )


def mailboxes(config: Mapping[str, Any]) -> list[Mailbox]:
    """The mailboxes ``IMAP_MAILBOXES`` describes (empty when unset)."""
    entries = config.get("IMAP_MAILBOXES") or []
    if not isinstance(entries, list | tuple):
        raise MailboxSettingsError("IMAP_MAILBOXES must be a list of dicts")
    boxes = [Mailbox.from_settings(entry, n) for n, entry in enumerate(entries)]
    names = [box.name for box in boxes]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise MailboxSettingsError(f"IMAP_MAILBOXES: names used twice: {', '.join(doubled)}")
    return boxes


@dataclass
class FetchReport:
    """What one run did with one mailbox."""

    name: str
    #: Messages taken this run (at most ``batch``).
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    #: Messages the store refused; they stay on the server, untouched.
    failed: int = 0
    #: Messages left for later runs because of ``batch``.
    remaining: int = 0
    #: Why the mailbox could not be read to the end (connection, login, TLS...).
    error: str | None = None
    #: Why the last failed message was not stored.
    store_error: str | None = None
    #: Another fetch of this mailbox was running, so this one did nothing.
    busy: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is left to retry because of a failure."""
        return self.error is None and self.failed == 0

    def summary(self) -> str:
        """One line for people: counts, then what went wrong."""
        if self.busy:
            return f"{self.name}: skipped, another fetch of this mailbox is running"
        line = (
            f"{self.name}: {self.seen} new, {self.stored} stored, "
            f"{self.duplicates} duplicates, {self.failed} failed"
        )
        if self.remaining:
            line += f", {self.remaining} left for the next run"
        if self.store_error:
            line += f"; not stored: {self.store_error}"
        if self.error:
            line += f"; error: {self.error}"
        return line


def fetch_all(app: Flask) -> list[FetchReport]:
    """Fetch every configured mailbox in turn."""
    return [fetch_mailbox(app, box) for box in mailboxes(app.config)]


def fetch_if_due(app: Flask, now: float | None = None) -> list[FetchReport]:
    """Fetch all mailboxes if ``IMAP_POLL_SECONDS`` have passed since the last poll.

    The periodic job calls this every minute. The last poll's time is a file
    in the instance folder, so every worker process agrees; half a minute's
    slack keeps a job that starts a little late from skipping its turn.
    ``IMAP_POLL_SECONDS`` of 0 turns polling off (``mail fetch`` still works).
    """
    if not app.config.get("IMAP_MAILBOXES"):
        return []
    every = float(app.config.get("IMAP_POLL_SECONDS", DEFAULT_POLL_SECONDS) or 0)
    if every <= 0:
        return []
    now = time.time() if now is None else now
    stamp = _state_dir(app) / "last-poll"
    with suppress(FileNotFoundError):
        if now - stamp.stat().st_mtime < every - 30:
            return []
    # Stamped before fetching: a slow fetch must not make the next minute's job
    # count from its end (the lock keeps the two from overlapping anyway).
    stamp.touch()
    os.utime(stamp, (now, now))
    reports = fetch_all(app)
    for report in reports:
        (log.info if report.ok else log.warning)("IMAP %s", report.summary())
    return reports


def fetch_mailbox(app: Flask, mailbox: Mailbox | Mapping[str, Any]) -> FetchReport:
    """Store the mailbox's new messages, oldest first, marking each done once stored.

    Never raises for a server or store failure: the report says what happened
    (settings errors do raise :class:`MailboxSettingsError`).
    """
    box = mailbox if isinstance(mailbox, Mailbox) else Mailbox.from_settings(mailbox)
    report = FetchReport(box.name)
    with _exclusive(app, box) as mine:
        if not mine:
            report.busy = True
            return report
        conn: imaplib.IMAP4 | None = None
        try:
            conn = _connect(box)
            _take_new_mail(app, conn, box, report)
        except (imaplib.IMAP4.error, OSError, EOFError, ImapError) as exc:
            report.error = describe(exc, box)
        finally:
            if conn is not None:
                _close(conn)
    return report


# --- one session ----------------------------------------------------------------


def _take_new_mail(app: Flask, conn: imaplib.IMAP4, box: Mailbox, report: FetchReport) -> None:
    _login(conn, box)
    capabilities = _capabilities(conn)
    keyword = _select(conn, box.folder)
    uids = _pending(conn, box)
    report.remaining = max(0, len(uids) - box.batch)
    done_flags = "(\\Seen " + KEYWORD + ")" if keyword else "(\\Seen)"
    must_expunge = False
    failures_in_a_row = 0
    for uid in uids[: box.batch]:
        raw = _fetch(conn, uid)
        if raw is None:
            continue  # expunged by someone else meanwhile
        report.seen += 1
        try:
            delivery = store_message(app, raw, box.queue)
        except Exception as exc:  # noqa: BLE001 - any store failure: leave it on the server
            report.failed += 1
            metrics.mail_not_stored("imap")
            report.store_error = f"{exc.__class__.__name__}: {first_line(exc)}"
            log.warning("IMAP %s: message UID %s not stored: %s", box.name, uid, report.store_error)
            failures_in_a_row += 1
            if failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                report.error = (
                    f"stopped after {failures_in_a_row} messages in a row could not be stored"
                )
                break
            continue
        failures_in_a_row = 0
        metrics.mail_received("imap", delivery.rule)
        if delivery.rule == "duplicate":
            report.duplicates += 1
        else:
            report.stored += 1
        # Only now, with the message committed, may the server forget it.
        _command(conn, "UID STORE", "STORE", uid, "+FLAGS.SILENT", done_flags)
        if box.move_to:
            must_expunge |= _move(conn, uid, box.move_to, capabilities)
    if must_expunge:
        _command(conn, "EXPUNGE", "EXPUNGE")


def _login(conn: imaplib.IMAP4, box: Mailbox) -> None:
    try:
        if box.password.isascii() and box.username.isascii():
            conn.login(box.username, box.password)
        else:
            # LOGIN takes ASCII only (imaplib would raise); SASL PLAIN carries UTF-8.
            plain = f"\0{box.username}\0{box.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: plain)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        # The server's words, never ours: the password is not in them.
        raise ImapError(f"login as {box.username} refused: {_text(exc)}") from None


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """Capabilities after login (servers announce MOVE, UIDPLUS only then)."""
    typ, data = conn.capability()
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
    return set(words.upper().split()) if typ == "OK" else {c.upper() for c in conn.capabilities}


def _select(conn: imaplib.IMAP4, folder: str) -> bool:
    """Open ``folder`` for writing; True when the server keeps our custom keyword."""
    typ, data = conn.select(quote(folder))
    if typ != "OK":
        raise ImapError(f"cannot open folder {folder}: {_text(data)}")
    _typ, permanent = conn.response("PERMANENTFLAGS")
    allowed = b" ".join(p for p in permanent if isinstance(p, bytes))
    return b"\\*" in allowed or KEYWORD.encode() in allowed


def _pending(conn: imaplib.IMAP4, box: Mailbox) -> list[int]:
    """UIDs still to take, oldest first.

    Flagging keeps a read message where it is, so only unread ones are new
    there. When processed mail is moved away, everything left in the folder is
    still to take, read or not: a message someone opened, or one stored and
    flagged just before the connection broke, is not skipped.
    """
    criteria = ("UNDELETED",) if box.move_to else ("UNSEEN", "UNDELETED")
    data = _command(conn, "UID SEARCH", "SEARCH", *criteria)
    words = b" ".join(d for d in data if isinstance(d, bytes)).split()
    return sorted(int(w) for w in words if w.isdigit())


def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    """The message's bytes; PEEK leaves it unread, so it is not marked done by reading."""
    data = _command(conn, "UID FETCH", "FETCH", uid, "(BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple) and b"BODY[]" in item[0].upper():
            return bytes(item[1])
    return None


def _move(conn: imaplib.IMAP4, uid: int, folder: str, capabilities: set[str]) -> bool:
    """Move one message; True when an EXPUNGE of the folder is still owed."""
    target = quote(folder)
    if "MOVE" in capabilities:
        _with_folder(conn, folder, "UID MOVE", "MOVE", uid, target)
        return False
    _with_folder(conn, folder, "UID COPY", "COPY", uid, target)
    _command(conn, "UID STORE", "STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
    if "UIDPLUS" in capabilities:
        _command(conn, "UID EXPUNGE", "EXPUNGE", uid)
        return False
    return True


def _with_folder(conn: imaplib.IMAP4, folder: str, label: str, *args: Any) -> None:
    """Run a UID command that puts mail into ``folder``, creating the folder if missing."""
    try:
        _command(conn, label, *args)
    except ImapError as exc:
        if "TRYCREATE" not in str(exc):
            raise
        typ, data = conn.create(quote(folder))
        if typ != "OK":
            raise ImapError(f"cannot create folder {folder}: {_text(data)}") from None
        with suppress(imaplib.IMAP4.error):
            conn.subscribe(quote(folder))  # so mail clients show it
        _command(conn, label, *args)


def _command(conn: imaplib.IMAP4, label: str, name: str, *args: Any) -> list[Any]:
    """Run ``UID name args`` (or ``name`` for EXPUNGE); raise :class:`ImapError` unless OK."""
    if label == "EXPUNGE":
        typ, data = conn.expunge()
    else:
        typ, data = conn.uid(name, *(str(a) for a in args))
    if typ != "OK":
        raise ImapError(f"{label} refused: {_text(data)}")
    return list(data)


# --- connecting -----------------------------------------------------------------


def tls_context(box: Mailbox) -> ssl.SSLContext:
    """The TLS settings for ``box``: system CAs plus ``ca_file``, unless told not to verify."""
    try:
        context = ssl.create_default_context(cafile=box.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ImapError(f"cannot read ca_file {box.ca_file}: {exc}") from None
    if not box.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(box: Mailbox) -> imaplib.IMAP4:
    """A connection with the socket timeout set, TLS on as ``security`` asks."""
    if box.security == "ssl":
        return imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=tls_context(box), timeout=box.timeout
        )
    conn = imaplib.IMAP4(box.host, box.port, timeout=box.timeout)
    if box.security == "starttls":
        try:
            conn.starttls(ssl_context=tls_context(box))
        except BaseException:
            # Half-way into TLS a LOGOUT would only confuse the server: just drop it.
            with suppress(OSError):
                conn.shutdown()
            raise
    return conn


def _close(conn: imaplib.IMAP4) -> None:
    """Log out politely if the connection still works, else just drop it."""
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError, EOFError):
        with suppress(OSError, imaplib.IMAP4.error, EOFError):
            conn.shutdown()


def describe(exc: BaseException, box: Mailbox) -> str:
    """What went wrong with ``box``, in words a volunteer can act on (no password)."""
    where = box.address
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate of {where} not trusted ({exc.verify_message}); "
            f"set ca_file to the CA that signed it, or check host"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {box.timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, imaplib.IMAP4.abort | EOFError | ConnectionError):
        return f"connection to {where} broken: {_text(exc) or exc.__class__.__name__}"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    if isinstance(exc, ImapError):
        return f"{where}: {exc}"
    return f"{where}: {_text(exc)}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, short (drivers' messages run long)."""
    return (str(exc).strip().splitlines() or [""])[0][:300]


def _text(value: Any) -> str:
    """Server words from imaplib (bytes, lists of them, exceptions) as one short line."""
    if isinstance(value, BaseException):
        value = value.args[0] if len(value.args) == 1 else str(value)
    if isinstance(value, list | tuple):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return first_line(Exception(value))


def quote(name: str) -> str:
    """A folder name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- one fetch per mailbox at a time --------------------------------------------


def _state_dir(app: Flask) -> Path:
    path = Path(app.instance_path) / "imap"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _exclusive(app: Flask, box: Mailbox) -> Iterator[bool]:
    """Hold this mailbox's lock file, or yield False when another process holds it.

    A slow run and the next minute's job, or cron and the worker, would
    otherwise take the same messages at once.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", box.name)
    with (_state_dir(app) / f"{safe}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
