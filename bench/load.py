"""Many volunteers at once, while mail arrives: the desk as real processes on loopback.

    .venv/bin/python bench/load.py [--volunteers 50] [--mail-rate 50] [--seconds 60]
                                   [--tickets 20000] [--database sqlite|postgresql]
                                   [--setup multi|embedded|both] [--web-workers 4]

Two shapes of the same code, each on a fresh, bulk-seeded database
(:mod:`bench.seed_bulk`):

* ``multi``: gunicorn with ``--web-workers`` workers
  (``wikibridge.web.gunicorn_config``), two ``wikibridge worker`` processes and
  ``wikibridge mail lmtp``, on PostgreSQL (a throwaway database on
  127.0.0.1:5432) and a private Redis (``redis-server --port 6390 --save ''``,
  never the machine's shared one);
* ``embedded``: one ``wikibridge run`` process with its jobs in-process, on
  SQLite (``--database`` changes the database of both shapes).  It has no
  LMTP listener of its own in production; here a ``wikibridge mail lmtp`` on
  the same SQLite file takes the mail, since intake is part of the load.

Volunteers are threads with their own HTTP connection, logged in by a login
session written straight into the database (OAuth is not what is measured).
Each loops: the queue view (first page or a random one), the zoom of a random
open ticket, and now and then an answer (the form, then the POST), which a
worker mails to a local SMTP sink.  An LMTP client delivers new mail at
``--mail-rate`` messages a second.  Everything stops after ``--seconds``.
Printed per action: count, per second, p50/p95 ms, errors (5xx apart).
No timing is asserted.  The issue's target: queue view and zoom p95 under
100 ms at 50 volunteers and 50 msg/s on 1,000,000 tickets on 2 cores:

    .venv/bin/python bench/load.py --tickets 1000000 --database postgresql --setup multi
"""

from __future__ import annotations

import argparse
import contextlib
import email.policy
import os
import random
import secrets
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: the repository root is not on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from cryptography.fernet import Fernet

BIN = Path(sys.executable).parent
WIKIBRIDGE = str(BIN / "wikibridge")
# Through this interpreter: a venv copied from another checkout keeps that
# checkout's interpreter in its scripts' first line.
GUNICORN = [sys.executable, "-m", "gunicorn"]
REDIS_PORT = 6390
OPEN_STATES = ("new", "open", "pending reminder")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the SMTP sink the workers send answers to ---------------------------------------


class SmtpSink:
    """An SMTP server on loopback counting what it accepted per Message-ID.

    ``refuse`` makes it answer 451 to every message (the fault "the SMTP
    server refuses, then accepts").
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.counts: dict[str, int] = {}
        self.times: list[float] = []  # monotonic time of each accepted message
        self.refused = 0
        self.refuse = False
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """aiosmtpd hook: count the message, or refuse it for now."""
        if self.refuse:
            with self._lock:
                self.refused += 1
            return "451 4.3.0 try again later"
        head = BytesHeaderParser(policy=email.policy.default).parsebytes(envelope.content)
        msgid = str(head.get("Message-ID", "(none)")).strip()
        with self._lock:
            self.counts[msgid] = self.counts.get(msgid, 0) + 1
            self.times.append(time.monotonic())
        return "250 OK"

    def start(self) -> None:
        """Listen."""
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()


# --- the processes -----------------------------------------------------------------


@dataclass
class Setup:
    """A running desk: its URL, LMTP port, database and processes by role."""

    name: str
    url: str
    lmtp_port: int
    database_url: str
    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    def start(self, role: str) -> subprocess.Popen[bytes]:
        """(Re)start the process of ``role`` with its command, logging to the workdir."""
        log = (self.workdir / f"{role}.log").open("ab")
        proc = subprocess.Popen(
            self.commands[role],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[role] = proc
        return proc

    def stop(self) -> None:
        """Terminate every process (their groups), then kill what lingers."""
        for proc in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def wait_http(url: str, seconds: float = 60) -> None:
    """Until ``url`` answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def wait_port(port: int, seconds: float = 60) -> None:
    """Until something listens on ``port``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing listens on {port}")


class PrivateRedis:
    """A Redis for the bench alone, without persistence, that can be killed and restarted."""

    def __init__(self, workdir: Path, port: int = REDIS_PORT) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL for ``JOBS_URL``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it listens."""
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, 10)

    def kill(self) -> None:
        """kill -9: everything queued in it is gone, as after a crash without persistence."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _settings(database_url: str, smtp_port: int, workdir: Path) -> dict[str, str]:
    return {
        "WIKIBRIDGE_DATABASE_URL": database_url,
        "WIKIBRIDGE_INSTANCE_PATH": str(workdir / "instance"),
        "WIKIBRIDGE_SECRET_KEY": secrets.token_hex(16),
        "WIKIBRIDGE_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WIKIBRIDGE_SMTP_HOST": "127.0.0.1",
        "WIKIBRIDGE_SMTP_PORT": str(smtp_port),
        "WIKIBRIDGE_SMTP_TIMEOUT": "10",
        # Quick retries, so a refusing server's backlog clears within the run.
        "WIKIBRIDGE_SMTP_RETRY_SECONDS": "2",
        "WIKIBRIDGE_SMTP_RETRY_MAX_SECONDS": "5",
        "WIKIBRIDGE_SMTP_MAX_ATTEMPTS": "20",
        "WIKIBRIDGE_JOBS_NAME": f"bench-{secrets.token_hex(4)}",
        "WIKIBRIDGE_CONFIG": str(workdir / "none.cfg"),
        "PYTHONUNBUFFERED": "1",
    }


def start_setup(
    kind: str,
    workdir: Path,
    database_url: str,
    smtp_port: int,
    *,
    redis_url: str | None = None,
    web_workers: int = 4,
    extra_env: dict[str, str] | None = None,
) -> Setup:
    """Start ``multi`` (gunicorn, 2 workers, LMTP) or ``embedded`` (one process + LMTP).

    ``extra_env`` is added to every process's settings (the wikis to edit, say).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**_settings(database_url, smtp_port, workdir), **(extra_env or {})}
    port, lmtp_port = free_port(), free_port()
    setup = Setup(kind, f"http://127.0.0.1:{port}", lmtp_port, database_url, env, workdir)
    lmtp = [WIKIBRIDGE, "mail", "lmtp", "--listen", f"127.0.0.1:{lmtp_port}"]
    if kind == "multi":
        metrics = workdir / "metrics"
        metrics.mkdir(exist_ok=True)
        env.update(
            WIKIBRIDGE_JOBS_URL=redis_url or f"redis://127.0.0.1:{REDIS_PORT}/0",
            WIKIBRIDGE_WORKER_IN_PROCESS="false",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
        )
        setup.commands = {
            "web": [
                *GUNICORN,
                "--config",
                "python:wikibridge.web.gunicorn_config",
                "--workers",
                str(web_workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                "wikibridge:create_app()",
            ],
            "worker1": [WIKIBRIDGE, "worker", "--threads", "2"],
            "worker2": [WIKIBRIDGE, "worker", "--threads", "2"],
            "lmtp": lmtp,
        }
    else:
        env.update(WIKIBRIDGE_WORKER_IN_PROCESS="true")
        setup.commands = {
            "web": [
                WIKIBRIDGE,
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-reload",
                "--with-threads",
            ],
            "lmtp": lmtp,
        }
    for role in setup.commands:
        setup.start(role)
    wait_http(f"{setup.url}/healthz")
    wait_port(lmtp_port)
    return setup


# --- volunteers ---------------------------------------------------------------------


def login_cookies(setup: Setup, count: int) -> list[dict[str, str]]:
    """``count`` administrators' login sessions, as the cookies a browser would send."""
    import datetime as dt

    from tickets.access import volunteer_named
    from wikibridge import create_app, sessions
    from wikibridge.crypto import TokenBox
    from wikibridge.db import new_session

    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = setup.env["WIKIBRIDGE_INSTANCE_PATH"]
    app = create_app(
        {
            "DATABASE_URL": setup.database_url,
            "JOBS_URL": "memory",
            "SECRET_KEY": setup.env["WIKIBRIDGE_SECRET_KEY"],
            "TOKEN_ENCRYPTION_KEY": setup.env["WIKIBRIDGE_TOKEN_ENCRYPTION_KEY"],
        }
    )
    box = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"])
    signer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    cookies = []
    with new_session(app) as db:
        for i in range(count):
            volunteer = volunteer_named(db, f"LoadVolunteer{i}")
            volunteer.role = "admin"
            token, row = sessions.start(db, dt.timedelta(hours=4))
            row.volunteer_id = volunteer.id
            row.username = volunteer.username
            row.credentials = box.seal({"version": "1", "key": "k", "secret": "s"})
            cookies.append({"session": signer.dumps({"sid": token, "csrf": "load-csrf"})})
        db.commit()
    app.extensions["db_engine"].dispose()
    return cookies


def open_tickets(database_url: str, limit: int = 200_000) -> list[str]:
    """Numbers of open tickets to zoom into and answer."""
    from sqlalchemy import create_engine, select

    from tickets.models import Ticket

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.scalars(
            select(Ticket.number).where(Ticket.state.in_(OPEN_STATES)).limit(limit)
        ).all()
    engine.dispose()
    return list(rows)


@dataclass
class Sample:
    """One action's outcome."""

    action: str
    at: float
    ms: float
    status: int  # 0: no answer (connection refused, reset, timeout)


class Recorder:
    """Every action's outcome, plus what is in flight right now."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.in_flight: dict[str, int] = {}
        self.answers: list[tuple[float, str]] = []  # (time, ticket) of answers accepted
        self.unloaded: list[Sample] = []  # the same requests, one at a time, before the load
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def flying(self, what: str) -> Iterator[None]:
        """Count ``what`` as in flight while the block runs."""
        with self._lock:
            self.in_flight[what] = self.in_flight.get(what, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight[what] -= 1

    def add(self, sample: Sample) -> None:
        """Keep one outcome."""
        with self._lock:
            self.samples.append(sample)


ANSWER_SHARE = 0.1


def volunteer(
    base: str,
    cookie: dict[str, str],
    numbers: list[str],
    pages: int,
    until: float,
    stop: threading.Event,
    rec: Recorder,
    seed: int,
    think: float = 0.0,
) -> None:
    """One volunteer's loop until ``until``: queue, zoom, sometimes answer.

    ``think``: mean seconds a volunteer reads between two requests (0: none,
    every volunteer always has a request open, the heaviest load).
    """
    rng = random.Random(seed)
    http = requests.Session()
    http.cookies.update(cookie)

    def act(action: str, method: str, path: str, **kw: Any) -> requests.Response | None:
        if think:
            # Reading ends with the run: a request due after ``until`` is not made,
            # so every rate below is over the same window of ``seconds``.
            stop.wait(min(rng.uniform(0, 2 * think), max(0.0, until - time.monotonic())))
        if time.monotonic() >= until or stop.is_set():
            return None
        began = time.perf_counter()
        response = None
        with rec.flying("http"):
            try:
                response = http.request(
                    method, base + path, timeout=30, allow_redirects=False, **kw
                )
            except requests.RequestException:
                response = None
        ms = (time.perf_counter() - began) * 1000
        # Not ``if response``: a Response is falsy for 4xx and 5xx, which would
        # count every error page as "no answer" and hide the 5xx.
        status = response.status_code if response is not None else 0
        rec.add(Sample(action, time.monotonic(), ms, status))
        return response

    while time.monotonic() < until and not stop.is_set():
        if rng.random() < 0.5:
            act("queue view", "GET", "/queues")
        else:
            act("queue view", "GET", f"/queues?page={rng.randint(1, pages)}")
        number = rng.choice(numbers)
        act("zoom", "GET", f"/tickets/{number}")
        if rng.random() < ANSWER_SHARE:
            act("answer form", "GET", f"/tickets/{number}/answer")
            data = {
                "csrf_token": "load-csrf",
                "to": "customer@example.org",
                "cc": "",
                "subject": "",
                "body": "Thank you, the permission is recorded.",
                "next_state": "",
            }
            response = act("answer", "POST", f"/tickets/{number}/answer", data=data)
            if response is not None and response.status_code == 302:
                with rec._lock:
                    rec.answers.append((time.monotonic(), number))


# --- mail arriving over LMTP --------------------------------------------------------


@dataclass
class MailLog:
    """What the LMTP client delivered (250) and what it had to retry."""

    delivered: dict[str, float] = field(default_factory=dict)  # Message-ID -> time of 250
    first_tried: dict[str, float] = field(default_factory=dict)  # Message-ID -> first offer
    retries: int = 0
    gave_up: list[str] = field(default_factory=list)


def mail_message(msgid: str, n: int) -> bytes:
    """A small permission mail."""
    msg = EmailMessage()
    msg["From"] = f"Sender {n} <sender{n}@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = f"Permission for my photo {n}"
    msg["Message-ID"] = msgid
    msg.set_content(f"I am the photographer of file {n} and release it under CC BY-SA 4.0.\n")
    return msg.as_bytes()


def deliver_once(port: int, raw: bytes) -> bool:
    """One LMTP transaction; True when the desk answered 250."""
    try:
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
            refused = client.sendmail("sender@example.net", ["permissions@wikimedia.org"], raw)
            return not refused
    except (smtplib.SMTPException, OSError):
        return False


def mail_feeder(
    port: int, rate: float, until: float, stop: threading.Event, rec: Recorder, log: MailLog
) -> None:
    """Deliver ``rate`` messages a second until ``until`` (on 4 connections at once).

    A message not answered 250 is offered again, as an MTA would, until it is
    (or until 60 s after the end).
    """
    lock = threading.Lock()
    pending: list[tuple[str, bytes]] = []
    counter = [0]
    interval = 1.0 / rate if rate > 0 else 0.0

    def next_message() -> tuple[str, bytes] | None:
        with lock:
            if pending:
                return pending.pop(0)
            if time.monotonic() >= until or stop.is_set():
                return None
            counter[0] += 1
            n = counter[0]
        msgid = f"<load-{n}-{secrets.token_hex(4)}@example.net>"
        return msgid, mail_message(msgid, n)

    start = time.monotonic()

    def sender() -> None:
        while True:
            item = next_message()
            if item is None:
                if time.monotonic() > until + 60 or not pending:
                    return
                time.sleep(0.2)
                continue
            msgid, raw = item
            with lock:
                log.first_tried.setdefault(msgid, time.monotonic())
            began = time.perf_counter()
            with rec.flying("lmtp"):
                ok = deliver_once(port, raw)
            ms = (time.perf_counter() - began) * 1000
            rec.add(Sample("mail in (LMTP)", time.monotonic(), ms, 250 if ok else 451))
            if ok:
                with lock:
                    log.delivered[msgid] = time.monotonic()
            else:
                with lock:
                    log.retries += 1
                    if time.monotonic() > until + 60:
                        log.gave_up.append(msgid)
                    else:
                        pending.append((msgid, raw))
                time.sleep(0.5)
            # Keep the rate: the n-th new message leaves no earlier than start + n/rate.
            with lock:
                due = start + counter[0] * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- running and reporting ----------------------------------------------------------


@dataclass
class Result:
    """One setup's run."""

    name: str
    seconds: float
    samples: list[Sample]
    mail: MailLog
    answers: list[tuple[float, str]]


def run_load(
    setup: Setup,
    volunteers: int,
    rate: float,
    seconds: float,
    *,
    stop: threading.Event | None = None,
    rec: Recorder | None = None,
    mail: MailLog | None = None,
    think: float = 0.0,
) -> Result:
    """Run the volunteers and the mail for ``seconds``; return what they saw."""
    stop = stop or threading.Event()
    rec = rec or Recorder()
    mail = mail or MailLog()
    numbers = open_tickets(setup.database_url)
    pages = max(1, len(numbers) // 25)
    cookies = login_cookies(setup, volunteers)
    warm_up(setup.url, cookies[0], numbers[0])
    unloaded(setup.url, cookies[0], numbers, rec)
    began = time.monotonic()
    until = began + seconds
    threads = [
        threading.Thread(
            target=volunteer,
            args=(setup.url, cookies[i], numbers, pages, until, stop, rec, i, think),
            daemon=True,
        )
        for i in range(volunteers)
    ]
    threads.append(
        threading.Thread(
            target=mail_feeder, args=(setup.lmtp_port, rate, until, stop, rec, mail), daemon=True
        )
    )
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Rates are over the load's window; retries of mail after it are still counted.
    return Result(setup.name, seconds, rec.samples + rec.unloaded, mail, rec.answers)


def warm_up(base: str, cookie: dict[str, str], number: str, rounds: int = 4) -> None:
    """Let every web process load its templates and connections before timing starts."""

    def one() -> None:
        http = requests.Session()
        http.cookies.update(cookie)
        for path in ("/queues", f"/tickets/{number}", f"/tickets/{number}/answer"):
            with contextlib.suppress(requests.RequestException):
                http.get(base + path, timeout=30)

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def unloaded(
    base: str, cookie: dict[str, str], numbers: list[str], rec: Recorder, n: int = 20
) -> None:
    """One volunteer alone, before the load: each request's own cost, without queueing."""
    http = requests.Session()
    http.cookies.update(cookie)
    for i in range(n):
        for action, path in (
            ("queue view, alone", "/queues"),
            ("zoom, alone", f"/tickets/{numbers[i % len(numbers)]}"),
        ):
            began = time.perf_counter()
            response = http.get(base + path, timeout=30)
            ms = (time.perf_counter() - began) * 1000
            status = 200 if response.status_code == 200 else response.status_code
            rec.unloaded.append(Sample(action, time.monotonic(), ms, status))


def percentile(values: list[float], share: float) -> float:
    """The value ``share`` of the way up the sorted list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ok(sample: Sample) -> bool:
    """Whether the action did what it should: a page (200), an answer stored (302), mail (250)."""
    wanted = {"answer": 302, "mail in (LMTP)": 250}.get(sample.action, 200)
    return sample.status == wanted


ACTIONS = [
    "queue view, alone",
    "zoom, alone",
    "queue view",
    "zoom",
    "answer form",
    "answer",
    "mail in (LMTP)",
]


def summary(result: Result) -> dict[str, dict[str, float]]:
    """Per action: count, per second, p50, p95, errors, 5xx."""
    out: dict[str, dict[str, float]] = {}
    for action in ACTIONS:
        mine = [s for s in result.samples if s.action == action]
        if not mine:
            continue
        good = [s.ms for s in mine if ok(s)]
        out[action] = {
            "count": len(mine),
            # The requests made alone, before the load, have no rate of their own.
            "per_s": float("nan") if action.endswith("alone") else len(mine) / result.seconds,
            "p50": statistics.median(good) if good else float("nan"),
            "p95": percentile(good, 0.95) if good else float("nan"),
            "errors": sum(1 for s in mine if not ok(s)),
            "5xx": sum(1 for s in mine if 500 <= s.status < 600),
        }
    return out


def table(title: str, stats: dict[str, dict[str, float]]) -> str:
    """A Markdown table of one run."""
    lines = [
        f"### {title}",
        "",
        "| action | count | per s | p50 ms | p95 ms | errors | of them 5xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for action, s in stats.items():
        per_s = "–" if s["per_s"] != s["per_s"] else f"{s['per_s']:.1f}"  # NaN: not a rate
        lines.append(
            f"| {action} | {int(s['count'])} | {per_s} | {s['p50']:.1f} | "
            f"{s['p95']:.1f} | {int(s['errors'])} | {int(s['5xx'])} |"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """A new, empty database URL (PostgreSQL: a throwaway database, dropped afterwards)."""
    from bench.workspace import fresh_database as workspace_database

    with workspace_database(kind, workdir) as url:
        yield url


def bench_one(
    kind: str, args: argparse.Namespace, workdir: Path, sink: SmtpSink
) -> dict[str, dict[str, float]]:
    """Seed, start, load and stop one setup; print and return its figures."""
    from bench.seed_bulk import seed

    database = args.database or ("postgresql" if kind == "multi" else "sqlite")
    redis: PrivateRedis | None = None
    with fresh_database(database, workdir) as url:
        seeded = seed(url, args.tickets)
        print(
            f"{kind}: {database}, {seeded.tickets} tickets seeded in {seeded.seconds:.0f} s",
            flush=True,
        )
        if kind == "multi":
            redis = PrivateRedis(workdir, args.redis_port)
            redis.start()
        setup = start_setup(
            kind,
            workdir / kind,
            url,
            sink.port,
            redis_url=redis.url if redis else None,
            web_workers=args.web_workers,
        )
        mailed_before = sum(sink.counts.values())
        try:
            result = run_load(
                setup, args.volunteers, args.mail_rate, args.seconds, think=args.think
            )
            # Answers accepted in the last seconds are still with the job
            # workers: let them go out before the desk stops (outside the timing).
            deadline = time.monotonic() + 30
            while (
                sum(sink.counts.values()) - mailed_before < len(result.answers)
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
        finally:
            setup.stop()
            if redis is not None:
                redis.kill()
    stats = summary(result)
    shape = (
        f"gunicorn {args.web_workers} workers + 2 job workers + LMTP, Redis"
        if kind == "multi"
        else "one `wikibridge run` process (jobs in-process) + LMTP"
    )
    print(
        table(
            f"{kind}: {shape}, {database}, {args.tickets} tickets, {args.volunteers} "
            f"volunteers (think {args.think:g} s), {args.mail_rate} msg/s offered, "
            f"{result.seconds:.0f} s",
            stats,
        ),
        flush=True,
    )
    print(
        f"mail: {len(result.mail.delivered)} delivered (250), {result.mail.retries} retried, "
        f"{len(result.mail.gave_up)} given up; answers accepted: {len(result.answers)}",
        flush=True,
    )
    return stats


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the chosen setups."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=50)
    parser.add_argument("--mail-rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default=None,
        help="default: PostgreSQL for multi, SQLite for embedded",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds between a volunteer's requests (default 0: back to back)",
    )
    parser.add_argument("--setup", choices=["multi", "embedded", "both"], default="both")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--redis-port", type=int, default=REDIS_PORT)
    args = parser.parse_args(argv)
    kinds = ["multi", "embedded"] if args.setup == "both" else [args.setup]
    sink = SmtpSink()
    sink.start()
    results = {}
    try:
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix=f"wb-load-{kind}-") as tmp:
                results[kind] = bench_one(kind, args, Path(tmp), sink)
    finally:
        sink.stop()
    print(f"answers mailed to the sink: {sum(sink.counts.values())}", flush=True)
    if len(results) == 2:
        multi, embedded = results["multi"], results["embedded"]
        parts = []
        for action in ("queue view", "zoom", "answer", "mail in (LMTP)"):
            if action in multi and action in embedded:
                parts.append(
                    f"{action} {multi[action]['per_s'] / max(embedded[action]['per_s'], 1e-9):.2f}×"
                    f" per s, p95 {multi[action]['p95'] / max(embedded[action]['p95'], 1e-9):.2f}×"
                )
        print("ratio multi/embedded: " + "; ".join(parts), flush=True)


if __name__ == "__main__":
    main()
