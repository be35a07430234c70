"""A real MTA in front of the desk: Debian's Postfix delivering through ``mail deliver``.

Postfix runs up to 20 pipe deliveries at once (its default); none may be
deferred, on SQLite or PostgreSQL, and every message is stored with the
bytes Postfix handed over (its own transport headers included).
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tests.postfix import Postfix, available, deliver_command, open_up
from tickets.mail import content_digest
from tickets.models import RawMessage

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="needs Debian's postfix, run as root"),
]

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))
MESSAGES = 60


def message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Sender {n} <sender{n}@example.net>"
    msg["To"] = "info@wikimedia.org" if n % 2 else "permissions@wikimedia.org"
    msg["Subject"] = f"Question {n}"
    msg["Date"] = "Thu, 03 Dec 2026 14:00:00 +0000"  # else Postfix adds one
    if n % 6 == 0:
        msg["Message-ID"] = "<xxxx>"  # reused, as broken mailers do
    elif n % 6 != 1:  # every sixth has none: Postfix adds one
        msg["Message-ID"] = f"<postfix-{n}@example.net>"
    msg.set_content(f"Hello, this is message {n}.\n")
    return msg.as_bytes()


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder the pipe's user may write (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="wikibridge-postfix-", dir="/tmp"))
    open_up(folder)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_postfix_delivers_at_its_default_concurrency(shared_folder, database_url):
    url = database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{shared_folder / 'desk' / 'desk.sqlite3'}"
        open_up(shared_folder / "desk")
        env = {
            **os.environ,
            "WIKIBRIDGE_DATABASE_URL": url,
            "WIKIBRIDGE_INSTANCE_PATH": str(shared_folder / "instance"),
        }
        subprocess.run([WIKIBRIDGE, "db", "upgrade"], env=env, check=True, capture_output=True)
        for path in (shared_folder / "desk").iterdir():
            path.chmod(0o666)
    instance = shared_folder / "instance"
    open_up(instance)
    argv = deliver_command(
        shared_folder,
        {
            "WIKIBRIDGE_DATABASE_URL": url,
            "WIKIBRIDGE_INSTANCE_PATH": str(instance),
            "HOME": str(shared_folder),
        },
    )
    postfix = Postfix(shared_folder / "postfix", argv)
    postfix.start()
    try:
        sent = [message(n) for n in range(MESSAGES)]

        def submit(part: list[bytes]) -> None:
            with smtplib.SMTP("127.0.0.1", postfix.port, timeout=60) as smtp:
                for raw in part:
                    smtp.sendmail("sender@example.net", ["info@wikimedia.org"], raw)

        threads = [threading.Thread(target=submit, args=(sent[i::6],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # Every message tried once (stored, or deferred: then the test fails).
            if postfix.log().count("relay=wikibridge") >= MESSAGES:
                break
            time.sleep(0.5)
        log = postfix.log()
    finally:
        postfix.stop()

    deliveries = [line for line in log.splitlines() if "relay=wikibridge" in line]
    assert len(deliveries) == MESSAGES, log[-3000:]
    assert [line for line in deliveries if "status=sent" not in line] == []

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(RawMessage.compression, RawMessage.data)).all()
    engine.dispose()
    stored = [zlib.decompress(data) if how == "zlib" else data for how, data in rows]
    assert len(stored) == MESSAGES  # reused Message-IDs kept apart
    # What Postfix handed over: its transport headers at the top, then what
    # was sent (Postfix added a Message-ID where there was none).
    assert all(raw.startswith((b"Return-Path:", b"Delivered-To:")) for raw in stored)
    with_ids = {content_digest(raw) for n, raw in enumerate(sent) if n % 6 != 1}
    assert with_ids <= {content_digest(raw) for raw in stored}


def test_postfix_delivers_over_lmtp_at_its_default_concurrency(
    shared_folder, tmp_path, database_url
):
    # Postfix's LMTP client pipelines its commands (the listener offers
    # PIPELINING), keeps connections open for the next message, and sends
    # every recipient of a message in one transaction: one reply each.
    env = {**os.environ, "WIKIBRIDGE_DATABASE_URL": database_url}
    env["WIKIBRIDGE_INSTANCE_PATH"] = str(tmp_path / "instance")
    if database_url.startswith("sqlite"):
        subprocess.run([WIKIBRIDGE, "db", "upgrade"], env=env, check=True, capture_output=True)
    listener = subprocess.Popen(
        [WIKIBRIDGE, "mail", "lmtp", "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "lmtp.log").open("wb"),
    )
    try:
        assert listener.stdout is not None
        line = listener.stdout.readline().decode()
        assert "listening on" in line, (tmp_path / "lmtp.log").read_text()
        lmtp_port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        postfix = Postfix(shared_folder / "postfix", [], lmtp_port=lmtp_port)
        postfix.start()
        try:
            sent = [message(n) for n in range(MESSAGES)]
            both = ["info@wikimedia.org", "press@wikimedia.org"]

            def submit(first: int) -> None:
                with smtplib.SMTP("127.0.0.1", postfix.port, timeout=60) as smtp:
                    for n in range(first, MESSAGES, 6):
                        smtp.sendmail("sender@example.net", both[: 1 + n % 2], sent[n])

            threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            recipients = sum(1 + n % 2 for n in range(MESSAGES))
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if postfix.log().count(f"]:{lmtp_port}, ") >= recipients:
                    break
                time.sleep(0.5)
            log = postfix.log()
        finally:
            postfix.stop()
    finally:
        listener.terminate()
        listener.wait(60)

    deliveries = [line for line in log.splitlines() if f"]:{lmtp_port}, " in line]
    assert len(deliveries) == recipients, log[-3000:]
    assert [line for line in deliveries if "status=sent" not in line] == []
    assert all("stored" in line for line in deliveries)  # the listener's answer, logged

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(RawMessage.compression, RawMessage.data)).all()
    engine.dispose()
    stored = [zlib.decompress(data) if how == "zlib" else data for how, data in rows]
    assert len(stored) == MESSAGES  # one each, however many recipients
    # What Postfix handed over: its Received header on top of what was sent.
    assert all(raw.startswith(b"Received:") for raw in stored)
    with_ids = {content_digest(raw) for n, raw in enumerate(sent) if n % 6 != 1}
    assert with_ids <= {content_digest(raw) for raw in stored}
