"""Faults at intake: the database going away mid-delivery, and kill -9.

Whatever happens, a message is stored exactly once in the end, and a
delivery that could not finish says so with exit 75 and leaves nothing half
stored.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from tickets.models import Article, History, RawMessage, Ticket

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))


def big_message(msgid: str, size: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Big scans attached"
    msg["Message-ID"] = msgid
    msg.set_content("Scans of the signed permission attached.")
    rng = random.Random(msgid)
    msg.add_attachment(
        rng.randbytes(size), maintype="application", subtype="pdf", filename="scan.pdf"
    )
    return msg.as_bytes()


def deliver_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": url,
    }


def counts(url: str, msgid: str) -> tuple[int, int, int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        result = (
            conn.scalar(
                select(func.count()).select_from(Article).where(Article.message_id == msgid)
            ),
            conn.scalar(select(func.count()).select_from(Ticket)),
            conn.scalar(select(func.count()).select_from(RawMessage)),
            conn.scalar(select(func.count()).select_from(History)),
        )
    engine.dispose()
    return (int(result[0] or 0), int(result[1] or 0), int(result[2] or 0), int(result[3] or 0))


def test_kill_9_mid_delivery_then_redelivery_stores_once(tmp_path, database_url):
    raw = big_message("<killed@example.net>", 3_000_000)
    env = deliver_env(tmp_path, database_url)
    delays = [0.05, 0.15, 0.3, 0.5, 0.8, 1.2, 2.0]
    for delay in delays:
        proc = subprocess.Popen(
            [WIKIBRIDGE, "mail", "deliver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None
        proc.stdin.write(raw)
        proc.stdin.close()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stored, tickets, raws, _ = counts(database_url, "<killed@example.net>")
        # Killed before its commit: nothing; after: exactly one copy, whole.
        assert stored in (0, 1) and tickets == stored and raws == stored
    again = subprocess.run(
        [WIKIBRIDGE, "mail", "deliver"],
        input=raw,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert counts(database_url, "<killed@example.net>")[:3] == (1, 1, 1)


class CuttingProxy:
    """A TCP proxy to PostgreSQL that cuts every connection after ``budget`` bytes up."""

    def __init__(self, target: tuple[str, int], budget: int) -> None:
        self.target = target
        self.budget = budget
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by close()
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if counted and sent + len(data) > self.budget:
                    dst.sendall(data[: max(0, self.budget - sent)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def test_database_gone_mid_delivery_means_75_and_nothing_half_stored(tmp_path, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "the connection to a server can only be cut on PostgreSQL; "
            "SQLite's 'down' is covered in test_cli"
        )
    parts = urlsplit(database_url.replace("postgresql+psycopg", "postgresql"))
    raw = big_message("<cut@example.net>", 200_000)
    # Measure how many bytes a whole delivery sends, then cut at points inside it.
    seen_75 = 0
    for budget in (2_000, 5_000, 20_000, 60_000, 120_000, 180_000, 240_000, 10_000_000):
        proxy = CuttingProxy((parts.hostname or "127.0.0.1", parts.port or 5432), budget)
        url = database_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
        result = subprocess.run(
            [WIKIBRIDGE, "mail", "deliver"],
            input=raw,
            env=deliver_env(tmp_path, url),
            capture_output=True,
            timeout=120,
            check=False,
        )
        proxy.close()
        stored, tickets, raws, _ = counts(database_url, "<cut@example.net>")
        if result.returncode == 75:
            seen_75 += 1
            assert b"not stored" in result.stderr
        else:
            assert result.returncode == 0, result.stderr
        assert stored in (0, 1) and tickets == stored and raws == stored
        if stored:
            assert result.returncode == 0 or budget < 10_000_000
    assert seen_75 >= 3
    assert counts(database_url, "<cut@example.net>")[:3] == (1, 1, 1)
    # A volunteer's view of it: the stored one is whole.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT size FROM raw_message"))
    engine.dispose()
    assert size == len(raw)
