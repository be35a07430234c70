"""Faults under load: break one part of the running desk at a time, then count.

    .venv/bin/python bench/faults.py [--volunteers 10] [--mail-rate 10] [--tickets 2000]
                                     [--sandbox-dir DIR] [--port-base P] [--wiki-pages 60]
                                     [--wiki-stall 50] [--wiki-lease 20] [--no-wiki]
                                     [--postgres-down 3] [--no-postgres-restart] [--quick]

Starts the multi-process desk of :mod:`bench.load` (gunicorn, two job
workers, the LMTP listener, PostgreSQL, a private Redis on port 6390) with
its load running, its workers editing the sandbox Commons as the bot
(:mod:`bench.fault_wiki`), and injects one fault after another, a few
seconds apart:

* kill -9 of a gunicorn web worker (gunicorn starts another);
* kill -9 of a job worker process while answers are being sent (restarted
  at once, as systemd's ``Restart=always`` would);
* kill -9 of the LMTP listener while deliveries are open (restarted at once);
* a real PostgreSQL restart: the machine's cluster on the database's port
  stopped with ``pg_ctlcluster`` (fast shutdown: every connection cut),
  ``--postgres-down`` seconds down, started again (:mod:`bench.services`;
  where no cluster can be driven, or with ``--no-postgres-restart``, every
  backend of the bench database is terminated instead);
* Redis going away (kill -9 of the private one) and coming back 5 s later;
* the SMTP server refusing (451) for 8 s, then accepting;
* kill -9 of the job worker running a tagging batch of ``--wiki-pages``
  pages, mid-batch; it is started again, the batch's lease
  (``--wiki-lease`` seconds) runs out and a worker resumes it;
* a wiki timing out: the sandbox Commons' ``php -S`` frozen (SIGSTOP of its
  process group) for ``--wiki-stall`` seconds while a tagging batch runs,
  longer than pywikibot's 45 s read timeout, then thawed.

PostgreSQL and the frozen wiki are always brought back, also when the bench
fails or is interrupted (and by a watcher process should it be killed).

Afterwards, with the load stopped and the answers drained, it checks through
the database: every message the LMTP client sent is stored exactly once (the
client offers a message again until it gets 250, as an MTA does); every
answer the volunteers stored reached the SMTP sink exactly once (or was held
as "failed" for a volunteer to check when a worker died mid-send, never
guessed again); each tagging batch finished or is resumable, each of its
pages edited once on the wiki (its api.php) and once in the ticket's history;
no wiki batch is left running; and how many 5xx pages the volunteers saw, and
how many of them were 503s ("try again") rather than 500s.  Each problem is
counted against the fault active when its message or answer was first tried.
``--quick`` runs the embedded desk with one cheap fault (the LMTP listener
killed), for the test suite: no wiki, no PostgreSQL.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import create_engine, func, select, text

from bench import fault_wiki, services
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
from bench.tagging import DEFAULT_DIR

#: The faults, in the order they are injected (``--only`` names some of them).
FAULTS = ("web", "job", "lmtp", "postgres", "redis", "smtp", "wiki-kill", "wiki-stall")
#: File prefixes on the sandbox Commons, one set per wiki fault.
KILL_FILES = "Faults bench worker killed"
STALL_FILES = "Faults bench wiki stalled"
PG_FILES = "Faults bench postgres restarted"
#: The faults that run a tagging batch, and the files each tags.
WIKI_FILES = {"postgres": PG_FILES, "wiki-kill": KILL_FILES, "wiki-stall": STALL_FILES}


@dataclass
class Fault:
    """One injected fault and what was seen around it."""

    name: str
    began: float = 0.0
    ended: float = 0.0
    in_flight: str = ""
    recovered: float | None = None
    note: str = ""
    batch: tuple[int, str] | None = None  # the tagging batch it ran under: (id, ticket)


@dataclass
class Broken:
    """What the bench has broken and must mend whatever happens: PostgreSQL, a frozen wiki."""

    cluster: services.Cluster | None = None
    frozen: int | None = None  # the process group stopped with SIGSTOP

    def mend(self) -> list[str]:
        """Thaw the wiki, make sure PostgreSQL runs; say what was done."""
        said = []
        if self.frozen is not None:
            services.thaw(self.frozen)
            said.append(f"wiki server {self.frozen} thawed")
            self.frozen = None
        if self.cluster is not None:
            try:
                said.append(services.ensure_running(self.cluster))
            except Exception as exc:  # noqa: BLE001 - said loudly, the caller goes on mending
                said.append(f"PostgreSQL {self.cluster.label} NOT running: {exc}")
        return said


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
    # Counted before the query below, which takes longer than a delivery.
    flying = f"{rec.in_flight.get('http', 0)} requests, {rec.in_flight.get('lmtp', 0)} deliveries"
    try:
        unsent = f"{answers_in_flight(url)} answers unsent"
    except Exception:  # noqa: BLE001 - the database may be the thing that is away
        unsent = "answers unsent unknown"
    return f"{flying}, {unsent}"


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
    args: argparse.Namespace,
    broken: Broken,
    wiki: fault_wiki.WikiSide | None,
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
            fault.note = f"{fault.note}; could not inject: {exc}".lstrip("; ")
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
    if args.quick:
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
        fault.note = "mid-send of answers"
        t0 = time.monotonic()
        os.killpg(setup.processes["worker1"].pid, signal.SIGKILL)
        setup.processes["worker1"].wait()
        setup.start("worker1")
        return sink_receipt_after(sink, t0, 90)

    web_and_mail = {"queue view", "zoom", "mail in (LMTP)"}

    def postgres_cut(fault: Fault) -> float | None:
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
        return first_success_after(rec, web_and_mail, t0, 60)

    def postgres_restart(fault: Fault) -> float | None:
        cluster = broken.cluster
        assert cluster is not None
        batch_id = None
        if wiki is not None:
            # The workers busy too: a tagging batch runs while the server goes away.
            batch_id, now = tagging(fault, PG_FILES, "Permission for my photos (PostgreSQL)")
            fault.in_flight = (
                f"batch of {sum(now.pages.values())} pages: {now.finished} done; "
                + snapshot(rec, url)
            )
        fault.note = (
            f"pg_ctlcluster {cluster.label} stop (fast), {args.postgres_down:g} s down, start"
        )
        t0 = time.monotonic()
        # Should this process die in between, a watcher starts PostgreSQL again.
        with services.guard(cluster.command("start"), after=args.postgres_down + 60):
            try:
                services.stop(cluster)
                stopped = time.monotonic()
                fault.note += f" (stop took {stopped - t0:.1f} s"
                time.sleep(args.postgres_down)
            finally:
                took = services.start(cluster)
        fault.note += f", start {took:.1f} s)"
        # Only what succeeds after the stop counts: the server was down in between.
        back = first_success_after(rec, web_and_mail, stopped, 90)
        if batch_id is not None:
            ended = fault_wiki.wait_until_ended(url, batch_id, args.wiki_lease + 60 + 180)
            fault.note += f"; batch {ended.status} {time.monotonic() - t0:.0f} s after the stop"
        return None if back is None else back + stopped - t0

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

    def tagging(fault: Fault, prefix: str, subject: str) -> tuple[int, fault_wiki.BatchNow]:
        """Queue a batch of the files of ``prefix``; return once a sixth of it is done."""
        assert wiki is not None
        titles = wiki.titles[prefix]
        batch_id, number = fault_wiki.start_batch(
            url, setup.workdir / "wiki-app", setup.env, titles, subject
        )
        fault.batch = (batch_id, number)
        now, _ = fault_wiki.wait_for_pages(url, batch_id, max(3, len(titles) // 6), 180)
        return batch_id, now

    def resumed(fault: Fault, batch_id: int, t0: float, wait: float) -> float | None:
        """Seconds from ``t0`` until the batch records a page again; the batch's end noted."""
        before = fault_wiki.batch_now(url, batch_id).finished
        now, at = fault_wiki.wait_for_pages(url, batch_id, before + 1, wait)
        owner = now.owner_pid
        ended = fault_wiki.wait_until_ended(url, batch_id, 300)
        fault.note += (
            f"; pages again {at - t0:.1f} s after the fault" if at is not None else ""
        ) + f", batch {ended.status} {time.monotonic() - t0:.0f} s after it"
        if owner is not None:
            fault.note += f" (resumed by worker pid {owner})"
        return None if at is None else at - t0

    def kill_worker_mid_batch(fault: Fault) -> float | None:
        batch_id, now = tagging(fault, KILL_FILES, "Permission for my photos (worker killed)")
        pid = now.owner_pid
        role = next(
            (r for r, p in setup.processes.items() if r.startswith("worker") and p.pid == pid),
            None,
        )
        if now.status != "running" or role is None:
            fault.note = f"not killed: batch {now.status}, lease {now.lease_owner!r}"
            return None
        t0 = time.monotonic()
        os.killpg(setup.processes[role].pid, signal.SIGKILL)
        setup.processes[role].wait()
        killed = fault_wiki.batch_now(url, batch_id)
        fault.in_flight = (
            f"batch of {sum(killed.pages.values())} pages in {role} (pid {pid}): "
            f"{killed.finished} done, {killed.pages.get('running', 0)} being edited; "
            + snapshot(rec, url)
        )
        setup.start(role)
        fault.note = f"{role} restarted at once; lease {args.wiki_lease:g} s, sweep each minute"
        return resumed(fault, batch_id, t0, args.wiki_lease + 60 + 120)

    def wiki_stall(fault: Fault) -> float | None:
        from wikibridge_sandbox.servers import server_pid

        assert wiki is not None
        batch_id, now = tagging(fault, STALL_FILES, "Permission for my photos (wiki stalled)")
        pid = server_pid(wiki.state.commons.pid_file)
        if pid is None or now.status != "running":
            fault.note = f"not injected: batch {now.status}, wiki server pid {pid}"
            return None
        t0 = time.monotonic()
        with services.guard(["kill", "-CONT", "--", f"-{pid}"], after=args.wiki_stall + 30):
            services.freeze(pid)
            broken.frozen = pid
            frozen = fault_wiki.batch_now(url, batch_id)
            fault.in_flight = (
                f"batch of {sum(frozen.pages.values())} pages: {frozen.finished} done, "
                f"{frozen.pages.get('running', 0)} being edited; " + snapshot(rec, url)
            )
            try:
                time.sleep(args.wiki_stall)
            finally:
                services.thaw(pid)
                broken.frozen = None
        fault.note = (
            f"php -S of the sandbox Commons stopped (SIGSTOP) {args.wiki_stall:g} s; "
            f"lease {args.wiki_lease:g} s, retry after {args.wiki_retry:g} s"
        )
        return resumed(fault, batch_id, t0, 300)

    wanted = set(args.only.split(",")) if args.only else set(FAULTS)
    if "web" in wanted:
        run("kill -9 a gunicorn web worker", kill_web_worker)
    if "job" in wanted:
        run("kill -9 a job worker mid-send", kill_job_worker)
    if "lmtp" in wanted:
        run("kill -9 LMTP listener mid-delivery", kill_lmtp)
    if "postgres" in wanted and url.startswith("postgresql"):
        if broken.cluster is not None and not args.no_postgres_restart:
            run("PostgreSQL restarted", postgres_restart)
        else:
            run("PostgreSQL connections cut", postgres_cut)
    if "redis" in wanted and redis is not None:
        run("Redis away 5 s, back empty", redis_away)
    if "smtp" in wanted:
        run("SMTP server refusing 8 s (451)", smtp_refusing)
    if wiki is not None:
        if "wiki-kill" in wanted:
            run("kill -9 a job worker mid wiki batch", kill_worker_mid_batch)
        if "wiki-stall" in wanted:
            run(f"wiki timing out ({args.wiki_stall:g} s silent)", wiki_stall)
    return faults


@dataclass
class Tally:
    """Lost and doubled against one fault."""

    lost: int = 0
    doubled: int = 0
    held: int = 0
    waiting: int = 0
    five_xx: int = 0
    five_03: int = 0


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
            if sample.status == 503:
                tallies[window(sample.at)].five_03 += 1
    return tallies, totals


@contextlib.contextmanager
def mended_on_exit(broken: Broken) -> Iterator[None]:
    """Mend what the bench broke on the way out, also on SIGTERM or SIGHUP."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for said in broken.mend():
            print(f"afterwards: {said}", flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    parser.add_argument(
        "--sandbox-dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"the sandbox wikis' state folder (default {DEFAULT_DIR}, built the first time)",
    )
    parser.add_argument("--port-base", type=int, help="sandbox commons port, meta the next")
    parser.add_argument(
        "--wiki-pages", type=int, default=60, help="pages in each faulted tagging batch"
    )
    parser.add_argument(
        "--wiki-stall", type=float, default=50, help="seconds the sandbox Commons is frozen"
    )
    parser.add_argument(
        "--wiki-lease", type=float, default=20, help="WIKI_LEASE_SECONDS of the desk"
    )
    parser.add_argument(
        "--wiki-retry", type=float, default=10, help="WIKI_RETRY_SECONDS of the desk"
    )
    parser.add_argument("--no-wiki", action="store_true", help="no sandbox wiki, no wiki faults")
    parser.add_argument(
        "--postgres-down", type=float, default=3, help="seconds PostgreSQL stays stopped"
    )
    parser.add_argument(
        "--no-postgres-restart",
        action="store_true",
        help="cut the bench database's connections instead of restarting PostgreSQL",
    )
    parser.add_argument(
        "--only", help=f"comma-separated faults to inject, of: {','.join(FAULTS)} (default all)"
    )
    parser.add_argument("--quick", action="store_true", help="embedded desk, one cheap fault")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(FAULTS) if args.only else set()
    if unknown:
        parser.error(f"--only: unknown fault(s) {', '.join(sorted(unknown))}")
    if args.quick:
        args.volunteers, args.mail_rate, args.tickets = 2, 5, min(args.tickets, 200)
        args.no_wiki = True
    if args.only and not set(WIKI_FILES) & set(args.only.split(",")):
        args.no_wiki = True
    kind = "embedded" if args.quick else "multi"
    database = "sqlite" if args.quick else "postgresql"
    broken = Broken()
    sink = SmtpSink()
    sink.start()
    with (
        mended_on_exit(broken),
        tempfile.TemporaryDirectory(prefix="wb-faults-") as tmp,
        fresh_database(database, Path(tmp)) as url,
    ):
        from bench.seed_bulk import seed

        restarting = not args.only or "postgres" in args.only.split(",")
        if database == "postgresql" and restarting and not args.no_postgres_restart:
            broken.cluster = services.cluster_on(urlsplit(url).port or 5432)
        seed(url, args.tickets)
        wiki = None
        if not args.no_wiki:
            print("faults: sandbox wiki up, resetting the batches' files …", flush=True)
            wiki = fault_wiki.prepare(
                args.sandbox_dir,
                args.port_base,
                Path(tmp),
                {
                    prefix: args.wiki_pages
                    for fault, prefix in WIKI_FILES.items()
                    if not args.only or fault in args.only.split(",")
                },
                lease_seconds=args.wiki_lease,
                retry_seconds=args.wiki_retry,
            )
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
            extra_env=wiki.env if wiki else None,
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
        batches: dict[str, fault_wiki.BatchCount] = {}
        try:
            restart = (
                f"PostgreSQL {broken.cluster.label} restarted for real"
                if broken.cluster is not None
                else "PostgreSQL connections cut (no cluster restarted)"
            )
            print(
                f"faults: {kind} desk on {database}, {args.tickets} tickets, "
                f"{args.volunteers} volunteers, {args.mail_rate} msg/s"
                + (f"; {restart}" if database == "postgresql" and restarting else "")
                + (f"; wiki {wiki.state.commons.url}" if wiki else ""),
                flush=True,
            )
            loader.start()
            faults = inject_all(setup, rec, sink, redis, args, broken, wiki)
            time.sleep(2)
            stop.set()
            loader.join(120)
            unsent = drain(url, 20 if args.quick else args.drain)
            tallies, totals = check(url, faults, rec, mail, sink, first_answer_id)
            for fault in faults:
                if wiki is not None and fault.batch is not None:
                    batch_id, number = fault.batch
                    batches[fault.name] = fault_wiki.count_batch(wiki, url, batch_id, number)
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
        "| answers still pending after the drain | note | of the 5xx, 503 (try again) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for fault in faults:
        t = tallies[fault.name]
        rec_s = f"{fault.recovered:.1f}" if fault.recovered is not None else "not within the wait"
        note = fault.note
        lost, doubled = t.lost, t.doubled
        count = batches.get(fault.name)
        if count is not None:
            lost += count.untagged
            doubled += count.doubled
            note = (
                f"{note}; batch {count.verdict}: {count.tagged_once}/{count.pages} pages tagged "
                f"once (api.php), {count.doubled} edited twice, history {count.history_ok}/"
                f"{count.pages} with one 'done'"
            )
        if t.held:
            note = f"{note}; {t.held} answer(s) held as failed for a volunteer to check".lstrip(
                "; "
            )
        print(
            f"| {fault.name} | {fault.in_flight} | {lost} | {doubled} | {rec_s} | "
            f"{t.five_xx} | {t.waiting} | {note} | {t.five_03} |"
        )
    if wiki is None:
        why = "--quick" if args.quick else "--no-wiki" if not args.only else "--only"
        print(
            f"| wiki timing out | – | – | – | – | – | – | skipped: {why} starts no sandbox wiki "
            "| – |"
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
    for name, count in batches.items():
        print(f"wiki batch of '{name}': {count.verdict}, page outcomes {count.outcomes}")


if __name__ == "__main__":
    main()
