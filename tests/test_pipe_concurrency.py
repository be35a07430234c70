"""``mail deliver`` as Postfix runs it: up to 20 processes at once, answers sometimes lost.

Postfix's default concurrency is 20 deliveries per transport.  None may be
deferred for the database's lock (exit 75), and what was stored must be what
was handed over.  No test here measures time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tickets.models import Article, RawMessage

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))
POSTFIX_CONCURRENCY = 20


def message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Sender {n} <sender{n}@example.net>"
    msg["To"] = "info@wikimedia.org" if n % 3 else "permissions@wikimedia.org"
    msg["Subject"] = f"Question number {n}"
    # Every fifth reuses one Message-ID, as broken mailers do.
    msg["Message-ID"] = "<xxxx>" if n % 5 == 0 else f"<pipe-{n}@example.net>"
    msg.set_content(f"Hello, this is message {n}. I have a question about an article.\n")
    return msg.as_bytes()


def env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": url,
    }


def deliver(raw: bytes, environ: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [WIKIBRIDGE, "mail", "deliver"],
        input=raw,
        env=environ,
        capture_output=True,
        timeout=600,
        check=False,
    )


def test_twenty_concurrent_deliveries_none_deferred(tmp_path, database_url):
    environ = env(tmp_path, database_url)
    messages = [message(n) for n in range(2 * POSTFIX_CONCURRENCY)]
    with ThreadPoolExecutor(POSTFIX_CONCURRENCY) as pool:
        results = list(pool.map(lambda raw: deliver(raw, environ), messages))
    failed = [(r.returncode, r.stderr.decode()[-300:]) for r in results if r.returncode != 0]
    assert failed == []
    numbers = [r.stdout.decode().strip() for r in results]
    assert len(set(numbers)) == len(messages)  # reused Message-IDs kept apart

    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Article)) == len(messages)
        rows = conn.execute(select(RawMessage.compression, RawMessage.data))
        stored = {zlib.decompress(data) if how == "zlib" else data for how, data in rows}
    engine.dispose()
    assert stored == set(messages)  # exactly the bytes handed over


def test_redelivery_after_a_lost_exit_status_reports_the_stored_ticket(tmp_path, database_url):
    # The commit is done, but the MTA never sees exit 0 (it was killed, or
    # timed out): it delivers again, through another hop this time.
    environ = env(tmp_path, database_url)
    raw = message(7)
    proc = subprocess.Popen(
        [WIKIBRIDGE, "mail", "deliver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    assert proc.stdin is not None
    proc.stdin.write(raw)
    proc.stdin.close()
    engine = create_engine(database_url)
    deadline = time.monotonic() + 120
    stored = None
    while stored is None and time.monotonic() < deadline:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT t.number FROM ticket t JOIN article a ON a.ticket_id = t.id")
            ).scalar()
        if stored is None:
            time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # whatever it was about to say is lost
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    assert stored is not None

    again = deliver(b"Received: from mx2.example.net by desk\n" + raw, environ)

    assert again.returncode == 0, again.stderr
    assert again.stdout.decode().strip() == stored
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Article)) == 1
    engine.dispose()
