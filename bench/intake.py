"""How fast mail becomes tickets, through each way in, beside the rate of bare parsing.

    .venv/bin/python bench/intake.py [--messages N] [--pipe-messages M]
                                     [--databases sqlite,postgresql] [--paths ...]
                                     [--max-size BYTES] [--growth 10000,100000]

Measures messages per second over a generated mixed corpus (:mod:`bench.corpus`;
``--max-size`` leaves out its large messages, for typical mail):

* ``pipe``: ``wikibridge mail deliver < msg``, one process per message, in turn
  (as an MTA's pipe transport runs it, without parallelism), nothing else running;
  its p50 beside ``python -c "import email"`` of the same run (the start-up
  figures' median, and one timed before each message, in turn with them);
* ``pipe-handoff``: the same with ``wikibridge mail lmtp`` running on the
  instance, so each process hands its message to the listener;
* ``lmtp``: one ``wikibridge mail lmtp`` process; one ``smtplib.LMTP`` client
  delivering in turn, one connection per message (LHLO, MAIL, RCPT, DATA, QUIT);
* ``lmtp-8``: the same with 8 clients at once (their messages share commits);
* ``lmtp-8p``: the same, the listener preparing in 2 worker processes (``--processes 2``);
* ``lmtp-8t``: the same as ``lmtp-8`` with the writer on a thread of the listener
  (``--writer thread``), as before the writer had a process of its own;
* ``in-process``: :func:`wikibridge.mail.store.store_message` in a loop (a commit each);
* ``bulk``: ``mail import``'s path, prepared one by one and written 200 per transaction;

each on SQLite (a fresh file) and PostgreSQL (a throwaway database on
127.0.0.1:5432, dropped afterwards), each migrated by ``wikibridge db upgrade``
and each path on a database of its own.  Beside every rate stands the rate of
``email.message_from_bytes(raw, policy=email.policy.default)`` over the same
messages in the same run: the ceiling no intake can pass.  One message is
delivered before timing starts on each path (the listener's and in-process
language model loads once; the pipe pays it per message, that is its cost).

Then what durable commits cost (the in-process loop with SQLite
``synchronous=NORMAL`` / PostgreSQL ``synchronous_commit=off`` instead), and
the bulk rate with 10,000 and 100,000 tickets stored before (``--growth``:
``--messages`` new messages a round, three rounds, the sizes taking turns,
the median kept).

Then heavy single messages, stored in process on each database (``--attachments``,
``--nested-divs``): one with 10, 1,000 and 5,000 tiny attachments, and one of
100,000 nested ``<div>``; for each the total time, the time per attachment, how
long the single writer was held (first writing statement to commit), and
beside them the time of bare ``email.message_from_bytes`` of the same message.
Time per attachment must stay flat as the count grows (issue 10, fault 3).

Then the pipe command's start-up alone: ``wikibridge mail deliver`` of a message
already stored (so it stores nothing) against ``python -c pass``, and its
heaviest imports (``python -X importtime``, by cumulative time).

With ``--installed`` every ``wikibridge`` process (and the ``python -c``
yardsticks) runs from a temporary virtualenv holding the project as its wheel
installs it, not editable: an editable install's finder runs in every
interpreter of its environment, ``python -c "import email"`` included.

Every process, database and temporary folder it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.message
import email.policy
import email.utils
import os
import re
import secrets
import select
import signal
import smtplib
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (python bench/intake.py): the repository root is not on
    # the path, and the bench is not part of the installed package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import describe, generate

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MAIL_DOMAIN = "wikimedia.org"
PATHS = ("pipe", "pipe-handoff", "lmtp", "lmtp-8", "lmtp-8p", "lmtp-8t", "in-process", "bulk")
PATH_LABELS = {
    "pipe": "pipe: process/message",
    "pipe-handoff": "pipe → running lmtp",
    "lmtp": "lmtp: 1 client",
    "lmtp-8": "lmtp: 8 clients",
    "lmtp-8p": "lmtp: 8 cl., 2 procs",
    "lmtp-8t": "lmtp: 8 cl., writer thread",
    "in-process": "in-process loop",
    "bulk": "bulk (mail import)",
}
#: Concurrent LMTP clients of the ``lmtp-8`` path.
LMTP_CLIENTS = 8
#: Messages per transaction on the ``bulk`` path (as ``mail import`` writes them).
BULK_STEP = 200
WARMUP = (
    b"From: bench@example.net\nTo: info@wikimedia.org\nSubject: warm-up\n"
    b"Message-ID: <bench-warmup@corpus.example.net>\n\nFirst message, not timed.\n"
)


#: The interpreter of the measured ``wikibridge`` processes and of the
#: ``python -c`` yardsticks: this one, or the temporary one of ``--installed``.
PYTHON = sys.executable


def wikibridge_command() -> str:
    """The ``wikibridge`` console script next to :data:`PYTHON`."""
    script = Path(PYTHON).with_name("wikibridge")
    if not script.exists():
        raise SystemExit(f"{script} not found: install the project (make install) first")
    return str(script)


def install_wheel(workdir: Path) -> str:
    """A virtualenv in ``workdir`` with the project installed as its wheel installs it; its python.

    Not editable, so no finder at start-up and the modules' bytecode compiled
    by pip.  The dependencies are this environment's (a ``.pth`` file names
    its site-packages, whose own ``.pth`` files, the editable finder among
    them, are not run).
    """
    venv = workdir / "installed"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "bench-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", str(root)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return python


def clean_environ() -> dict[str, str]:
    """This process's environment without any ``WIKIBRIDGE_*`` setting of the caller.

    Nor ``PYTHONDONTWRITEBYTECODE``: an installed package has its bytecode
    compiled, so the processes measured here may cache theirs (the warm-up
    delivery does) instead of compiling the project's modules every time.
    """
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WIKIBRIDGE_") and k != "PYTHONDONTWRITEBYTECODE"
    }


def app_environ(database_url: str, instance: Path) -> dict[str, str]:
    """Environment for a ``wikibridge`` process on ``database_url``."""
    return {
        **clean_environ(),
        "WIKIBRIDGE_DATABASE_URL": database_url,
        "WIKIBRIDGE_INSTANCE_PATH": str(instance),
    }


# -- databases ------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, name: str, pg_admin: str) -> Iterator[str]:
    """A new, migrated database (``wikibridge db upgrade``); removed afterwards."""
    if kind == "sqlite":
        path = workdir / f"{name}.sqlite3"
        url = f"sqlite:///{path}"
        migrate(url, workdir / f"{name}-instance")
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r}: sqlite or postgresql")
    from sqlalchemy import create_engine, text

    dbname = f"wikibridge_bench_{secrets.token_hex(4)}_{name.replace('-', '_')}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        url = pg_admin.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            migrate(url, workdir / f"{name}-instance")
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": dbname},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
    finally:
        admin.dispose()


def migrate(database_url: str, instance: Path) -> None:
    """``wikibridge db upgrade`` on ``database_url``."""
    subprocess.run(
        [wikibridge_command(), "db", "upgrade"],
        env=app_environ(database_url, instance),
        check=True,
        capture_output=True,
        timeout=300,
    )


# -- the ways in ------------------------------------------------------------------


def envelope_recipient(raw: bytes) -> str:
    """The address an MTA would deliver to: the first ``To`` at our domain, else ``info@``."""
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    for _, address in email.utils.getaddresses([str(v) for v in headers.get_all("To", [])]):
        if address.lower().endswith("@" + MAIL_DOMAIN):
            return address
    return f"info@{MAIL_DOMAIN}"  # a list address the MTA expanded


def crlf(raw: bytes) -> bytes:
    """``raw`` with CRLF line ends, as it travels over LMTP."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _kind(url: str) -> str:
    """``sqlite`` or ``postgresql``, from a database URL."""
    return url.split(":", 1)[0].split("+")[0]


#: Per-message seconds of each pipe run, by "path|database" (for their medians).
PIPE_TIMES: dict[str, list[float]] = {}
#: ``python -c "import email"`` timed before each of those messages: on a
#: shared machine the load moves between the start-up figures and a pipe
#: run, so the pipe is also compared with a yardstick taken in turn with it.
PIPE_BASELINES: dict[str, list[float]] = {}


def _pipe_deliveries(messages: list[bytes], env: dict[str, str], label: str) -> float:
    command = [wikibridge_command(), "mail", "deliver"]

    def deliver(raw: bytes) -> float:
        began = time.perf_counter()
        done = subprocess.run(command, input=raw, env=env, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"mail deliver exited {done.returncode}: {done.stderr[-500:]!r}")
        return time.perf_counter() - began

    def yardstick() -> float:
        began = time.perf_counter()
        subprocess.run([PYTHON, "-c", "import email"], env=env, check=True, timeout=60)
        return time.perf_counter() - began

    deliver(WARMUP)
    times, baselines = [], []
    seconds = 0.0
    for raw in messages:
        baselines.append(yardstick())
        times.append(deliver(raw))
        seconds += times[-1]
    PIPE_TIMES[label] = times
    PIPE_BASELINES[label] = baselines
    return seconds


def run_pipe(messages: list[bytes], url: str, workdir: Path) -> float:
    """Seconds to deliver ``messages``, a ``mail deliver`` process each, nothing else running."""
    env = app_environ(url, workdir / "pipe-instance")
    return _pipe_deliveries(messages, env, f"pipe|{_kind(url)}")


def run_pipe_handoff(messages: list[bytes], url: str, workdir: Path) -> float:
    """The same, with ``mail lmtp`` running on the instance: each process hands its message over."""
    env = app_environ(url, workdir / "handoff-instance")
    with listener(env, workdir / "handoff.log"):
        return _pipe_deliveries(messages, env, f"pipe-handoff|{_kind(url)}")


@contextlib.contextmanager
def listener(env: dict[str, str], log_path: Path, *options: str) -> Iterator[int]:
    """A ``mail lmtp`` process on a free port (yielded), stopped afterwards."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [wikibridge_command(), "mail", "lmtp", "--listen", "127.0.0.1:0", *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        port = _listening_port(proc)
        lmtp_send(port, crlf(WARMUP), f"info@{MAIL_DOMAIN}")
        yield port
    finally:
        stop(proc)
        log.close()


def _listening_port(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """Wait for the listener's first line (``listening on HOST:PORT …``); its port."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode() if ready else ""
    found = re.search(r"listening on \S+:(\d+)", line)
    if not found:
        raise RuntimeError(f"the LMTP listener did not start: {line!r}")
    return int(found.group(1))


def lmtp_send(port: int, raw: bytes, rcpt: str) -> None:
    """One connection, one message, one recipient; raise unless it was stored."""
    with smtplib.LMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("bench.example.org")  # sent as LHLO
        client.mail("bench@example.net", [f"SIZE={len(raw)}"])
        client.rcpt(rcpt)
        code, reply = client.data(raw)
        if code != 250:
            raise RuntimeError(f"LMTP answered {code} {reply!r}")


def run_lmtp(
    messages: list[bytes],
    url: str,
    workdir: Path,
    clients: int = 1,
    processes: int = 0,
    writer: str = "",
) -> float:
    """Seconds to deliver ``messages`` to one ``mail lmtp`` listener, one connection each,
    from ``clients`` clients at once (``processes``, ``writer``: the listener's options)."""
    prepared = [(crlf(raw), envelope_recipient(raw)) for raw in messages]
    env = app_environ(url, workdir / f"lmtp-{clients}-{processes}{writer}-instance")
    options: tuple[str, ...] = ("--processes", str(processes)) if processes else ()
    if writer:
        options += ("--writer", writer)
    with listener(env, workdir / f"lmtp-{clients}-{processes}{writer}.log", *options) as port:
        todo = iter(prepared)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def client() -> None:
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                try:
                    lmtp_send(port, *item)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"LMTP delivery failed: {errors[0]}")
    return seconds


def run_lmtp_8(messages: list[bytes], url: str, workdir: Path) -> float:
    """:func:`run_lmtp` with :data:`LMTP_CLIENTS` clients at once."""
    return run_lmtp(messages, url, workdir, LMTP_CLIENTS)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not go within 30 seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def run_in_process(messages: list[bytes], url: str, workdir: Path, durable: bool = True) -> float:
    """Seconds for ``store_message`` over ``messages`` in this process (a commit each).

    ``durable=False`` relaxes what the desk insists on (SQLite
    ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``), to show
    what durable commits cost.
    """
    from sqlalchemy import event

    from wikibridge import create_app
    from wikibridge.mail.store import store_message

    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(workdir / "in-process-instance")
    try:
        app = create_app({"DATABASE_URL": url})
    finally:
        del os.environ["WIKIBRIDGE_INSTANCE_PATH"]
    if not durable:
        relaxed = (
            "PRAGMA synchronous=NORMAL"
            if url.startswith("sqlite")
            else "SET synchronous_commit=off"
        )

        def _relax(dbapi_conn: object, _record: object) -> None:
            cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
            cursor.execute(relaxed)
            cursor.close()
            if not url.startswith("sqlite"):
                dbapi_conn.commit()  # type: ignore[attr-defined]

        engine = app.extensions["db_engine"]
        event.listen(engine, "connect", _relax)
        engine.dispose()
    try:
        store_message(app, WARMUP)
        started = time.perf_counter()
        for raw in messages:
            store_message(app, raw)
        return time.perf_counter() - started
    finally:
        app.extensions["db_engine"].dispose()


#: Share of the bulk path's time spent preparing (parse, sanitise, compress,
#: route), by database, from the last run.
BULK_PREPARE_SHARE: dict[str, float] = {}


def run_bulk(messages: list[bytes], url: str, workdir: Path) -> float:
    """Seconds for the ``mail import`` path: prepared one by one, written 200 per transaction."""
    from wikibridge import create_app
    from wikibridge.mail.batch import PolicyCache, prepare_routed, write_batch

    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(workdir / "bulk-instance")
    try:
        app = create_app({"DATABASE_URL": url})
    finally:
        del os.environ["WIKIBRIDGE_INSTANCE_PATH"]
    engine = app.extensions["db_engine"]
    try:
        policy = PolicyCache(engine, MAIL_DOMAIN).get()
        write_batch(engine, [prepare_routed(WARMUP, policy)], policy, "10")
        preparing = 0.0
        started = time.perf_counter()
        for first in range(0, len(messages), BULK_STEP):
            began = time.perf_counter()
            items = [prepare_routed(raw, policy) for raw in messages[first : first + BULK_STEP]]
            preparing += time.perf_counter() - began
            for result in write_batch(engine, items, policy, "10"):
                if isinstance(result, BaseException):
                    raise result
        seconds = time.perf_counter() - started
        BULK_PREPARE_SHARE[_kind(url)] = preparing / seconds
        return seconds
    finally:
        engine.dispose()


def run_sync_cost(messages: list[bytes], database: str, workdir: Path) -> tuple[float, float]:
    """msg/s of the in-process loop with durable commits, and with relaxed ones."""
    rates = []
    for durable in (True, False):
        name = f"sync-{'full' if durable else 'relaxed'}"
        with fresh_database(database, workdir, name, PG_ADMIN) as url:
            rates.append(len(messages) / run_in_process(messages, url, workdir, durable))
    return rates[0], rates[1]


def run_lmtp_8t(messages: list[bytes], url: str, workdir: Path) -> float:
    """:func:`run_lmtp` with 8 clients and the writer on a thread of the listener."""
    return run_lmtp(messages, url, workdir, LMTP_CLIENTS, writer="thread")


def run_lmtp_8p(messages: list[bytes], url: str, workdir: Path) -> float:
    """:func:`run_lmtp` with 8 clients and 2 worker processes preparing in the listener."""
    return run_lmtp(messages, url, workdir, LMTP_CLIENTS, processes=2)


RUNNERS: dict[str, Callable[[list[bytes], str, Path], float]] = {
    "pipe": run_pipe,
    "pipe-handoff": run_pipe_handoff,
    "lmtp": run_lmtp,
    "lmtp-8": run_lmtp_8,
    "lmtp-8p": run_lmtp_8p,
    "lmtp-8t": run_lmtp_8t,
    "in-process": run_in_process,
    "bulk": run_bulk,
}


#: Rounds of the growth measurement: each size is measured this many times,
#: the sizes taking turns, and the median kept (one bulk run of a few hundred
#: messages lasts half a second, and this machine moves by a fifth between two).
GROWTH_ROUNDS = 3


@contextlib.contextmanager
def seeded_database(database: str, before: int, workdir: Path, pg_admin: str) -> Iterator[str]:
    """A database of its own holding ``before`` tickets (bench.seed_bulk); its URL, then gone."""
    from sqlalchemy import create_engine, text

    from bench.seed_bulk import seed

    name = f"growth-{before}"
    if database == "sqlite":
        path = workdir / f"{name}.sqlite3"
        url = f"sqlite:///{path}"
        seed(url, before)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    dbname = f"wikibridge_bench_{secrets.token_hex(4)}_growth_{before}"
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        url = pg_admin.rsplit("/", 1)[0] + f"/{dbname}"
        seed(url, before)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def run_growth(
    messages: list[bytes], database: str, sizes: list[int], workdir: Path, pg_admin: str
) -> dict[int, list[float]]:
    """Bulk-path msg/s into databases already holding each of ``sizes`` tickets.

    Every size is measured :data:`GROWTH_ROUNDS` times, the sizes taking
    turns round by round so that the machine's drift falls on all of them;
    round ``r`` writes the ``r``-th slice of ``messages`` (new mail each time,
    the same slice for every size).
    """
    share = len(messages) // GROWTH_ROUNDS
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    with contextlib.ExitStack() as stack:
        urls = {
            size: stack.enter_context(seeded_database(database, size, workdir, pg_admin))
            for size in sizes
        }
        for round_ in range(GROWTH_ROUNDS):
            batch = messages[round_ * share : (round_ + 1) * share]
            for size in sizes:
                rates[size].append(len(batch) / run_bulk(batch, urls[size], workdir))
    return rates


def parse_rate(messages: list[bytes], rounds: int = 3) -> float:
    """Messages per second of bare ``email.message_from_bytes`` (best of ``rounds``)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for raw in messages:
            email.message_from_bytes(raw, policy=email.policy.default)
        best = min(best, time.perf_counter() - started)
    return len(messages) / best


# -- heavy single messages ---------------------------------------------------------

_WRITE = re.compile(r"^\s*(BEGIN IMMEDIATE|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def with_attachments(count: int) -> bytes:
    """A short message carrying ``count`` tiny, distinct attachments."""
    msg = email.message.EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = f"permissions@{MAIL_DOMAIN}"
    msg["Subject"] = f"{count} photos"
    msg["Message-ID"] = f"<bench-attachments-{count}@corpus.example.net>"
    msg.set_content("Here are all my photos, please have a look.")
    for i in range(count):
        msg.add_attachment(
            f"photo {i}".encode(), maintype="image", subtype="jpeg", filename=f"p{i}.jpg"
        )
    return msg.as_bytes()


def nested_divs(count: int) -> bytes:
    """An HTML message of ``count`` nested ``<div>``."""
    msg = email.message.EmailMessage()
    msg["From"] = "Deep <deep@example.net>"
    msg["To"] = f"info@{MAIL_DOMAIN}"
    msg["Subject"] = "Deep"
    msg["Message-ID"] = f"<bench-divs-{count}@corpus.example.net>"
    body = "<html><body>" + "<div>" * count + "Hello" + "</div>" * count + "</body></html>"
    msg.set_content(body, subtype="html")
    return msg.as_bytes()


@dataclass(frozen=True)
class Heavy:
    """One heavy message stored once."""

    label: str
    database: str
    #: Attachments it carries (0: the deep HTML).
    attachments: int
    size: int
    seconds: float
    #: First writing statement to the commit: how long other writers waited.
    writer: float
    #: Bare ``email.message_from_bytes`` of the same bytes (best of 3).
    parse: float


def run_heavy(
    messages: list[tuple[str, int, bytes]], url: str, workdir: Path, database: str
) -> list[Heavy]:
    """Store each of ``messages`` (label, attachments, bytes) once, in this process."""
    from sqlalchemy import event

    from wikibridge import create_app
    from wikibridge.mail.store import store_message

    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(workdir / "heavy-instance")
    try:
        app = create_app({"DATABASE_URL": url})
    finally:
        del os.environ["WIKIBRIDGE_INSTANCE_PATH"]
    engine = app.extensions["db_engine"]
    marks: dict[str, float] = {}

    def on_execute(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "write" not in marks and _WRITE.match(statement):
            marks["write"] = time.perf_counter()

    def on_commit(_conn: object) -> None:
        marks.setdefault("commit", time.perf_counter())

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    rows = []
    try:
        store_message(app, WARMUP)
        for label, attachments, raw in messages:
            parse = min(_parse_seconds(raw) for _ in range(3))
            marks.clear()
            started = time.perf_counter()
            store_message(app, raw)
            seconds = time.perf_counter() - started
            writer = marks.get("commit", started) - marks.get("write", started)
            rows.append(Heavy(label, database, attachments, len(raw), seconds, writer, parse))
            print(f"  {label} on {database}: {seconds:.2f} s", flush=True)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        engine.dispose()
    return rows


def _parse_seconds(raw: bytes) -> float:
    started = time.perf_counter()
    email.message_from_bytes(raw, policy=email.policy.default)
    return time.perf_counter() - started


def heavy_table(rows: list[Heavy]) -> str:
    """Fixed-width table of the heavy messages."""
    head = (
        f"{'message':<24} {'database':<10} {'bytes':>9} {'store s':>8} {'ms/att':>7} "
        f"{'writer ms':>9} {'parse s':>8} {'parse ms/att':>12} {'of parse':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        per = f"{1000 * r.seconds / r.attachments:>7.2f}" if r.attachments else f"{'-':>7}"
        parse_per = f"{1000 * r.parse / r.attachments:>12.2f}" if r.attachments else f"{'-':>12}"
        lines.append(
            f"{r.label:<24} {r.database:<10} {r.size:>9} {r.seconds:>8.2f} {per} "
            f"{1000 * r.writer:>9.1f} {r.parse:>8.2f} {parse_per} {r.seconds / r.parse:>7.1f}x"
        )
    return "\n".join(lines)


# -- start-up -------------------------------------------------------------------


@dataclass(frozen=True)
class Startup:
    """The pipe command's fixed cost, and where it goes."""

    python: float
    deliver: float
    runs: int
    #: ``python -c "import email"``: the yardstick of the pipe's start.
    python_email: float
    #: (cumulative µs, nesting depth, module) for every import of one run.
    imports: list[tuple[int, int, str]]

    def outermost(self) -> list[tuple[int, int, str]]:
        """Imports not nested in another: they do not overlap, so they add up."""
        return sorted((i for i in self.imports if i[1] == 0), reverse=True)

    def heaviest(self, top: int = 10) -> list[tuple[int, int, str]]:
        """The ``top`` imports by cumulative time, nested ones included."""
        return sorted(self.imports, reverse=True)[:top]


def _median_seconds(command: list[str], runs: int, **kwargs: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_startup(workdir: Path, runs: int, pg_admin: str) -> Startup:
    """``mail deliver`` of an already stored message, against ``python -c pass``."""
    with fresh_database("sqlite", workdir, "startup", pg_admin) as url:
        env = app_environ(url, workdir / "startup-instance")
        command = [wikibridge_command(), "mail", "deliver"]
        subprocess.run(command, input=WARMUP, env=env, check=True, capture_output=True)
        python = _median_seconds([PYTHON, "-c", "pass"], runs, env=env)
        python_email = _median_seconds([PYTHON, "-c", "import email"], runs, env=env)
        deliver = _median_seconds(command, runs, input=WARMUP, env=env)
        traced = subprocess.run(
            [PYTHON, "-X", "importtime", *command],
            input=WARMUP,
            env=env,
            check=True,
            capture_output=True,
        )
    return Startup(python, deliver, runs, python_email, import_times(traced.stderr.decode()))


def import_times(importtime: str) -> list[tuple[int, int, str]]:
    """``(cumulative µs, depth, module)`` for each line of ``-X importtime`` output."""
    found = []
    for line in importtime.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if m:
            found.append((int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return found


# -- report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One measured path on one database."""

    path: str
    database: str
    messages: int
    seconds: float
    ceiling: float

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds


def table(rows: list[Row]) -> str:
    """Fixed-width table, ready for a README."""
    head = (
        f"{'path':<22} {'database':<10} {'msgs':>5} {'msg/s':>8} {'ms/msg':>8} "
        f"{'parse msg/s':>11} {'of parse':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{PATH_LABELS[r.path]:<22} {r.database:<10} {r.messages:>5} {r.rate:>8.1f} "
            f"{1000 / r.rate:>8.1f} {r.ceiling:>11.0f} {100 * r.rate / r.ceiling:>8.2f}%"
        )
    return "\n".join(lines)


def startup_report(s: Startup) -> str:
    """The start-up figures and the heaviest imports."""
    lines = [
        f"start-up, median of {s.runs} runs:",
        f"  python -c pass                           {s.python * 1000:7.0f} ms",
        f"  python -c 'import email'                 {s.python_email * 1000:7.0f} ms",
        f"  wikibridge mail deliver (already stored) {s.deliver * 1000:7.0f} ms"
        f"  = {s.deliver / s.python:.0f} x python",
    ]
    outer = s.outermost()
    total = sum(us for us, _, _ in outer)
    parts = ", ".join(f"{module} {us / 1000:.0f}" for us, _, module in outer[:5])
    lines += [
        f"  of which imports (one -X importtime run) {total / 1000:7.0f} ms",
        f"    outermost: {parts} ms",
        "heaviest imports of mail deliver (cumulative; nested ones indented):",
    ]
    for us, depth, module in s.heaviest():
        lines.append(f"  {us / 1000:7.0f} ms  {'  ' * depth}{module}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=200, help="for lmtp and in-process")
    p.add_argument("--pipe-messages", type=int, default=20, help="for pipe (a process each)")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--paths", default=",".join(PATHS), help="any of " + ",".join(PATHS))
    p.add_argument("--seed", type=int, default=1, help="of the generated corpus")
    p.add_argument("--startup-runs", type=int, default=7, help="0 skips the start-up figures")
    p.add_argument(
        "--attachments",
        default="10,1000,5000",
        help="attachment counts of the heavy messages (empty: none)",
    )
    p.add_argument(
        "--nested-divs", type=int, default=100_000, help="of the deep HTML message (0: none)"
    )
    p.add_argument(
        "--max-size",
        type=int,
        default=0,
        help="leave out generated messages larger than this many bytes (0: keep all)",
    )
    p.add_argument(
        "--growth",
        default="10000,100000",
        help="tickets stored before a bulk run, to see the cost grow (empty: skip)",
    )
    p.add_argument(
        "--installed",
        action="store_true",
        help="run wikibridge from its wheel installed in a temporary virtualenv (not editable)",
    )
    p.add_argument("--pg-admin", default=os.environ.get("WIKIBRIDGE_BENCH_PG_ADMIN", PG_ADMIN))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its report."""
    args = parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise SystemExit(f"unknown paths: {', '.join(sorted(unknown))}")
    # The caller's settings must not leak into the app made in this process.
    for key in [k for k in os.environ if k.startswith("WIKIBRIDGE_")]:
        del os.environ[key]

    began = time.perf_counter()
    counts = {p: args.pipe_messages if p.startswith("pipe") else args.messages for p in paths}
    wanted = max([*counts.values(), args.messages])
    if args.max_size:
        # Typical mail only: the generated corpus without its large messages.
        corpus = [m for m in generate(wanted * 3, args.seed) if len(m) <= args.max_size][:wanted]
    else:
        corpus = generate(wanted, args.seed)
    # The growth rounds each write new mail: the same generator, further on.
    growth_corpus = corpus[: args.messages]
    if args.growth.strip():
        count = args.messages * GROWTH_ROUNDS
        more = generate(count * 3 if args.max_size else count, args.seed)
        if args.max_size:
            more = [m for m in more if len(m) <= args.max_size]
        growth_corpus = more[: args.messages * GROWTH_ROUNDS]
    ceilings = {n: parse_rate(corpus[:n]) for n in set(counts.values())}
    rows: list[Row] = []
    heavy_messages = [
        (f"{n} attachments", n, with_attachments(n))
        for n in (int(c) for c in args.attachments.split(",") if c.strip())
        if n > 0
    ]
    if args.nested_divs:
        heavy_messages.append((f"{args.nested_divs} nested divs", 0, nested_divs(args.nested_divs)))
    heavy: list[Heavy] = []
    global PYTHON
    with tempfile.TemporaryDirectory(prefix="wikibridge-bench-") as tmp:
        workdir = Path(tmp)
        if args.installed:
            PYTHON = install_wheel(workdir)
        for database in databases:
            for path in paths:
                messages = corpus[: counts[path]]
                with fresh_database(database, workdir, path, args.pg_admin) as url:
                    seconds = RUNNERS[path](messages, url, workdir)
                rows.append(Row(path, database, len(messages), seconds, ceilings[len(messages)]))
                print(f"  {path} on {database}: {len(messages) / seconds:.1f} msg/s", flush=True)
            if heavy_messages:
                with fresh_database(database, workdir, "heavy", args.pg_admin) as url:
                    heavy += run_heavy(heavy_messages, url, workdir, database)
        startup = (
            measure_startup(workdir, args.startup_runs, args.pg_admin)
            if args.startup_runs
            else None
        )
        sync_cost = [
            (database, *run_sync_cost(corpus[: args.messages], database, workdir))
            for database in databases
        ]
        sizes = [0, *(int(n) for n in args.growth.split(",") if n.strip())]
        growth = (
            {
                database: run_growth(growth_corpus, database, sizes, workdir, args.pg_admin)
                for database in databases
            }
            if len(sizes) > 1
            else {}
        )
    print()
    print(f"corpus: {describe(corpus)}; seed {args.seed}; pipe uses the first {args.pipe_messages}")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"bench took {time.perf_counter() - began:.0f} s"
    )
    install = "a wheel installed in a temporary virtualenv" if args.installed else "this env"
    print(f"wikibridge and the python -c yardsticks run from {install} ({PYTHON})")
    print()
    print(table(rows))
    if heavy:
        print()
        print("heavy messages, one each, in process (writer: first write to commit):")
        print(heavy_table(heavy))
    for label, times in PIPE_TIMES.items():
        path, database = label.split("|")
        p50 = statistics.median(times)
        line = f"{PATH_LABELS[path]} on {database}: p50 {p50 * 1000:.0f} ms per message"
        if startup is not None:
            line += f" = {p50 / startup.python_email:.1f} x python -c 'import email'"
        yardstick = statistics.median(PIPE_BASELINES[label])
        line += f" (timed in turn with it: {yardstick * 1000:.0f} ms, {p50 / yardstick:.1f} x)"
        print(line)
    for database, share in BULK_PREPARE_SHARE.items():
        print(f"bulk on {database}: {share:.0%} of the time preparing, the rest writing")
    if startup is not None:
        print()
        print(startup_report(startup))
    print()
    print("durable commits (a commit per message, in-process loop):")
    for database, durable, relaxed in sync_cost:
        weaker = "synchronous=NORMAL" if database == "sqlite" else "synchronous_commit=off"
        print(
            f"  {database:<10} durable {durable:7.1f} msg/s, with {weaker} {relaxed:7.1f} msg/s"
            f" ({durable / relaxed - 1:+.0%})"
        )
    if growth:
        print()
        print(
            f"bulk path with tickets stored before the run (median of {GROWTH_ROUNDS} rounds, "
            "the sizes taking turns; the rounds' range):"
        )
        for database, rates in growth.items():
            base = statistics.median(rates[0])
            for before, runs in rates.items():
                rate = statistics.median(runs)
                print(
                    f"  {database:<10} {before:>7} tickets before: {rate:7.1f} msg/s "
                    f"({rate / base - 1:+.0%}; {min(runs):.0f}-{max(runs):.0f})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
