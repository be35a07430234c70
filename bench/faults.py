"""Faults under load: break one part of the running desk at a time, then count.

    .venv/bin/python bench/faults.py [--volunteers 10] [--mail-rate 10] [--tickets 2000]
                                     [--quick]

Starts the multi-process desk of :mod:`bench.load` (gunicorn, two job
workers, the LMTP listener, PostgreSQL, a private Redis on port 6390) with
its load running, and injects one fault after another, a few seconds apart:

* kill -9 of a gunicorn web worker (gunicorn starts another);
* kill -9 of a job worker process while answers are being sent (restarted
  at once, as systemd's ``Restart=always`` would);
* kill -9 of the LMTP listener while deliveries are open (restarted at once);
* PostgreSQL going away: every backend of the bench's database terminated
  with ``pg_terminate_backend`` (PostgreSQL is shared by everything on this
  machine, so the service itself is not restarted: the clients see the same
  broken connections a restart gives them);
* Redis going away (kill -9 of the private one) and coming back 5 s later;
* the SMTP server refusing (451) for 8 s, then accepting.

A wiki timing out is not provoked here (the load makes no wiki edits: the
sandbox wikis take minutes to build); ``tests/integration`` covers it.

Afterwards, with the load stopped and the answers drained, it checks through
the database: every message the LMTP client sent is stored exactly once (the
client offers a message again until it gets 250, as an MTA does); every
answer the volunteers stored reached the SMTP sink exactly once (or was held
as "failed" for a volunteer to check when a worker died mid-send, never
guessed again); no wiki batch is left running; and how many 5xx pages the
volunteers saw.  Each problem is counted against the fault active when its
message or answer was first tried.  ``--quick`` runs the embedded desk with
one cheap fault (the LMTP listener killed), for the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import create_engine, func, select, text

from bench.load import (
    MailLog,
    PrivateRedis,
    Recorder,
    Setup,
    SmtpSink,
    fresh_database,
    ok,
    run_load,
    start_setup,
)


@dataclass
class Fault:
    """One injected fault and what was seen around it."""

    name: str
    began: float = 0.0
    ended: float = 0.0
    in_flight: str = ""
    recovered: float | None = None
    note: str = ""


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(x) for x in out.split()]


def answers_in_flight(url: str) -> int:
    """Answers stored but not yet handed to the SMTP server."""
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(
            text("SELECT count(*) FROM article WHERE send_status IN ('pending', 'sending')")
        )
    engine.dispose()
    return int(n or 0)


def snapshot(rec: Recorder, url: str) -> str:
    """What is in flight now, in words."""
    return (
        f"{rec.in_flight.get('http', 0)} requests, {rec.in_flight.get('lmtp', 0)} deliveries, "
        f"{answers_in_flight(url)} answers unsent"
    )


def first_success_after(rec: Recorder, actions: set[str], t0: float, wait: float) -> float | None:
    """Seconds from ``t0`` to the first good outcome of every one of ``actions``."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        latest = 0.0
        for action in actions:
            times = [s.at for s in list(rec.samples) if s.action == action and s.at > t0 and ok(s)]
            if not times:
                break
            latest = max(latest, min(times))
        else:
            return latest - t0
        time.sleep(0.2)
    return None


def sink_receipt_after(sink: SmtpSink, t0: float, wait: float) -> float | None:
    """Seconds from ``t0`` to the first answer the SMTP sink accepted after it."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        later = [t for t in list(sink.times) if t > t0]
        if later:
            return min(later) - t0
        time.sleep(0.2)
    return None


def wait_for_lmtp_in_flight(rec: Recorder, seconds: float = 5) -> None:
    """Until a delivery is open (so the kill lands mid-delivery), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and rec.in_flight.get("lmtp", 0) == 0:
        time.sleep(0.005)


def inject_all(
    setup: Setup,
    rec: Recorder,
    sink: SmtpSink,
    redis: PrivateRedis | None,
    quick: bool,
) -> list[Fault]:
    """Inject the faults one after another; return what was seen."""
    faults: list[Fault] = []
    url = setup.database_url

    def run(name: str, inject: Callable[[Fault], float | None], settle: float = 4) -> None:
        fault = Fault(name)
        fault.in_flight = snapshot(rec, url)
        fault.began = time.monotonic()
        try:
            fault.recovered = inject(fault)
        except Exception as exc:  # noqa: BLE001 - a fault that could not be injected is reported
            fault.note = f"could not inject: {exc}"
        fault.ended = time.monotonic()
        faults.append(fault)
        print(f"  {name}: recovered in {fault.recovered} s {fault.note}", flush=True)
        time.sleep(settle)

    def kill_lmtp(fault: Fault) -> float | None:
        wait_for_lmtp_in_flight(rec)
        fault.in_flight = snapshot(rec, url)
        t0 = time.monotonic()
        os.killpg(setup.processes["lmtp"].pid, signal.SIGKILL)
        setup.processes["lmtp"].wait()
        setup.start("lmtp")
        return first_success_after(rec, {"mail in (LMTP)"}, t0, 60)

    # The volunteers log in and warm up first: the faults hit a desk under load.
    deadline = time.monotonic() + 120
    while not rec.samples and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    if quick:
        run("kill -9 LMTP listener mid-delivery", kill_lmtp)
        return faults

    def kill_web_worker(fault: Fault) -> float | None:
        master = setup.processes["web"].pid
        before = children(master)
        t0 = time.monotonic()
        os.kill(before[0], signal.SIGKILL)
        deadline = t0 + 60
        while time.monotonic() < deadline:
            now = children(master)
            if len(now) >= len(before) and before[0] not in now:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{setup.url}/healthz", timeout=5).status_code == 200:
                        return time.monotonic() - t0
            time.sleep(0.1)
        return None

    def kill_job_worker(fault: Fault) -> float | None:
        fault.note = "mid-send of answers (no wiki batches in this load)"
        t0 = time.monotonic()
        os.killpg(setup.processes["worker1"].pid, signal.SIGKILL)
        setup.processes["worker1"].wait()
        setup.start("worker1")
        return sink_receipt_after(sink, t0, 90)

    def postgres_away(fault: Fault) -> float | None:
        fault.note = "simulated: pg_terminate_backend of the bench database's backends"
        name = url.rsplit("/", 1)[1]
        admin = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
        )
        t0 = time.monotonic()
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
        admin.dispose()
        return first_success_after(rec, {"queue view", "zoom", "mail in (LMTP)"}, t0, 60)

    def redis_away(fault: Fault) -> float | None:
        assert redis is not None
        t0 = time.monotonic()
        redis.kill()
        time.sleep(5)
        redis.start()
        return sink_receipt_after(sink, t0, 120)

    def smtp_refusing(fault: Fault) -> float | None:
        t0 = time.monotonic()
        sink.refuse = True
        time.sleep(8)
        sink.refuse = False
        return sink_receipt_after(sink, t0, 90)

    run("kill -9 a gunicorn web worker", kill_web_worker)
    run("kill -9 a job worker mid-send", kill_job_worker)
    run("kill -9 LMTP listener mid-delivery", kill_lmtp)
    if url.startswith("postgresql"):
        run("PostgreSQL connections cut", postgres_away)
    if redis is not None:
        run("Redis away 5 s, back empty", redis_away)
    run("SMTP server refusing 8 s (451)", smtp_refusing)
    return faults


@dataclass
class Tally:
    """Lost and doubled against one fault."""

    lost: int = 0
    doubled: int = 0
    held: int = 0
    waiting: int = 0
    five_xx: int = 0


def drain(url: str, seconds: float) -> int:
    """Wait until no answer is pending or sending (at most ``seconds``); return those left."""
    deadline = time.monotonic() + seconds
    left = answers_in_flight(url)
    while left and time.monotonic() < deadline:
        time.sleep(1)
        left = answers_in_flight(url)
    return left


def check(
    url: str,
    faults: list[Fault],
    rec: Recorder,
    mail: MailLog,
    sink: SmtpSink,
    first_answer_id: int,
) -> tuple[dict[str, Tally], dict[str, int]]:
    """Count lost and doubled mail and answers, per fault window, through the database."""
    from tickets.models import Article, WikiBatch

    offset = time.time() - time.monotonic()

    def window(at: float) -> str:
        name = "(between faults)"
        for fault in faults:
            if at >= fault.began - 0.5:
                name = fault.name
        return name

    tallies: dict[str, Tally] = {f.name: Tally() for f in faults}
    tallies["(between faults)"] = Tally()
    engine = create_engine(url)
    totals = {"mail": 0, "answers": 0, "held": 0, "unsent": 0}
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(Article.message_id, func.count())
                .where(Article.message_id.like("<load-%"))
                .group_by(Article.message_id)
            ).all()
        )
        for msgid, tried in mail.first_tried.items():
            n = stored.get(msgid, 0)
            totals["mail"] += 1
            if n == 0:
                tallies[window(tried)].lost += 1
            elif n > 1:
                tallies[window(tried)].doubled += 1
        answers = conn.execute(
            select(Article.message_id, Article.send_status, Article.created_at)
            .where(Article.id >= first_answer_id, Article.sender_type == "agent")
            # Answers on Training tickets are stored as practice and never mailed.
            .where(Article.send_status != "practice")
        ).all()
        for answer_msgid, status, created in answers:
            totals["answers"] += 1
            created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
            at = created.timestamp() - offset
            n = sink.counts.get(answer_msgid or "", 0)
            if n > 1:
                tallies[window(at)].doubled += 1
            elif n == 0 and status == "failed":
                tallies[window(at)].held += 1
                totals["held"] += 1
            elif n == 0:
                # Stored and pending: the sweep sends it (its job was lost, or retries later).
                tallies[window(at)].waiting += 1
                totals["unsent"] += 1
        # Accepted by the web (302) but not stored at all.
        practice = conn.scalar(
            select(func.count())
            .select_from(Article)
            .where(Article.id >= first_answer_id, Article.send_status == "practice")
        )
        missing = max(0, len(rec.answers) - len(answers) - int(practice or 0))
        totals["answers_missing"] = missing
        batches = conn.scalar(
            select(func.count()).select_from(WikiBatch).where(WikiBatch.status == "running")
        )
        totals["batches_running"] = int(batches or 0)
    engine.dispose()
    for sample in rec.samples:
        if 500 <= sample.status < 600:
            tallies[window(sample.at)].five_xx += 1
    return tallies, totals


def main(argv: list[str] | None = None) -> None:
    """Run the load, inject the faults, check and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=10)
    parser.add_argument("--mail-rate", type=float, default=10)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument(
        "--drain", type=float, default=150, help="seconds to wait for answers still unsent"
    )
    parser.add_argument("--logs", help="copy the processes' logs into this folder")
    parser.add_argument("--quick", action="store_true", help="embedded desk, one cheap fault")
    args = parser.parse_args(argv)
    if args.quick:
        args.volunteers, args.mail_rate, args.tickets = 2, 5, min(args.tickets, 200)
    kind = "embedded" if args.quick else "multi"
    database = "sqlite" if args.quick else "postgresql"
    sink = SmtpSink()
    sink.start()
    with (
        tempfile.TemporaryDirectory(prefix="wb-faults-") as tmp,
        fresh_database(database, Path(tmp)) as url,
    ):
        from bench.seed_bulk import seed

        seed(url, args.tickets)
        redis = None
        if kind == "multi":
            redis = PrivateRedis(Path(tmp), args.redis_port)
            redis.start()
        setup = start_setup(
            kind,
            Path(tmp) / kind,
            url,
            sink.port,
            redis_url=redis.url if redis else None,
            web_workers=2,
        )
        engine = create_engine(url)
        with engine.connect() as conn:
            first_answer_id = int(conn.scalar(text("SELECT max(id) FROM article")) or 0) + 1
        engine.dispose()
        stop = threading.Event()
        rec, mail = Recorder(), MailLog()
        loader = threading.Thread(
            target=run_load,
            args=(setup, args.volunteers, args.mail_rate, 3600),
            kwargs={"stop": stop, "rec": rec, "mail": mail},
            daemon=True,
        )
        try:
            print(
                f"faults: {kind} desk on {database}, {args.tickets} tickets, "
                f"{args.volunteers} volunteers, {args.mail_rate} msg/s",
                flush=True,
            )
            loader.start()
            faults = inject_all(setup, rec, sink, redis, args.quick)
            time.sleep(2)
            stop.set()
            loader.join(120)
            unsent = drain(url, 20 if args.quick else args.drain)
            tallies, totals = check(url, faults, rec, mail, sink, first_answer_id)
        finally:
            if args.logs:
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                for log in (Path(tmp) / kind).glob("*.log"):
                    shutil.copy(log, Path(args.logs) / log.name)
            setup.stop()
            if redis is not None:
                redis.kill()
            sink.stop()
    print()
    print(
        "| fault | in flight | lost | doubled | recovered in s | 5xx seen "
        "| answers still pending after the drain | note |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for fault in faults:
        t = tallies[fault.name]
        rec_s = f"{fault.recovered:.1f}" if fault.recovered is not None else "not within the wait"
        note = fault.note
        if t.held:
            note = f"{note}; {t.held} answer(s) held as failed for a volunteer to check".lstrip(
                "; "
            )
        print(
            f"| {fault.name} | {fault.in_flight} | {t.lost} | {t.doubled} | {rec_s} | "
            f"{t.five_xx} | {t.waiting} | {note} |"
        )
    print(
        "| wiki timing out | – | – | – | – | – | – | skipped: the load makes no wiki edits "
        "(the sandbox wikis are not started by this bench) |"
    )
    between = tallies["(between faults)"]
    print()
    print(
        f"checked: {totals['mail']} messages offered over LMTP ({len(mail.delivered)} got 250, "
        f"{mail.retries} retries, {len(mail.gave_up)} given up); {totals['answers']} answers "
        f"stored ({totals['answers_missing']} accepted but not stored), "
        f"{sum(sink.counts.values())} mailed, {totals['held']} held as failed, "
        f"{unsent} still unsent after the drain; "
        f"wiki batches left running: {totals['batches_running']}; before the first fault: "
        f"{between.lost} lost, {between.doubled} doubled, {between.five_xx} 5xx",
        flush=True,
    )


if __name__ == "__main__":
    main()
