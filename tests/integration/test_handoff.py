"""``mail deliver`` handing its message to a running LMTP listener, or storing it itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tickets.intake import raw_bytes
from tickets.models import Article, Ticket
from wikibridge.db import new_session
from wikibridge.mail.handoff import parse_answer, parse_request, socket_path
from wikibridge.mail.lmtp import LMTPListener

pytestmark = pytest.mark.integration

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))
# What a pipe hands over is kept byte for byte: LF line ends, a line that is
# a single dot, a lone CR, no final newline.
ODD = (
    b"From: a@example.org\nTo: press@wikimedia.org\nSubject: odd\n"
    b"Message-ID: <odd@example.org>\n\nfirst\n.\n..two dots\nlone\rcr\nno final newline"
)


def deliver(
    app: Flask, raw: bytes, *args: str, database: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": app.instance_path,
        "WIKIBRIDGE_DATABASE_URL": database or app.config["DATABASE_URL"],
    }
    return subprocess.run(
        [WIKIBRIDGE, "mail", "deliver", *args],
        input=raw,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def listening(app: Flask):
    path = socket_path(Path(app.instance_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with LMTPListener(app, "127.0.0.1", 0, handoff=path) as running:
        yield running


#: Where the delivering process itself could store nothing: only the
#: listener can have stored what it reports.
NOWHERE = "postgresql+psycopg://x@127.0.0.1:1/none"


def test_deliver_hands_off_and_the_bytes_stay_exact(app, listening):
    first = deliver(app, ODD, database=NOWHERE)
    again = deliver(app, ODD, database=NOWHERE)

    assert first.returncode == 0, first.stderr
    number = first.stdout.decode().strip()
    assert again.returncode == 0 and again.stdout.decode().strip() == number
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.number == number and ticket.queue.name == "Role::Press"
        article = db.scalars(select(Article)).one()
        assert article.raw is not None and raw_bytes(article.raw) == ODD
        assert article.raw.envelope_to is None


def test_deliver_with_a_queue_hands_it_over_too(app, listening):
    result = deliver(app, b"Subject: practice\n\nhi\n", "--queue", "Training", database=NOWHERE)
    assert result.returncode == 0, result.stderr
    with new_session(app) as db:
        assert db.scalars(select(Ticket)).one().queue.name == "Training"


def test_a_dead_listeners_socket_means_storing_here(app):
    path = socket_path(Path(app.instance_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.fspath(path))
    dead.close()  # the file stays, nobody listens

    result = deliver(app, ODD)

    assert result.returncode == 0, result.stderr
    with new_session(app) as db:
        assert db.scalar(select(func.count()).select_from(Article)) == 1


def test_a_new_listener_takes_over_a_dead_ones_socket(app):
    path = socket_path(Path(app.instance_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.fspath(path))
    dead.close()
    with LMTPListener(app, "127.0.0.1", 0, handoff=path):
        assert deliver(app, ODD).returncode == 0
    assert not path.exists()  # removed on stop


def test_a_listener_that_cannot_store_means_75(app, tmp_path, monkeypatch):
    import wikibridge.mail.batch as batch

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch, "write_batch", broken)
    path = socket_path(Path(app.instance_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with LMTPListener(app, "127.0.0.1", 0, handoff=path, writer="thread"):
        result = deliver(app, ODD)
    assert result.returncode == 75
    assert b"not stored" in result.stderr and b"disk full" in result.stderr


def test_the_framing():
    assert parse_request(b"DELIVER 12") == (12, None)
    assert parse_request(b"DELIVER 3 Role::Press") == (3, "Role::Press")
    for bad in (b"", b"DELIVER", b"DELIVER x", b"HELO 1"):
        with pytest.raises(ValueError):
            parse_request(bad)
    assert parse_answer(b"250 2026120310000018").stored
    assert parse_answer(b"250 2026120310000018 unread").unread
    answer = parse_answer(b"451 not stored: OperationalError")
    assert not answer.stored and "OperationalError" in answer.text
    assert not parse_answer(b"").stored


def test_a_socket_path_too_long_leaves_lmtp_working(app, tmp_path):
    deep = tmp_path / ("d" * 120) / "lmtp-handoff.sock"
    deep.parent.mkdir(parents=True)
    with LMTPListener(app, "127.0.0.1", 0, handoff=deep) as running:
        import smtplib

        with smtplib.LMTP("127.0.0.1", running.port, timeout=30) as client:
            client.ehlo("test.example.org")
            client.mail("a@example.org")
            client.rcpt("info@wikimedia.org")
            code, _ = client.data(ODD.replace(b"\n", b"\r\n"))
    assert code == 250
