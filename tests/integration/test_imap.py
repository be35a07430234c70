"""IMAP intake against a real Dovecot: each message stored once, marked done only after.

Uses the ``dovecot`` and ``imap_account`` fixtures of :mod:`tests.dovecot`.
"""

from __future__ import annotations

import logging
import select as socket_select
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.dovecot import HOST, DovecotServer, ImapAccount
from tickets.intake import raw_bytes
from tickets.models import Article, RawMessage, Ticket
from wikibridge import create_app
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of
from wikibridge.mail import imap
from wikibridge.mail.fetch_command import fetch_command
from wikibridge.mail.imap import (
    KEYWORD,
    FetchReport,
    Mailbox,
    MailboxSettingsError,
    fetch_all,
    fetch_if_due,
    fetch_mailbox,
    mailboxes,
)
from wikibridge.mail.store import store_message

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mail"
DONE = frozenset({"\\Seen", KEYWORD})
DOWN_DATABASE = "postgresql+psycopg://x@127.0.0.1:1/none"


def message(n: int, body_size: int = 0, msgid: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Sender {n} <sender{n}@example.org>"
    msg["To"] = "info@wikimedia.org"
    msg["Subject"] = f"Question number {n}"
    msg["Message-ID"] = msgid or f"<imap-test-{n}-{time.monotonic_ns()}@example.org>"
    # MARKER-n lets the proxy below cut the connection inside a given message.
    msg.set_content(f"MARKER-{n}\n" + "Hello, a question about a photo.\n" * (body_size // 33))
    return msg.as_bytes()


def counts(app: Flask) -> tuple[int, int]:
    """Tickets and articles in the database."""
    with new_session(app) as db:
        tickets = db.scalar(select(func.count()).select_from(Ticket)) or 0
        articles = db.scalar(select(func.count()).select_from(Article)) or 0
    return tickets, articles


def fill(account: ImapAccount, how_many: int, body_size: int = 0) -> None:
    for n in range(1, how_many + 1):
        account.append(message(n, body_size))


def is_done(flags: frozenset[str]) -> bool:
    return flags >= DONE


@pytest.fixture
def down_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app whose database is down (make_test_app would fail seeding it)."""
    monkeypatch.setenv("WIKIBRIDGE_INSTANCE_PATH", str(tmp_path / "down-instance"))
    return create_app({"TESTING": True, "DATABASE_URL": DOWN_DATABASE, "JOBS_URL": "memory"})


# --- a proxy that breaks connections ----------------------------------------------


class CuttingProxy:
    """A TCP proxy to Dovecot on a free loopback port that breaks its first connection.

    ``cut_down_at``: close when the server sends these bytes (only what came
    before them reaches the client). ``cut_up_at``: close, without forwarding,
    when the client sends these bytes for the ``nth`` time. ``stall_up_at``:
    from then on forward nothing but keep the connection open (for timeouts).
    """

    def __init__(
        self,
        port: int,
        cut_down_at: bytes | None = None,
        cut_up_at: bytes | None = None,
        nth: int = 1,
        stall_up_at: bytes | None = None,
    ) -> None:
        self.upstream = (HOST, port)
        self.cut_down_at = cut_down_at
        self.cut_up_at = cut_up_at
        self.nth = nth
        self.stall_up_at = stall_up_at
        self.cut = threading.Event()
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.1)  # so close() is noticed without waiting for a client
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        first = True
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.upstream)
            threading.Thread(
                target=self._relay, args=(client, upstream, first), daemon=True
            ).start()
            first = False

    def _relay(self, client: socket.socket, server: socket.socket, breaking: bool) -> None:
        seen_up = b""
        seen_down = b""
        stalled = False
        with client, server:
            while not self.stopping.is_set():
                ready, _, _ = socket_select.select([client, server], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if stalled:
                        continue
                    if sock is server:
                        seen_down += data
                        if breaking and self.cut_down_at and self.cut_down_at in seen_down:
                            keep = len(data) - (len(seen_down) - seen_down.index(self.cut_down_at))
                            client.sendall(data[: max(0, keep)])
                            self.cut.set()
                            return
                        client.sendall(data)
                    else:
                        seen_up += data
                        cut_up = self.cut_up_at and seen_up.count(self.cut_up_at) >= self.nth
                        if breaking and cut_up:
                            self.cut.set()
                            return
                        if breaking and self.stall_up_at and self.stall_up_at in seen_up:
                            stalled = True
                            self.cut.set()
                            continue
                        server.sendall(data)


@pytest.fixture
def proxies() -> Iterator[list[CuttingProxy]]:
    made: list[CuttingProxy] = []
    yield made
    for proxy in made:
        proxy.close()


# --- the basics ---------------------------------------------------------------------


def test_fetch_stores_each_message_once_and_flags_it(app: Flask, imap_account: ImapAccount):
    fill(imap_account, 3)
    imap_account.append(message(99), flags="\\Seen")  # read already: not new
    assert not any(is_done(f) for f in imap_account.flags())

    report = fetch_mailbox(app, imap_account.mailbox())

    assert report == FetchReport(imap_account.username, seen=3, stored=3)
    assert report.ok and report.summary().endswith("3 new, 3 stored, 0 duplicates, 0 failed")
    assert counts(app) == (3, 3)
    flags = imap_account.flags()
    assert [is_done(f) for f in flags] == [True, True, True, False]
    assert len(imap_account.messages()) == 4  # flagged, not moved

    again = fetch_mailbox(app, imap_account.mailbox())
    assert (again.seen, again.stored, again.error) == (0, 0, None)
    assert counts(app) == (3, 3)


def test_already_stored_message_is_flagged_as_duplicate(app: Flask, imap_account: ImapAccount):
    raw = message(1)
    store_message(app, raw)
    imap_account.append(raw)

    report = fetch_mailbox(app, imap_account.mailbox())

    assert (report.seen, report.stored, report.duplicates) == (1, 0, 1)
    assert counts(app) == (1, 1)
    assert is_done(imap_account.flags()[0])


def test_batch_takes_the_oldest_and_leaves_the_rest(app: Flask, imap_account: ImapAccount):
    fill(imap_account, 5)
    report = fetch_mailbox(app, imap_account.mailbox(batch=2))
    assert (report.seen, report.stored, report.remaining) == (2, 2, 3)
    assert [is_done(f) for f in imap_account.flags()] == [True, True, False, False, False]
    assert "3 left for the next run" in report.summary()


def test_forced_queue(app: Flask, imap_account: ImapAccount):
    imap_account.append(message(1))
    fetch_mailbox(app, imap_account.mailbox(queue="Role::Press"))
    with new_session(app) as db:
        assert db.scalars(select(Ticket)).one().queue.name == "Role::Press"


@pytest.mark.parametrize("server_lacks", [(), ("MOVE",), ("MOVE", "UIDPLUS")])
def test_move_to_processed(
    app: Flask,
    imap_account: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
    server_lacks: tuple[str, ...],
):
    # Dovecot has MOVE and UIDPLUS; hiding them exercises COPY + \Deleted + EXPUNGE.
    real = imap._capabilities
    monkeypatch.setattr(imap, "_capabilities", lambda conn: real(conn) - set(server_lacks))
    fill(imap_account, 3)

    report = fetch_mailbox(app, imap_account.mailbox(done="move:Processed"))

    assert (report.seen, report.stored, report.error) == (3, 3, None)
    assert imap_account.messages("INBOX") == []
    assert "Processed" in imap_account.folders()  # made on first use
    moved = imap_account.messages("Processed")
    assert len(moved) == 3 and all(is_done(f) for f, _ in moved)
    assert all(b"MARKER-" in raw for _, raw in moved)
    assert counts(app) == (3, 3)


def test_move_takes_read_messages_too(app: Flask, imap_account: ImapAccount):
    # In move mode whatever is still in the folder is unprocessed, read or not.
    imap_account.append(message(1), flags="\\Seen")
    report = fetch_mailbox(app, imap_account.mailbox(done="move:Processed"))
    assert report.stored == 1 and len(imap_account.messages("Processed")) == 1


def test_malformed_message_is_stored_whole_and_flagged(app: Flask, imap_account: ImapAccount):
    imap_account.append((FIXTURES / "garbage.eml").read_bytes())
    [(_, on_server)] = imap_account.messages()

    report = fetch_mailbox(app, imap_account.mailbox())

    assert (report.stored, report.failed, report.error) == (1, 0, None)
    assert is_done(imap_account.flags()[0])
    with new_session(app) as db:
        assert raw_bytes(db.scalars(select(RawMessage)).one()) == on_server
    assert counts(app) == (1, 1)


# --- TLS --------------------------------------------------------------------------


def test_imaps_with_the_servers_ca(app: Flask, imap_account: ImapAccount, dovecot: DovecotServer):
    imap_account.append(message(1))
    box = imap_account.mailbox(
        security="ssl", port=dovecot.imaps_port, ca_file=str(dovecot.ca_file)
    )
    report = fetch_mailbox(app, box)
    assert (report.stored, report.error) == (1, None)
    assert is_done(imap_account.flags()[0])


def test_imaps_with_a_wrong_ca_is_refused(
    app: Flask, imap_account: ImapAccount, dovecot: DovecotServer
):
    imap_account.append(message(1))
    box = imap_account.mailbox(
        security="ssl", port=dovecot.imaps_port, ca_file=str(dovecot.wrong_ca_file)
    )
    report = fetch_mailbox(app, box)
    assert report.error is not None and not report.ok
    assert f"TLS certificate of 127.0.0.1:{dovecot.imaps_port} not trusted" in report.error
    assert "ca_file" in report.error
    assert report.seen == 0 and counts(app) == (0, 0)
    assert not is_done(imap_account.flags()[0])

    # Without a CA of their own, the system CAs do not know it either.
    assert "not trusted" in (fetch_mailbox(app, {**box, "ca_file": None}).error or "")
    # verify_tls=False is the explicit way out (a test server, never production).
    assert fetch_mailbox(app, {**box, "verify_tls": False}).stored == 1


def test_starttls_on_the_plain_port(app: Flask, imap_account: ImapAccount, dovecot: DovecotServer):
    imap_account.append(message(1))
    box = imap_account.mailbox(security="starttls", ca_file=str(dovecot.ca_file))
    assert fetch_mailbox(app, box).stored == 1
    imap_account.append(message(2))
    refused = fetch_mailbox(app, {**box, "ca_file": str(dovecot.wrong_ca_file)})
    assert "not trusted" in (refused.error or "") and refused.seen == 0


# --- failures -------------------------------------------------------------------------


def test_store_failure_leaves_mail_on_the_server_and_exits_75(
    app: Flask, down_app: Flask, imap_account: ImapAccount
):
    fill(imap_account, 4)
    down_app.config["IMAP_MAILBOXES"] = [imap_account.mailbox(name="info")]

    result = down_app.test_cli_runner().invoke(fetch_command, [])

    assert result.exit_code == 75, result.output
    assert result.output.startswith("info: 3 new, 0 stored, 0 duplicates, 3 failed")
    assert "not stored: OperationalError" in result.output
    assert "stopped after 3 messages in a row could not be stored" in result.output
    assert not any("\\Seen" in f for f in imap_account.flags())

    # With the database back, everything is taken, once.
    report = fetch_mailbox(app, imap_account.mailbox())
    assert (report.stored, report.failed) == (4, 0)
    assert counts(app) == (4, 4) and all(is_done(f) for f in imap_account.flags())


def test_dropped_connection_mid_fetch(
    app: Flask, imap_account: ImapAccount, dovecot: DovecotServer, proxies: list[CuttingProxy]
):
    fill(imap_account, 6, body_size=3000)
    # Break the connection while the third message is on its way.
    proxy = CuttingProxy(dovecot.imap_port, cut_down_at=b"MARKER-3")
    proxies.append(proxy)
    app.config["IMAP_MAILBOXES"] = [imap_account.mailbox(name="info", port=proxy.port)]

    result = app.test_cli_runner().invoke(fetch_command, [])

    assert proxy.cut.is_set()
    assert result.exit_code == 75, result.output
    assert result.output.startswith("info: 2 new, 2 stored, 0 duplicates, 0 failed; error: ")
    assert f"connection to 127.0.0.1:{proxy.port} broken" in result.output
    assert counts(app) == (2, 2)
    assert [is_done(f) for f in imap_account.flags()] == [True, True] + [False] * 4

    report = fetch_mailbox(app, imap_account.mailbox())  # the healthy path
    assert (report.seen, report.stored, report.duplicates, report.error) == (4, 4, 0, None)
    assert counts(app) == (6, 6)
    assert all(is_done(f) for f in imap_account.flags())


def test_dropped_connection_between_store_and_flag(
    app: Flask, imap_account: ImapAccount, dovecot: DovecotServer, proxies: list[CuttingProxy]
):
    fill(imap_account, 5)
    # The second flag command never arrives: message 2 is stored but not flagged.
    proxy = CuttingProxy(dovecot.imap_port, cut_up_at=b" UID STORE ", nth=2)
    proxies.append(proxy)

    first = fetch_mailbox(app, imap_account.mailbox(port=proxy.port))

    assert proxy.cut.is_set() and first.error and "broken" in first.error
    assert (first.seen, first.stored) == (2, 2)
    assert [is_done(f) for f in imap_account.flags()] == [True] + [False] * 4

    second = fetch_mailbox(app, imap_account.mailbox())
    # Message 2 comes again, the store knows its Message-ID, and now it is flagged.
    assert (second.seen, second.stored, second.duplicates, second.error) == (4, 3, 1, None)
    assert counts(app) == (5, 5)
    assert all(is_done(f) for f in imap_account.flags())


def test_server_that_stops_answering_times_out(
    app: Flask, imap_account: ImapAccount, dovecot: DovecotServer, proxies: list[CuttingProxy]
):
    imap_account.append(message(1))
    proxy = CuttingProxy(dovecot.imap_port, stall_up_at=b"UID SEARCH")
    proxies.append(proxy)

    report = fetch_mailbox(app, imap_account.mailbox(port=proxy.port, timeout=1))

    # The socket timeout, not the proxy, ended the wait (the proxy never answers).
    assert report.error == f"no answer from 127.0.0.1:{proxy.port} within 1 s"
    assert counts(app) == (0, 0)


def test_unreachable_server(app: Flask, imap_account: ImapAccount):
    closed = socket.create_server((HOST, 0))
    port = closed.getsockname()[1]
    closed.close()
    report = fetch_mailbox(app, imap_account.mailbox(port=port))
    assert report.error == f"cannot connect to 127.0.0.1:{port}: connection refused"


def test_wrong_password_is_refused_and_never_logged(
    app: Flask, imap_account: ImapAccount, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    imap_account.append(message(1))
    box = imap_account.mailbox(password="not-the-password-4711")

    report = fetch_mailbox(app, box)

    assert report.error is not None
    assert f"login as {imap_account.username} refused" in report.error
    assert "AUTHENTICATIONFAILED" in report.error
    assert "not-the-password-4711" not in report.summary() + caplog.text
    assert "not-the-password-4711" not in repr(Mailbox.from_settings(box))

    app.config["IMAP_MAILBOXES"] = [imap_account.mailbox()]
    app.config["IMAP_POLL_SECONDS"] = 60
    fetch_if_due(app)  # logs its report
    assert imap_account.password not in caplog.text
    assert "1 new, 1 stored" in caplog.text


def test_non_ascii_password(app: Flask, dovecot: DovecotServer):
    account = dovecot.add_user(password="Gr\u00fc\u00dfe-\u00e7a-\u4f60\u597d")
    account.append(message(1))
    report = fetch_mailbox(app, account.mailbox())
    assert (report.stored, report.error) == (1, None)


def test_one_fetch_per_mailbox_at_a_time(app: Flask, imap_account: ImapAccount):
    imap_account.append(message(1))
    box = Mailbox.from_settings(imap_account.mailbox())
    with imap._exclusive(app, box) as mine:
        assert mine
        report = fetch_mailbox(app, box)
    assert report.busy and report.ok and "another fetch" in report.summary()
    assert fetch_mailbox(app, box).stored == 1


# --- the command and the periodic job --------------------------------------------------


def test_command_fetches_the_named_mailbox_only(app: Flask, dovecot: DovecotServer):
    first, second = dovecot.add_user(), dovecot.add_user()
    first.append(message(1))
    second.append(message(2))
    app.config["IMAP_MAILBOXES"] = [first.mailbox(name="one"), second.mailbox(name="two")]
    runner = app.test_cli_runner()

    result = runner.invoke(fetch_command, ["--mailbox", "two"])
    assert (result.exit_code, result.output) == (
        0,
        "two: 1 new, 1 stored, 0 duplicates, 0 failed\n",
    )
    assert not is_done(first.flags()[0]) and is_done(second.flags()[0])

    result = runner.invoke(fetch_command, [])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "one: 1 new, 1 stored, 0 duplicates, 0 failed",
        "two: 0 new, 0 stored, 0 duplicates, 0 failed",
    ]

    result = runner.invoke(fetch_command, ["--mailbox", "three"])
    assert result.exit_code == 2 and "configured: one, two" in result.output


def test_command_settings_errors(app: Flask):
    runner = app.test_cli_runner()
    result = runner.invoke(fetch_command, [])
    assert result.exit_code == 0 and "No IMAP mailboxes configured" in result.output

    app.config["IMAP_MAILBOXES"] = [{"name": "info", "host": "imap.example.org"}]
    result = runner.invoke(fetch_command, [])
    assert result.exit_code == 78
    assert "mailbox info: username is required" in result.output


def test_periodic_job_runs_fetch_when_due(app: Flask, imap_account: ImapAccount):
    task: Any = jobs_of(app).imap_fetch  # a huey task: call_local() runs it here
    imap_account.append(message(1))
    with app.app_context():
        task.call_local()  # nothing configured: nothing happens
    assert counts(app) == (0, 0)

    app.config["IMAP_MAILBOXES"] = [imap_account.mailbox()]
    app.config["IMAP_POLL_SECONDS"] = 300
    with app.app_context():
        task.call_local()
    assert counts(app) == (1, 1) and is_done(imap_account.flags()[0])

    imap_account.append(message(2))
    with app.app_context():
        task.call_local()  # a minute later: not due yet
    assert counts(app) == (1, 1)
    assert fetch_if_due(app, now=time.time() + 120) == []
    [report] = fetch_if_due(app, now=time.time() + 300)
    assert report.stored == 1 and counts(app) == (2, 2)

    app.config["IMAP_POLL_SECONDS"] = 0  # polling off
    assert fetch_if_due(app, now=time.time() + 3600) == []


def test_fetch_all(app: Flask, dovecot: DovecotServer):
    accounts = [dovecot.add_user(), dovecot.add_user()]
    for n, account in enumerate(accounts):
        account.append(message(n))
    app.config["IMAP_MAILBOXES"] = [a.mailbox() for a in accounts]
    assert [r.stored for r in fetch_all(app)] == [1, 1]


# --- settings ---------------------------------------------------------------------------


def test_settings_defaults_and_checks():
    box = Mailbox.from_settings(
        {"name": "info", "host": "imap.example.org", "username": "u", "password": "p"}
    )
    assert (box.port, box.security, box.folder, box.done, box.batch) == (
        993,
        "ssl",
        "INBOX",
        "flag",
        50,
    )
    assert (box.verify_tls, box.ca_file, box.queue, box.move_to) == (True, None, None, None)
    base: dict[str, Any] = {"name": "a", "host": "imap.example.org", "username": "u"}
    bad: list[tuple[dict[str, Any], str]] = [
        ({**base}, "password is required"),
        ({**base, "password": "p", "security": "tls"}, "security must be one of"),
        ({**base, "password": "p", "security": "none"}, "unencrypted"),
        ({**base, "password": "p", "done": "delete"}, 'done must be "flag" or "move:'),
        ({**base, "password": "p", "done": "move:"}, "done must be"),
        ({**base, "password": "p", "batch": 0}, "batch at least 1"),
        ({**base, "password": "p", "folder": "Eingang\u00e4"}, "ASCII"),
        ({**base, "password": "p", "passwd": "p"}, "unknown setting(s) passwd"),
        ({**base, "password": "p", "verify_tls": "false"}, "verify_tls must be true or false"),
    ]
    for entry, why in bad:
        with pytest.raises(MailboxSettingsError, match=why.replace("(", r"\(").replace(")", r"\)")):
            Mailbox.from_settings(entry)
    doubled = {**base, "password": "p"}
    with pytest.raises(MailboxSettingsError, match="names used twice: a"):
        mailboxes({"IMAP_MAILBOXES": [doubled, doubled]})
    assert mailboxes({}) == []
    assert Mailbox.from_settings({**base, "password": "p", "done": "move:Done"}).move_to == "Done"
