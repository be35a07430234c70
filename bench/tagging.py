"""How many HTTP requests tagging files costs, beside a plain pywikibot loop.

    .venv/bin/python bench/tagging.py [--files N] [--sandbox-dir DIR] [--port-base P]
                                      [--json]

On the sandbox Commons (:mod:`wikibridge_sandbox.wikis`; its own state folder
``~/.local/state/wikibridge/bench-sandbox`` by default, commons on
``--port-base`` and meta on the next port; a ``--sandbox-dir`` already set up
keeps its ports), two sets of N small files are uploaded once, or on later
runs reset to their untagged description (``{{No permission since}}``):
``Tagging bench wikibridge NNNN.png`` and ``Tagging bench pywikibot NNNN.png``.
That phase is timed but not counted.  Then, with one ticket delivered to a
fresh SQLite database, each file gets ``{{PermissionTicket|id=<ticket>}}``:

* ``wikibridge batch``: one ``confirm`` batch as the bot (``create_batch`` +
  ``run_batch``, ``WIKI_PUT_THROTTLE`` 0), the way the worker runs it;
* ``pywikibot loop``: the same bot through the same ``site_as`` login, then
  ``page.text`` and ``page.save`` one file at a time with the same change
  (:func:`wikibridge.wiki.wikitext.confirm_permission`), ``put_throttle`` 0.

The process is warmed before either phase, uncounted: the bot logs in once
(pywikibot keeps its cookies in a file, as a long-running worker does) and
the site's info and CSRF token are loaded, so each phase pays only its own
session check, reads and edits.  Requests are counted at pywikibot's HTTP
session (a response hook), per phase, and split by API action.  After each
phase every file is read back through ``api.php`` (50 a request); the bench
exits 1 if any file lacks the tag.  The target is at most 1.1 requests per
tagged file for the batch (a batch pays about 2 requests per 50 files and 1
per run on top of its edits, so small ``--files`` miss it).

Then the scaling section (``--scale-files M``, default 120; 0 skips it):
pywikibot's credentials are process-global, so one worker process makes its
edits one at a time whatever its ``--threads``; more edits at once need more
processes.  M files (``Tagging bench scale NNNN.png``, reset before each
run, untimed) are split into 8 bot batches of one ticket and queued on a
SQLite job queue; 1, 2 and 4 ``wikibridge worker --threads 1`` processes
(started first, on the same database, instance folder and queue, put
throttle 0) work them off.  Timed from queueing until every batch is done,
so each worker's first job pays its pywikibot import and bot login; printed
as files per minute and the ratio to one worker.  The sandbox wiki serves 4
requests at once (``PHP_CLI_SERVER_WORKERS``) and shares the machine's cores
with the workers, which bounds what more processes can gain here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

if __package__ in (None, ""):
    # Run as a script: the repository root is not on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask

from bench.apps import bench_app
from wikibridge_sandbox.seed import AdminSession
from wikibridge_sandbox.wikis import SandboxState, SandboxWiki

DEFAULT_DIR = Path("~/.local/state/wikibridge/bench-sandbox")
DEFAULT_PORT_BASE = 18280
PREFIXES = {"wikibridge": "Tagging bench wikibridge", "pywikibot": "Tagging bench pywikibot"}
SCALE_PREFIX = "Tagging bench scale"
#: Batches the scaling runs split their files into: a batch runs in one
#: worker, so there must be more batches than workers.
SCALE_BATCHES = 8
WORKER_COUNTS = (1, 2, 4)
FAMILY = "sandboxdirect"
#: The issue's target for the batch runner.
TARGET_PER_FILE = 1.1
REQUESTED_BY = "BenchRunner"


@dataclass
class Phase:
    """One way of tagging the files, as measured."""

    name: str
    files: int
    requests: int
    seconds: float
    tagged: int
    by_action: dict[str, int] = field(default_factory=dict)

    @property
    def per_file(self) -> float:
        """HTTP requests per file."""
        return self.requests / self.files if self.files else 0.0

    @property
    def per_minute(self) -> float:
        """Files tagged per minute."""
        return self.files / self.seconds * 60 if self.seconds else 0.0


@dataclass
class Scaled:
    """Files tagged by ``workers`` worker processes, as measured."""

    workers: int
    files: int
    seconds: float
    tagged: int

    @property
    def per_minute(self) -> float:
        """Files tagged per minute."""
        return self.files / self.seconds * 60 if self.seconds else 0.0


# --- the sandbox ----------------------------------------------------------------


def sandbox(state_dir: Path, port_base: int | None) -> SandboxState:
    """The sandbox wikis in ``state_dir``, started (and built, the first time)."""
    from wikibridge_sandbox import wikis

    state_dir = state_dir.expanduser().absolute()
    if port_base is None:
        try:
            # A sandbox already there (the test sandbox, say) keeps its ports.
            kept = wikis.load_state(state_dir)
            commons, meta = kept.commons.port, kept.meta.port
        except wikis.SandboxError:
            commons, meta = DEFAULT_PORT_BASE, DEFAULT_PORT_BASE + 1
    else:
        commons, meta = port_base, port_base + 1
    began = time.perf_counter()
    state = wikis.up(state_dir, commons_port=commons, meta_port=meta)
    took = time.perf_counter() - began
    if took > 5:
        print(f"sandbox up in {took:.1f} s", file=sys.stderr, flush=True)
    return state


def reset_files(state: SandboxState, count: int) -> tuple[dict[str, list[str]], float]:
    """Upload (or reset to untagged) both sets of files; their titles and the seconds taken."""
    from wikibridge_sandbox.seed import upload_many

    began = time.perf_counter()
    with AdminSession(state.commons.api_url) as admin:
        admin.login(state.admin.username, state.admin.password)
        titles = {name: upload_many(admin, prefix, count) for name, prefix in PREFIXES.items()}
    return titles, time.perf_counter() - began


def count_tagged(api_url: str, titles: Sequence[str], number: str) -> int:
    """How many of ``titles`` carry ``{{PermissionTicket|id=<number>}}``, read 50 at a time."""
    tag = f"{{{{PermissionTicket|id={number}}}}}"
    tagged = 0
    with requests.Session() as http:
        http.trust_env = False
        for start in range(0, len(titles), 50):
            response = http.post(
                api_url,
                data={
                    "action": "query",
                    "prop": "revisions",
                    "rvprop": "content",
                    "rvslots": "main",
                    "titles": "|".join(titles[start : start + 50]),
                    "format": "json",
                    "formatversion": "2",
                },
                timeout=60,
            )
            response.raise_for_status()
            for page in response.json()["query"]["pages"]:
                revisions = page.get("revisions") or [{}]
                if tag in revisions[0].get("slots", {}).get("main", {}).get("content", ""):
                    tagged += 1
    return tagged


# --- counting ---------------------------------------------------------------------


def _action(request: requests.PreparedRequest) -> str:
    """The API action of a request (``query``, ``edit``, ``login``…), or its path."""
    parts = urlsplit(request.url or "")
    params = parse_qs(parts.query)
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and "=" in body[:200]:
        params.update(parse_qs(body))
    action = params.get("action", [""])[0]
    if action == "query":
        # What the query is for: its generator, else its props, else its meta.
        for key in ("generator", "prop", "meta"):
            if key in params:
                return f"query {key}={params[key][0]}"
    return action or parts.path


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count each HTTP response pywikibot's session receives, by API action."""
    from pywikibot.comms import http

    seen: Counter[str] = Counter()

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen[_action(response.request)] += 1

    hooks = http.session.hooks["response"]
    hooks.append(hook)
    try:
        yield seen
    finally:
        hooks.remove(hook)


# --- the app and the ticket ----------------------------------------------------


def make_app(state: SandboxState, workdir: Path) -> Flask:
    """wikibridge on a fresh SQLite database, editing the sandbox Commons as the bot."""
    from wikibridge import db
    from wikibridge.migrate import seed_queues, upgrade
    from wikibridge_sandbox.family import write_family_file

    commons = state.commons
    family = write_family_file(
        workdir / "families" / f"{FAMILY}_family.py",
        FAMILY,
        {"commons": (urlsplit(commons.url).netloc, "")},
    )
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(url)
    app = bench_app(
        url,
        workdir,
        WIKIS={
            "commons": {
                "family": FAMILY,
                "code": "commons",
                "api_url": commons.api_url,
                "article_url": f"{commons.url}/wiki/",
            }
        },
        PYWIKIBOT_FAMILY_FILES={FAMILY: str(family)},
        BOT_USERNAME=state.bot.login_name,
        BOT_PASSWORD=state.bot.botpassword,
        WIKI_PUT_THROTTLE=0,
    )
    with app.app_context():
        seed_queues(db.session())
    return app


def new_ticket(app: Flask, subject: str = "Permission for my photos") -> str:
    """Deliver one permission statement; the new ticket's number."""
    from wikibridge.mail.store import store_message

    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = subject
    msg.set_content("I took all these photos and release them under CC BY-SA 4.0.")
    return store_message(app, msg.as_bytes()).number


def _bot_site(app: Flask) -> Any:
    """``site_as`` for the bot, as the batch runner enters it."""
    from wikibridge.wiki.credentials import target_for
    from wikibridge.wiki.pwb import Credentials, site_as

    user, _, suffix = str(app.config["BOT_USERNAME"]).partition("@")
    creds = Credentials(
        username=user, password=str(app.config["BOT_PASSWORD"]), password_suffix=suffix
    )
    target = target_for(app, "commons", as_bot=True)
    return site_as(target, creds, app.config["PYWIKIBOT_FAMILY_FILES"], app.instance_path)


def warm_up(app: Flask) -> None:
    """Load pywikibot and the site's info once, so neither phase pays for the process."""
    with _bot_site(app) as site:
        site.siteinfo["general"]
        site.tokens["csrf"]


# --- the two phases ----------------------------------------------------------------


def run_wikibridge(app: Flask, number: str, titles: Sequence[str]) -> Phase:
    """Tag ``titles`` with one bot batch of the ticket ``number``."""
    from sqlalchemy import select

    from tickets.models import PageAction, PageLink, Ticket
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import create_batch, run_batch

    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        links = [
            PageLink(ticket=ticket, wiki="commons", title=title, linked_by=REQUESTED_BY)
            for title in titles
        ]
        db.add_all(links)
        db.flush()
        (batch,) = create_batch(db, ticket, links, "confirm", REQUESTED_BY, None, as_bot=True)
        db.commit()
        batch_id = batch.id
    with counting() as seen:
        began = time.perf_counter()
        status = run_batch(app, batch_id)
        seconds = time.perf_counter() - began
    with new_session(app) as db:
        outcomes = Counter(
            db.scalars(select(PageAction.status).where(PageAction.batch_id == batch_id))
        )
    if status != "done" or outcomes["done"] != len(titles):
        print(f"wikibridge batch: {status}, page outcomes {dict(outcomes)}", file=sys.stderr)
    return Phase(
        "wikibridge batch",
        len(titles),
        sum(seen.values()),
        seconds,
        tagged=0,
        by_action=dict(seen),
    )


def run_pywikibot(app: Flask, number: str, titles: Sequence[str]) -> Phase:
    """Tag ``titles`` the plain way: ``page.text``, change, ``page.save``, one by one."""
    import pywikibot
    from pywikibot import config

    from wikibridge.wiki.plans import summary, template_names
    from wikibridge.wiki.wikitext import confirm_permission

    names = template_names(app.config)
    text = summary("confirm", number, REQUESTED_BY, True)
    saved_throttle = config.put_throttle
    config.put_throttle = 0
    try:
        with counting() as seen:
            began = time.perf_counter()
            with _bot_site(app) as site:
                site.throttle.writedelay = 0
                for title in titles:
                    page = pywikibot.FilePage(site, title)
                    page.text = confirm_permission(page.text, number, names).text
                    page.save(summary=text, minor=False, quiet=True)
            seconds = time.perf_counter() - began
    finally:
        config.put_throttle = saved_throttle
    return Phase(
        "pywikibot loop",
        len(titles),
        sum(seen.values()),
        seconds,
        tagged=0,
        by_action=dict(seen),
    )


# --- scaling over worker processes ----------------------------------------------


def worker_env(app: Flask, jobs_url: str, jobs_name: str) -> dict[str, str]:
    """The environment a ``wikibridge worker`` needs to act as ``app`` on ``jobs_url``."""
    keys = (
        "DATABASE_URL",
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "SERVER_NAME",
        "WIKIS",
        "PYWIKIBOT_FAMILY_FILES",
        "BOT_USERNAME",
        "BOT_PASSWORD",
        "WIKI_PUT_THROTTLE",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKIBRIDGE_")}
    for key in keys:
        value = app.config[key]
        env[f"WIKIBRIDGE_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["WIKIBRIDGE_INSTANCE_PATH"] = app.instance_path
    env["WIKIBRIDGE_JOBS_URL"] = jobs_url
    env["WIKIBRIDGE_JOBS_NAME"] = jobs_name
    env["WIKIBRIDGE_WORKER_IN_PROCESS"] = "false"
    return env


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes, each once it says it waits for jobs."""
    command = [str(Path(sys.executable).with_name("wikibridge")), "worker", "--threads", "1"]
    workers = []
    for n in range(count):
        log = open(logs / f"worker-{count}-{n}.log", "wb")  # noqa: SIM115 (kept by the process)
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log))
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if b"waiting for jobs" not in line:
            raise RuntimeError(f"a worker did not start: {line!r}; see {logs}")
    return workers


def stop_workers(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each worker, then wait for it to end."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def run_scaled(app: Flask, state: SandboxState, workers: int, count: int, workdir: Path) -> Scaled:
    """Tag ``count`` freshly reset files with ``workers`` worker processes."""
    from sqlalchemy import select

    from tickets.models import PageLink, Ticket, WikiBatch
    from wikibridge.db import new_session
    from wikibridge.jobs import jobs_of
    from wikibridge.wiki.batches import create_batch
    from wikibridge_sandbox.seed import upload_many

    with AdminSession(state.commons.api_url) as admin:
        admin.login(state.admin.username, state.admin.password)
        titles = upload_many(admin, SCALE_PREFIX, count)
    jobs_url = f"sqlite:///{workdir / f'jobs-{workers}.sqlite3'}"
    jobs_name = f"bench-scale-{workers}"
    queue_app = bench_app(
        app.config["DATABASE_URL"],
        workdir,
        **{k: app.config[k] for k in ("WIKIS", "PYWIKIBOT_FAMILY_FILES")},
        JOBS_URL=jobs_url,
        JOBS_NAME=jobs_name,
        WORKER_IN_PROCESS=False,
    )
    number = new_ticket(app, f"Permission for my photos, {workers} worker(s)")
    ids: list[int] = []
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        size = -(-len(titles) // SCALE_BATCHES)
        for start in range(0, len(titles), size):
            links = [
                PageLink(ticket=ticket, wiki="commons", title=title, linked_by=REQUESTED_BY)
                for title in titles[start : start + size]
            ]
            db.add_all(links)
            db.flush()
            (batch,) = create_batch(db, ticket, links, "confirm", REQUESTED_BY, None, as_bot=True)
            ids.append(batch.id)
        db.commit()
    env = worker_env(app, jobs_url, jobs_name)
    running = start_workers(workers, env, workdir)
    try:
        began = time.perf_counter()
        jobs = jobs_of(queue_app)
        for batch_id in ids:
            jobs.wiki_batch(batch_id)
        while True:
            with new_session(app) as db:
                states = list(db.scalars(select(WikiBatch.status).where(WikiBatch.id.in_(ids))))
            if all(s in ("done", "stopped", "paused", "cancelled") for s in states):
                break
            if any(w.poll() is not None for w in running):
                raise RuntimeError(f"a worker ended early; see {workdir}")
            time.sleep(0.1)
        seconds = time.perf_counter() - began
    finally:
        stop_workers(running)
        queue_app.extensions["db_engine"].dispose()
    if set(states) != {"done"}:
        print(f"{workers} workers: batches ended {states}", file=sys.stderr)
    return Scaled(workers, count, seconds, count_tagged(state.commons.api_url, titles, number))


def scale_table(runs: Sequence[Scaled]) -> str:
    """Files per minute by worker processes, with the ratio to one."""
    one = runs[0].per_minute
    lines = [
        f"scaling: {runs[0].files} files in {SCALE_BATCHES} bot batches, "
        "wikibridge worker --threads 1 processes, SQLite job queue, put throttle 0",
        f"{'workers':>8}{'files':>7}{'tagged':>8}{'seconds':>9}{'files/min':>11}{'vs 1':>7}",
    ]
    for run in runs:
        lines.append(
            f"{run.workers:>8}{run.files:>7}{run.tagged:>8}{run.seconds:>9.1f}"
            f"{run.per_minute:>11.0f}{run.per_minute / one:>6.2f}x"
        )
    return "\n".join(lines)


# --- output ----------------------------------------------------------------------


def table(phases: Sequence[Phase], count: int, upload_seconds: float) -> str:
    """The figures, with the loop's cost over the batch's."""
    ours, loop = phases
    lines = [
        f"tagging {count} files on the sandbox commons (one ticket), "
        "requests counted at pywikibot's HTTP session",
        f"{'':22}{'files':>7}{'tagged':>8}{'requests':>10}{'req/file':>10}"
        f"{'seconds':>9}{'files/min':>11}",
    ]
    for p in phases:
        lines.append(
            f"{p.name:22}{p.files:>7}{p.tagged:>8}{p.requests:>10}{p.per_file:>10.2f}"
            f"{p.seconds:>9.1f}{p.per_minute:>11.0f}"
        )
    lines.append(
        f"ratio (loop / wikibridge): requests {loop.requests / ours.requests:.2f}x, "
        f"time {loop.seconds / ours.seconds:.2f}x"
    )
    for p in phases:
        split = ", ".join(f"{k} {v}" for k, v in sorted(p.by_action.items(), key=lambda i: -i[1]))
        lines.append(f"{p.name} requests: {split}")
    verdict = "met" if ours.per_file <= TARGET_PER_FILE else "NOT met"
    lines.append(f"target <= {TARGET_PER_FILE} requests per file for the batch: {verdict}")
    lines.append(f"(uploading/resetting {2 * count} files beforehand: {upload_seconds:.1f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run both phases, print the figures; 1 if a file is left untagged."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300, help="files per phase (default 300)")
    parser.add_argument(
        "--sandbox-dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"sandbox state folder (default {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--port-base",
        type=int,
        help=f"commons port, meta the next (default: the sandbox's own, else {DEFAULT_PORT_BASE})",
    )
    parser.add_argument(
        "--scale-files",
        type=int,
        default=120,
        help="files for each run of 1, 2 and 4 worker processes (default 120; 0 skips)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")

    state = sandbox(args.sandbox_dir, args.port_base)
    commons: SandboxWiki = state.commons
    print(f"resetting {2 * args.files} files on {commons.url} …", file=sys.stderr, flush=True)
    titles, upload_seconds = reset_files(state, args.files)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(state, Path(tmp))
        try:
            number = new_ticket(app)
            warm_up(app)
            phases = []
            for name, run in (("wikibridge", run_wikibridge), ("pywikibot", run_pywikibot)):
                print(f"{name}: tagging {args.files} files …", file=sys.stderr, flush=True)
                phase = run(app, number, titles[name])
                phase.tagged = count_tagged(commons.api_url, titles[name], number)
                phases.append(phase)
            scaled = []
            for workers in WORKER_COUNTS if args.scale_files > 0 else ():
                print(
                    f"{workers} worker(s): tagging {args.scale_files} files …",
                    file=sys.stderr,
                    flush=True,
                )
                scaled.append(run_scaled(app, state, workers, args.scale_files, Path(tmp)))
        finally:
            app.extensions["db_engine"].dispose()
    print(table(phases, args.files, upload_seconds), flush=True)
    if scaled:
        print(scale_table(scaled), flush=True)
    if args.json:
        figures: dict[str, Any] = {
            "files": args.files,
            "ticket": number,
            "wiki": commons.url,
            "upload_seconds": round(upload_seconds, 2),
        }
        for p in phases:
            figures[p.name.split()[0]] = {
                **asdict(p),
                "per_file": round(p.per_file, 3),
                "per_minute": round(p.per_minute, 1),
                "seconds": round(p.seconds, 2),
            }
        figures["scaling"] = [
            {**asdict(r), "per_minute": round(r.per_minute, 1), "seconds": round(r.seconds, 2)}
            for r in scaled
        ]
        print(json.dumps(figures, sort_keys=True))
    short = [(p.name, p.files, p.tagged) for p in phases]
    short += [(f"{r.workers} worker(s)", r.files, r.tagged) for r in scaled]
    untagged = [(name, files, tagged) for name, files, tagged in short if tagged != files]
    for name, files, tagged in untagged:
        print(f"{name}: {files - tagged} of {files} files not tagged", file=sys.stderr)
    return 1 if untagged else 0


if __name__ == "__main__":
    sys.exit(main())
