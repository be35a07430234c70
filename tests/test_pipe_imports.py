"""``mail deliver`` stores a message without the heavy libraries (issue 13).

The mail system starts a process per message; importing SQLAlchemy alone
cost it more than everything else it does.  These tests look at what one
such process imported (``python -X importtime``), not at how long it took.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from tickets.models import Article, RawMessage

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))

#: Never imported by a ``mail deliver`` that stores its message itself.
#: On PostgreSQL it calls libpq itself (wikibridge.libpq): importing psycopg
#: took three times as long as everything else the process does.
NOT_IMPORTED = (
    "sqlalchemy",
    "flask",
    "click",
    "werkzeug",
    "jinja2",
    "alembic",
    "psycopg",
    "psycopg_binary",
)
#: Nor, storing a plain text message, these: intake's records are no
#: dataclasses, its annotations need no typing at run time, short data is
#: hashed without OpenSSL, the HTML sanitiser loads only for HTML, settings
#: are copied without copy, one lock needs no threading, and what the email
#: package imports for making Message-IDs or reading dates waits until used
#: (``pipe.DEFERRED``).
NOT_IMPORTED_FOR_PLAIN_TEXT = (
    "dataclasses",
    "inspect",
    "typing",
    "hashlib",
    "nh3",
    "copy",
    "socket",
    "random",
    "calendar",
    "locale",
    "threading",
)
#: Nor the email package's header registry, when every header read is plain.
NOT_IMPORTED_MODULES_FOR_PLAIN_HEADERS = (
    "email.policy",
    "email.headerregistry",
    "email._header_value_parser",
)


@pytest.fixture(autouse=True)
def language_model_cached() -> None:
    """The language model's cache file written, as after the first delivery of a desk.

    Writing it (once per model file) imports more than reading it; these
    tests look at every delivery after that.
    """
    from tickets import language, language_model

    language_model.load(language._cache_dir())


def imported_by_deliver(
    tmp_path: Path, database_url: str, raw: bytes, *args: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``mail deliver`` on ``raw``; its result and the top-level packages it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", WIKIBRIDGE, "mail", "deliver", *args],
        input=raw,
        env={
            **os.environ,
            "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
            "WIKIBRIDGE_DATABASE_URL": database_url,
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    result = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode("utf-8", "replace")
    )
    found = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)", result.stderr, re.MULTILINE)
    return result, {name.split(".")[0] for name in found}


def delivered_number(done: subprocess.CompletedProcess[str]) -> str:
    """The ticket number ``mail deliver`` printed (it exited 0)."""
    errors = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert done.returncode == 0, errors
    number = done.stdout.strip()
    assert re.fullmatch(r"\d{16}", number), done.stdout
    return number


def test_deliver_imports_neither_sqlalchemy_nor_flask(tmp_path, database_url):
    # A new message to route by its language: the language model loads too.
    raw = (FIXTURES / "permission-en.eml").read_bytes()
    done, packages = imported_by_deliver(tmp_path, database_url, raw)
    number = delivered_number(done)
    assert "tickets" in packages and "email" in packages  # the trace is read right
    assert packages.isdisjoint(NOT_IMPORTED), sorted(packages & set(NOT_IMPORTED))
    unwanted = set(NOT_IMPORTED_FOR_PLAIN_TEXT)
    assert packages.isdisjoint(unwanted), sorted(packages & unwanted)
    modules = set(re.findall(r"^import time:.*\|\s*([\w.]+)$", done.stderr, re.MULTILINE))
    assert "email.parser" in modules  # the trace is read right
    assert modules.isdisjoint(NOT_IMPORTED_MODULES_FOR_PLAIN_HEADERS)
    # Stored once: a redelivery (the duplicate path) reports the same ticket.
    again, packages = imported_by_deliver(tmp_path, database_url, raw, "--queue", "Training")
    assert delivered_number(again) == number
    assert packages.isdisjoint(NOT_IMPORTED)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RawMessage)) == 1
        assert conn.scalar(select(func.count()).select_from(Article)) == 1
    engine.dispose()


def test_deliver_imports_no_numpy(tmp_path, database_url):
    raw = (FIXTURES / "permission-en.eml").read_bytes()
    done, packages = imported_by_deliver(tmp_path, database_url, raw)
    delivered_number(done)
    assert "numpy" not in packages


def test_a_url_only_sqlalchemy_reads_is_stored_through_it(tmp_path, database_url):
    # Options in the URL: the pipe leaves the URL to SQLAlchemy rather than
    # read it differently; the message is stored all the same.
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite URL with options")
    done, packages = imported_by_deliver(
        tmp_path, f"{database_url}?timeout=60", (FIXTURES / "permission-en.eml").read_bytes()
    )
    delivered_number(done)
    assert "sqlalchemy" in packages


def test_deferred_modules_load_when_used():
    # The email package binds the stand-ins; using them loads the real modules.
    code = """
import sys
from wikibridge.mail import pipe
pipe.defer_unused_imports()
import email.utils
assert type(sys.modules["socket"]).__name__ == "_DeferredModule", sys.modules["socket"]
msgid = email.utils.make_msgid()  # socket.getfqdn and random
when = email.utils.mktime_tz(email.utils.parsedate_tz("Fri, 04 Dec 2026 10:00:00 +0100"))
import socket, random, calendar
assert type(socket).__name__ == type(random).__name__ == "module"
assert email.utils.socket.getfqdn is socket.getfqdn and calendar.timegm((2026, 1, 1, 0, 0, 0))
print(msgid.startswith("<") and when == 1796374800)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
