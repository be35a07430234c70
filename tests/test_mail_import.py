"""``wikibridge mail import``: an old archive stored as intake stores mail, once, resumably."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from tickets.intake import raw_bytes
from tickets.mail import content_digest
from tickets.models import Article, RawMessage, Ticket
from tickets.numbers import format_number, is_valid
from wikibridge.db import new_session
from wikibridge.mail.import_command import import_command

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))
OLD_DAY = __import__("datetime").date(2019, 5, 17)


def cpython_mails() -> list[bytes]:
    try:
        import test
    except ImportError:  # pragma: no cover
        return []
    folder = Path(os.path.dirname(test.__file__)) / "test_email" / "data"
    return [p.read_bytes() for p in sorted(folder.glob("msg_*.txt"))]


def archive_message(n: int) -> bytes:
    """Every fourth message answers the one before, every tenth names an old ticket."""
    msg = EmailMessage()
    msg["From"] = f"Writer {n % 97} <w{n % 97}@example.net>"
    msg["To"] = "info@wikimedia.org" if n % 7 else "info-de@wikimedia.org"
    subject = f"Question {n}"
    if n % 10 == 0:
        subject = f"[Ticket#{format_number(OLD_DAY, '10', n + 1)}] {subject}"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<archive-{n}@example.net>"
    if n % 4 == 3:
        msg["In-Reply-To"] = f"<archive-{n - 1}@example.net>"
    msg.set_content(f"Hello, message {n} of the old archive.\n")
    return msg.as_bytes()


def maildir(tmp_path: Path, count: int) -> Path:
    """A Maildir as a mail server leaves it: one file per message, named by arrival time."""
    path = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    for n in range(count):
        (path / "new" / f"{1500000000 + n}.M{n}P1.old-server").write_bytes(archive_message(n))
    return path


def count_of(app, model) -> int:
    with new_session(app) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_an_mbox_of_real_mail_is_stored_once(app, tmp_path):
    raws = cpython_mails()
    if not raws:
        pytest.skip("this Python ships no test_email data")
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    for raw in raws:
        box.add(raw)
    box.close()
    stored_bytes = [mailbox.mbox(path).get_bytes(k) for k in mailbox.mbox(path).iterkeys()]
    distinct = {content_digest(r) for r in stored_bytes}
    runner = app.test_cli_runner()

    first = runner.invoke(import_command, [str(path)])

    assert first.exit_code == 0, first.output
    assert f"{len(raws)} messages: {len(distinct)} stored" in first.output
    assert count_of(app, Article) == len(distinct)
    with new_session(app) as db:
        kept = {raw_bytes(r) for r in db.scalars(select(RawMessage))}
    assert kept == set(stored_bytes)

    again = runner.invoke(import_command, [str(path)])

    assert again.exit_code == 0, again.output
    assert f"{len(raws)} messages: 0 stored, {len(raws)} already there" in again.output
    assert count_of(app, Article) == len(distinct)


def test_a_maildir_of_thousands_keeps_numbers_and_threads(app, tmp_path):
    total = 2000
    path = maildir(tmp_path, total)
    runner = app.test_cli_runner()

    result = runner.invoke(import_command, [str(path)])

    assert result.exit_code == 0, result.output
    threaded = sum(1 for n in range(total) if n % 4 == 3)
    assert f"{total} messages: {total} stored, 0 already there, {threaded} threaded" in (
        result.output
    )
    assert count_of(app, Article) == total
    assert count_of(app, Ticket) == total - threaded
    with new_session(app) as db:
        numbers = set(db.scalars(select(Ticket.number)))
        # The old numbers are kept; every other ticket got a fresh valid one.
        for n in range(0, total, 10):
            assert format_number(OLD_DAY, "10", n + 1) in numbers
        assert all(is_valid(number) for number in numbers)
        reply = db.scalars(
            select(Article).where(Article.message_id == "<archive-3@example.net>")
        ).one()
        original = db.scalars(
            select(Article).where(Article.message_id == "<archive-2@example.net>")
        ).one()
        assert reply.ticket_id == original.ticket_id


def test_an_import_killed_half_way_resumes(tmp_path, database_url):
    total = 1500
    path = maildir(tmp_path, total)
    env = {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": database_url,
    }
    engine = create_engine(database_url)

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Article)) or 0)

    proc = subprocess.Popen(
        [WIKIBRIDGE, "mail", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while stored() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = stored()
    assert before > 0

    again = subprocess.run(
        [WIKIBRIDGE, "mail", "import", str(path)],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )

    assert again.returncode == 0, again.stderr[-2000:]
    summary = again.stdout.decode()
    assert f"{total} messages: {total - before} stored, {before} already there" in summary
    assert stored() == total
    engine.dispose()


def test_not_an_archive(app, tmp_path):
    (tmp_path / "folder").mkdir()
    result = app.test_cli_runner().invoke(import_command, [str(tmp_path / "folder")])
    assert result.exit_code != 0
    assert "not a Maildir" in result.output
