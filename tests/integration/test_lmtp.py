"""Mail through the LMTP listener: one ticket per message, one answer per recipient."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tickets.intake import raw_bytes
from tickets.models import Article, RawMessage, Ticket
from tickets.numbers import is_valid
from wikibridge import create_app
from wikibridge.db import new_session
from wikibridge.mail.lmtp import LMTPListener, parse_listen

pytestmark = pytest.mark.integration

DEAD_DATABASE = "postgresql+psycopg://x@127.0.0.1:1/none"


def message(
    to: str = "info@wikimedia.org", msgid: str = "<lmtp-1@example.org>", body: str = "Hello"
) -> bytes:
    """A message as an MTA hands it over LMTP: CRLF line ends, ending in CRLF."""
    msg = EmailMessage()
    msg["From"] = "Someone <someone@example.org>"
    msg["To"] = to
    msg["Subject"] = "A question"
    msg["Message-ID"] = msgid
    msg.set_content(body)
    return msg.as_bytes().replace(b"\n", b"\r\n")


def send(
    port: int, raw: bytes, recipients: list[str], *, then_noop: bool = True
) -> list[tuple[int, bytes]]:
    """Deliver ``raw`` over LMTP; the replies to DATA, one per recipient.

    ``smtplib.LMTP`` reads only the first reply after DATA; LMTP sends one per
    recipient (RFC 2033), so the rest are read here.
    """
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("test.example.org")  # smtplib.LMTP sends it as LHLO
        code, reply = client.mail("someone@example.org")
        assert code == 250, reply
        for rcpt in recipients:
            code, reply = client.rcpt(rcpt)
            assert code == 250, reply
        replies = [client.data(raw)]
        replies += [client.getreply() for _ in recipients[1:]]
        if then_noop:
            # Nothing left over: the next command gets its own answer.
            assert client.noop()[0] == 250
        return replies


def tickets_of(app: Flask) -> list[Ticket]:
    with new_session(app) as db:
        return list(db.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.fixture
def listener(app: Flask) -> Iterator[LMTPListener]:
    """The listener on a free port, storing into the test app, stopped afterwards."""
    with LMTPListener(app, "127.0.0.1", 0, threads=2) as running:
        yield running


def test_one_message_several_recipients_one_ticket(app, listener):
    recipients = ["info@wikimedia.org", "permissions@wikimedia.org", "x@example.com"]
    replies = send(listener.port, message(), recipients)

    [ticket] = tickets_of(app)
    assert replies == [(250, f"2.0.0 {ticket.number} stored".encode())] * 3
    assert is_valid(ticket.number)
    with new_session(app) as db:
        assert db.scalar(select(func.count()).select_from(Article)) == 1
        article = db.scalars(select(Article)).one()
        # Headers name a known address: the stored copy is the bytes received.
        assert article.raw is not None and raw_bytes(article.raw) == message()


def test_duplicate_delivery_answers_the_same_number(app, listener):
    first = send(listener.port, message(msgid="<twice@example.org>"), ["info@wikimedia.org"])
    second = send(listener.port, message(msgid="<twice@example.org>"), ["info@wikimedia.org"])

    [ticket] = tickets_of(app)
    assert first == second == [(250, f"2.0.0 {ticket.number} stored".encode())]


def test_concurrent_connections_each_get_their_ticket(app, listener):
    results: dict[int, list[tuple[int, bytes]]] = {}

    def deliver(n: int) -> None:
        results[n] = send(listener.port, message(msgid=f"<c{n}@example.org>"), ["a@example.com"])

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    numbers = {t.number for t in tickets_of(app)}
    assert len(numbers) == 6
    assert {r[0][1].split()[1].decode() for r in results.values()} == numbers


def test_database_down_answers_451_for_every_recipient(tmp_path, monkeypatch, caplog):
    # make_test_app seeds the queues, which needs the database; this app
    # only points at one that is not there.
    monkeypatch.setenv("WIKIBRIDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    down = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": DEAD_DATABASE,
            "JOBS_URL": "memory",
            "SECRET_KEY": "test-secret",
            "TOKEN_ENCRYPTION_KEY": "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA=",
        }
    )
    recipients = ["info@wikimedia.org", "press@wikimedia.org"]
    with LMTPListener(down, "127.0.0.1", 0) as running:
        replies = send(running.port, message(), recipients)
    down.extensions["db_engine"].dispose()

    assert [code for code, _ in replies] == [451, 451]
    assert all(reply.startswith(b"4.3.0 ") for _, reply in replies)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "wikibridge.mail.lmtp")
    assert "not stored" in logged and "OperationalError" in logged


def test_envelope_recipient_routes_when_headers_name_no_known_address(app, listener):
    # A list address in To; the MTA expanded it to press@ (or press@ was Bcc).
    raw = message(to="volunteers@lists.example.org", msgid="<press@example.org>")
    [(code, reply)] = send(listener.port, raw, ["press@wikimedia.org"])

    assert code == 250, reply
    [ticket] = tickets_of(app)
    with new_session(app) as db:
        stored = db.get(Ticket, ticket.id)
        assert stored is not None and stored.queue.name == "Role::Press"
        article = stored.articles[0]
        assert article.raw is not None
        # Exactly the bytes the MTA handed over; the envelope is kept beside them.
        assert raw_bytes(article.raw) == raw
        assert article.raw.envelope_to == ["press@wikimedia.org"]


def test_headers_decide_over_the_envelope(app, listener):
    raw = message(to="info@wikimedia.org", msgid="<info@example.org>")
    send(listener.port, raw, ["press@wikimedia.org"])

    [ticket] = tickets_of(app)
    with new_session(app) as db:
        stored = db.get(Ticket, ticket.id)
        assert stored is not None and not stored.queue.name.startswith("Role::")
        assert stored.articles[0].raw is not None
        assert raw_bytes(stored.articles[0].raw) == raw


def test_unknown_envelope_recipient_keeps_the_bytes(app, listener):
    raw = message(to="someone@example.net", msgid="<unknown-rcpt@example.org>")
    send(listener.port, raw, ["x@example.com"])
    send(listener.port, message(to="a@example.net", msgid="<t@x>"), ["TRAINING@wikimedia.org"])

    with new_session(app) as db:
        stored = {r.envelope_to[0]: r for r in db.scalars(select(RawMessage)) if r.envelope_to}
        assert raw_bytes(stored["x@example.com"]) == raw
        queues = sorted(t.queue.name for t in db.scalars(select(Ticket)))
        assert queues == ["Info", "Training"]


def test_redelivery_after_a_lost_answer_reports_the_stored_ticket(app, listener):
    # The commit is done but the 250 never reaches the MTA (the connection
    # breaks first): the MTA delivers again and hears the same ticket number.
    raw = message(msgid="<lost-answer@example.org>")
    client = smtplib.LMTP("127.0.0.1", listener.port, timeout=30)
    client.ehlo("test.example.org")
    client.mail("someone@example.org")
    client.rcpt("info@wikimedia.org")
    client.putcmd("data")
    assert client.getreply()[0] == 354
    client.send(raw + b".\r\n")
    client.close()  # gone before the answer
    for _ in range(600):  # the store finishes; its answer has nowhere to go
        if tickets_of(app):
            break
        threading.Event().wait(0.05)
    [ticket] = tickets_of(app)

    again = send(listener.port, raw, ["info@wikimedia.org"])

    assert again == [(250, f"2.0.0 {ticket.number} stored".encode())]
    assert len(tickets_of(app)) == 1


def test_oversize_message_is_kept_raw(app):
    # Over MAIL_MAX_BYTES (the limit of every door) the message is not read but
    # kept: refusing it (552) would bounce it, answering 451 would have it
    # retried until the MTA gives up.
    app.config["MAIL_MAX_BYTES"] = 20_000
    big = message(body="x" * 70 + ("\n" + "y" * 70) * 400, msgid="<big@example.org>")
    assert len(big) > 20_000
    recipients = ["info@wikimedia.org", "press@wikimedia.org"]
    with LMTPListener(app, "127.0.0.1", 0) as running:
        # Declared size (SIZE=, as MTAs send it): accepted all the same.
        with smtplib.LMTP("127.0.0.1", running.port, timeout=30) as client:
            client.ehlo("test.example.org")
            code, _ = client.mail("someone@example.org", [f"SIZE={len(big)}"])
            assert code == 250
        replies = send(running.port, big, recipients)
        [(ok, _)] = send(running.port, message(msgid="<small@example.org>"), recipients[:1])

    assert [code for code, _ in replies] == [250, 250]
    assert all(b"too large" in reply for _, reply in replies)
    assert ok == 250
    tickets = tickets_of(app)
    assert len(tickets) == 2
    with new_session(app) as db:
        article = db.scalars(select(Article).where(Article.message_id == "<big@example.org>")).one()
        assert "too large" in article.body
        assert article.raw is not None and raw_bytes(article.raw) == big


def test_long_lines_are_accepted(app, listener):
    # Beyond RFC 5322's 998 octets, as unwrapped HTML often is: still stored.
    raw = (
        b"From: a@example.org\r\nTo: info@wikimedia.org\r\nMessage-ID: <long@x>\r\n"
        b"Subject: long\r\n\r\n" + b"z" * 5000 + b"\r\n"
    )
    [(code, _)] = send(listener.port, raw, ["info@wikimedia.org"])
    assert code == 250


def raw_session(port: int, data: bytes, pieces: int = 1) -> list[bytes]:
    """LHLO, MAIL, RCPT and DATA written by hand, ``data`` (stuffed, with its
    final ".") in ``pieces`` writes; every reply line the listener sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")

        def reply() -> list[bytes]:
            lines = [reader.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(reader.readline())
            return lines

        got = reply()
        for command in (
            b"LHLO test.example.org",
            b"MAIL FROM:<a@example.org>",
            b"RCPT TO:<info@wikimedia.org>",
            b"DATA",
        ):
            sock.sendall(command + b"\r\n")
            got += reply()
        step = max(1, len(data) // pieces)
        for start in range(0, len(data), step):
            sock.sendall(data[start : start + step])
        got += reply()
        sock.sendall(b"QUIT\r\n")
        got += reply()
        return got


@pytest.mark.parametrize("pieces", [1, 7, 1000])
def test_data_is_unstuffed_and_kept_exactly(app, listener, pieces):
    # A client doubles a line's leading dot (RFC 5321, 4.5.2); a line of "."
    # alone ends the data, a dot elsewhere (after a bare LF, at a line's end)
    # is text.  Sent whole, in pieces, and a byte at a time near the end.
    header = b"From: a@example.org\r\nTo: info@wikimedia.org\r\nSubject: dots\r\n"
    body = b"..starts with a dot\r\n...two\r\nends with one.\r\nbare\n.\r\nx\r\n"
    sent = header + f"Message-ID: <dots-{pieces}@x>\r\n\r\n".encode() + body + b".\r\n"
    replies = raw_session(listener.port, sent, pieces)

    assert replies[0].startswith(b"220")
    lhlo = replies[1:-5]  # then MAIL, RCPT, DATA, the data and QUIT
    assert [line[:4] for line in lhlo] == [b"250-"] * (len(lhlo) - 1) + [b"250 "]
    assert replies[-2].startswith(b"250 2.0.0 ") and replies[-1].startswith(b"221")
    with new_session(app) as db:
        stored = db.scalars(select(RawMessage)).one()
        expected = sent[: -len(b".\r\n")].replace(b"\r\n.", b"\r\n")
        assert raw_bytes(stored) == expected
        assert b"\r\n.starts with a dot\r\n..two\r\n" in expected


def test_empty_data_is_stored_too(app, listener):
    replies = raw_session(listener.port, b".\r\n")
    assert replies[-2].startswith(b"250 2.0.0 ")
    with new_session(app) as db:
        assert raw_bytes(db.scalars(select(RawMessage)).one()) == b""


def test_parse_listen():
    assert parse_listen("127.0.0.1:8024") == ("127.0.0.1", 8024)
    assert parse_listen("[::1]:24") == ("::1", 24)
    for bad in ("8024", "host:", ":25", "host:99999"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def _wikibridge() -> str:
    return str(Path(sys.executable).with_name("wikibridge"))


def test_the_command_serves_until_sigterm(app, database_url, tmp_path):
    env = {
        **os.environ,
        "WIKIBRIDGE_DATABASE_URL": database_url,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "lmtp-instance"),
        "WIKIBRIDGE_JOBS_URL": "memory",
    }
    proc = subprocess.Popen(
        [_wikibridge(), "mail", "lmtp", "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        # The first line names the port it got; wait for it, but not forever.
        timer = threading.Timer(60, proc.kill)
        timer.start()
        first = proc.stdout.readline().decode()
        timer.cancel()
        if "listening on 127.0.0.1:" not in first:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the listener did not start: {first}{err.decode()[-2000:]}")
        port = int(first.split("127.0.0.1:")[1].split()[0])

        replies = send(port, message(msgid="<cmd@example.org>"), ["info@wikimedia.org"] * 2)
        [ticket] = tickets_of(app)
        assert replies == [(250, f"2.0.0 {ticket.number} stored".encode())] * 2

        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in out
    assert ticket.number.encode() in err  # the log line of the stored message


def test_stop_lets_a_message_being_stored_finish(app, monkeypatch):
    import wikibridge.mail.batch as batch

    storing = threading.Event()
    real = batch.write_batch

    def slow_store(*args, **kwargs):
        storing.set()
        threading.Event().wait(1.0)  # the commit takes a while
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "write_batch", slow_store)
    running = LMTPListener(app, "127.0.0.1", 0, grace=10, writer="thread").start()
    try:

        def stop_while_storing() -> None:
            storing.wait(10)
            running.stop()

        stopper = threading.Thread(target=stop_while_storing)
        stopper.start()
        # The listener closes the connection after answering: no NOOP then.
        replies = send(
            running.port,
            message(msgid="<slow@example.org>"),
            ["info@wikimedia.org"],
            then_noop=False,
        )
        stopper.join(30)
    finally:
        running.stop()
    [ticket] = tickets_of(app)
    assert replies == [(250, f"2.0.0 {ticket.number} stored".encode())]


def test_concurrent_messages_share_a_commit_and_hear_of_it_after(app, monkeypatch):
    import wikibridge.mail.batch as batch

    committed: set[str] = set()
    sizes: list[int] = []
    real = batch.write_batch
    first = threading.Event()

    def watched(engine, items, *args, **kwargs):
        if not first.is_set():
            first.set()
            threading.Event().wait(0.5)  # a slow commit: the others queue up behind it
        results = real(engine, items, *args, **kwargs)
        sizes.append(len(items))
        committed.update(item.incoming.parsed.message_id for item in items)
        return results

    monkeypatch.setattr(batch, "write_batch", watched)
    heard_before_commit: list[str] = []
    replies: dict[int, list[tuple[int, bytes]]] = {}

    def deliver(n: int) -> None:
        msgid = f"<group-{n}@example.org>"
        replies[n] = send(running.port, message(msgid=msgid), ["info@wikimedia.org"])
        if msgid not in committed:
            heard_before_commit.append(msgid)

    with LMTPListener(app, "127.0.0.1", 0, threads=4, writer="thread") as running:
        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    assert heard_before_commit == []
    assert all(r[0][0] == 250 for r in replies.values())
    assert len({t.number for t in tickets_of(app)}) == 12
    assert sum(sizes) == 12 and max(sizes) > 1  # fewer commits than messages


def test_worker_processes_prepare_and_the_bytes_stay_exact(app):
    raws = [message(msgid=f"<proc-{n}@example.org>", body=f"Hello {n}") for n in range(6)]
    results: dict[int, list[tuple[int, bytes]]] = {}
    with LMTPListener(app, "127.0.0.1", 0, processes=2) as running:

        def deliver(n: int) -> None:
            results[n] = send(running.port, raws[n], ["info@wikimedia.org"])

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(len(raws))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

    assert all(r[0][0] == 250 for r in results.values()), results
    with new_session(app) as db:
        stored = {raw_bytes(r) for r in db.scalars(select(RawMessage))}
    assert stored == set(raws)


def test_a_silent_connection_is_told_and_closed(app, monkeypatch):
    # Also in the middle of a message: a client that stops sending must not
    # hold a connection (and its buffer) for ever.
    monkeypatch.setattr("wikibridge.mail.lmtp_session.IDLE_SECONDS", 0.3)
    monkeypatch.setattr("wikibridge.mail.lmtp.IDLE_SWEEP_SECONDS", 0.1)
    with (
        LMTPListener(app, "127.0.0.1", 0) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock,
    ):
        sock.sendall(
            b"LHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<info@wikimedia.org>\r\n"
            b"DATA\r\nSubject: half a message\r\n"
        )
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert received.rstrip().endswith(b"421 4.4.2 Idle too long, closing connection")
    assert tickets_of(app) == []


def _writer_processes() -> list:
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name == "wikibridge-intake-writer"]


def test_a_writer_process_that_dies_costs_one_answer_and_nothing_stored_twice(app):
    first = message(msgid="<writer-1@example.org>", body="first")
    second = message(msgid="<writer-2@example.org>", body="second")
    with LMTPListener(app, "127.0.0.1", 0) as running:
        assert send(running.port, first, ["info@wikimedia.org"])[0][0] == 250
        (writer,) = _writer_processes()
        dead = writer.pid
        os.kill(dead, signal.SIGKILL)
        writer.join(30)
        # The batch that met the dead writer is answered "try again later" ...
        [(code, text)] = send(running.port, second, ["info@wikimedia.org"])
        assert code == 451 and b"4.3.0" in text
        # ... and the mail system's next try reaches a new writer.
        assert send(running.port, second, ["info@wikimedia.org"])[0][0] == 250
        assert send(running.port, first, ["info@wikimedia.org"])[0][0] == 250  # a redelivery
        (again,) = _writer_processes()
        assert again.pid != dead
    assert _writer_processes() == []  # ended with the listener
    with new_session(app) as db:
        assert db.scalar(select(func.count()).select_from(RawMessage)) == 2
    assert len(tickets_of(app)) == 2


def test_the_writer_process_reports_a_database_it_cannot_reach(app):
    from wikibridge.mail.batch import PolicyCache, prepare_routed
    from wikibridge.mail.writer import ProcessWriter, StoreFailed

    policy = PolicyCache(app.extensions["db_engine"], app.config["MAIL_DOMAIN"]).get()
    items = [prepare_routed(message(msgid=f"<away-{n}@example.org>"), policy) for n in range(2)]
    writer = ProcessWriter({**app.config, "DATABASE_URL": DEAD_DATABASE})
    try:
        results = writer(items)
    finally:
        writer.close()
    assert len(results) == 2
    for result in results:
        assert isinstance(result, StoreFailed)
        assert str(result).startswith("OperationalError: ")
        assert "SELECT" not in str(result)  # the first line only, never the statement
    assert tickets_of(app) == []
