"""Background jobs on huey: SQLite-backed when embedded, Redis when scaled out.

Tasks are registered on whichever huey instance the settings choose, so the
web processes and the workers agree on task names whatever the backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)

_worker_app: Flask | None = None


def make_huey(jobs_url: str | None, instance_path: str, name: str = "wikibridge") -> Huey:
    """Choose the queue backend from ``JOBS_URL``; ``name`` keeps installations apart."""
    if jobs_url == "memory":
        return MemoryHuey(name, immediate=True)
    if jobs_url and jobs_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=jobs_url)
    if jobs_url and jobs_url.startswith("sqlite:///"):
        path = jobs_url.removeprefix("sqlite:///")
    else:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        path = str(Path(instance_path) / "jobs.sqlite3")
    return SqliteHuey(name, filename=path)


def job_app() -> Flask:
    """The app a job runs in: the request's, or the worker's own."""
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    if _worker_app is None:
        raise RuntimeError("no application for this job")
    return _worker_app


def _run_wiki_batch(batch_id: int) -> str:
    from huey.exceptions import RetryTask

    from wikibridge.db import DatabaseUnavailable
    from wikibridge.wiki.batches import WikiUnavailable, run_batch

    app = job_app()
    with app.app_context():
        try:
            return run_batch(app, batch_id)
        except (WikiUnavailable, DatabaseUnavailable) as exc:
            # The batch is back in the queue; the sweep below re-enqueues it
            # too, should this retry be lost with its worker.
            raise RetryTask(str(exc), delay=int(app.config.get("WIKI_RETRY_SECONDS", 60))) from exc


def _run_wiki_write(write_id: int) -> str:
    from huey.exceptions import RetryTask

    from wikibridge.db import DatabaseUnavailable
    from wikibridge.wiki.faults import WikiUnavailable
    from wikibridge.wiki.writes import run_write

    app = job_app()
    with app.app_context():
        try:
            return run_write(app, write_id)
        except (WikiUnavailable, DatabaseUnavailable) as exc:
            # The write is back in the queue; the sweep re-enqueues it too.
            raise RetryTask(str(exc), delay=int(app.config.get("WIKI_RETRY_SECONDS", 60))) from exc


def _wiki_sweep() -> None:
    from tickets.wiki_writes import stalled_writes
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import lease_of, stalled

    app = job_app()
    with app.app_context(), new_session(app) as session:
        ids = stalled(session, lease_of(app))
        write_ids = stalled_writes(session, lease_of(app))
    jobs = jobs_of(app)
    for batch_id in ids:
        jobs.wiki_batch(batch_id)
    for write_id in write_ids:
        jobs.wiki_write(write_id)


def _run_imap_fetch() -> None:
    from wikibridge.mail.imap import fetch_if_due

    app = job_app()
    with app.app_context():
        fetch_if_due(app)


def _send_article(article_id: int) -> str:
    from huey.exceptions import RetryTask

    from wikibridge.mail.outgoing import SendDeferred, send_article

    app = job_app()
    with app.app_context():
        try:
            return send_article(app.extensions["db_sessionmaker"], app.config, article_id)
        except SendDeferred as exc:
            # The row counts the attempts and says when to stop, not huey.
            raise RetryTask(str(exc), delay=exc.delay) from exc


def _send_sweep() -> None:
    from wikibridge.mail.outgoing import sweep

    app = job_app()
    with app.app_context():
        jobs = jobs_of(app)
        for article_id in sweep(app.extensions["db_sessionmaker"]):
            jobs.send_article(article_id)


def _followup_due() -> None:
    from tickets.followup import due_reminders
    from tickets.intake import begin_write
    from wikibridge.db import new_session

    app = job_app()
    with app.app_context(), new_session(app) as session:
        begin_write(session)
        due_reminders(session)
        session.commit()


def _reference_sync() -> None:
    from wikibridge.wiki.reference_scan import sync_due

    app = job_app()
    with app.app_context():
        sync_due(app)


_running = threading.local()


def _job_starts(task: Any) -> None:
    """huey's pre-execute hook: note the start, and name the job in its log lines."""
    from wikibridge import logs

    _running.started = time.perf_counter()
    # Reset afterwards, not cleared: a job run at once inside a request
    # (immediate mode) leaves the request's own context as it was.
    _running.log_token = logs.set_context(task=task.name, task_id=task.id)


def _job_ends(task: Any, _value: Any, exc: BaseException | None) -> None:
    """huey's post-execute hook: count the job's outcome and how long it ran."""
    from huey.exceptions import RetryTask

    from wikibridge import logs, metrics

    started = getattr(_running, "started", None)
    _running.started = None
    seconds = time.perf_counter() - started if started is not None else None
    if exc is None:
        outcome = "success"
    elif isinstance(exc, RetryTask):
        outcome = "retry"
    else:
        outcome = "error"
    metrics.job_ran(task.name, outcome, seconds)
    token = getattr(_running, "log_token", None)
    _running.log_token = None
    if token is not None:
        try:
            logs.CONTEXT.reset(token)
        except ValueError:  # set in another context: nothing of ours to undo
            logs.clear_context()


class Jobs:
    """The app's job queue and the tasks it knows."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        # Every job is counted and timed, and its log lines name it.
        huey.pre_execute(name="wikibridge-observe")(_job_starts)
        huey.post_execute(name="wikibridge-observe")(_job_ends)
        # Retries come from RetryTask while the wiki is away; a batch claimed
        # twice runs once (its lease), so the sweep may enqueue freely.
        self.wiki_batch: Callable[..., Any] = huey.task(name="wiki_batch")(_run_wiki_batch)
        # One page write (tickets.wiki_writes); retried like a batch, and
        # claimed under a lease, so enqueuing it twice writes it once.
        self.wiki_write: Callable[..., Any] = huey.task(name="wiki_write")(_run_wiki_write)
        # Batches and writes whose worker died (lease run out) or whose job was lost.
        self.wiki_sweep: Callable[..., Any] = huey.periodic_task(
            crontab(minute="*"), name="wiki_sweep"
        )(_wiki_sweep)
        # Every minute; fetch_if_due polls only when IMAP_MAILBOXES is set and
        # IMAP_POLL_SECONDS have passed. Returns None: no result to keep.
        self.imap_fetch: Callable[..., Any] = huey.periodic_task(
            crontab(minute="*"), name="imap_fetch"
        )(_run_imap_fetch)
        # Retries come from RetryTask with the delay the attempt count asks for.
        self.send_article: Callable[..., Any] = huey.task(name="send_article")(_send_article)
        # Enqueues answers a crash left pending (the send claims each row, so
        # an answer enqueued twice is still sent once).
        self.send_sweep: Callable[..., Any] = huey.periodic_task(
            crontab(minute="*"), name="send_sweep"
        )(_send_sweep)
        # Pending tickets whose time has come go back to open (or get closed).
        self.followup_due: Callable[..., Any] = huey.periodic_task(
            crontab(minute="*"), name="followup_due"
        )(_followup_due)

        # Each minute; sync_due lets one worker follow each scanned wiki's
        # recent changes every REFERENCE_SYNC_MINUTES.
        self.reference_sync: Callable[..., Any] = huey.periodic_task(
            crontab(minute="*"), name="reference_sync"
        )(_reference_sync)

    def run_worker(self, app: Flask, threads: int = 2, stop: threading.Event | None = None) -> None:
        """Take jobs off the queue until ``stop`` is set (or forever)."""
        global _worker_app
        _worker_app = app
        stop = stop or threading.Event()
        pool = [
            threading.Thread(target=self._work, args=(stop,), daemon=True, name=f"job-{n}")
            for n in range(threads)
        ]
        pool.append(
            threading.Thread(target=self._schedule, args=(stop,), daemon=True, name="job-scheduler")
        )
        for t in pool:
            t.start()
        for t in pool:
            while t.is_alive():
                t.join(0.5)

    def _schedule(self, stop: threading.Event) -> None:
        """Queue delayed retries when due (each second) and periodic tasks (each minute).

        Each worker does both; the tasks tolerate repeats.  Without the first,
        a retry with a delay (an answer the SMTP server deferred, a wiki that
        was away) waited in huey's schedule for the minutes-long sweep.
        """
        next_periodic = 0.0
        while not stop.is_set():
            try:
                for task in self.huey.read_schedule(self.huey._get_timestamp()):
                    self.huey.enqueue(task)
            except Exception:
                log.exception("cannot queue delayed jobs; retrying")
            now = time.time()
            if now >= next_periodic:
                try:
                    for task in self.huey.read_periodic(self.huey._get_timestamp()):
                        self.huey.enqueue(task)
                except Exception:
                    log.exception("cannot queue periodic jobs; retrying")
                # Just after the next minute boundary, as huey's crontabs count minutes.
                next_periodic = now + 60.5 - now % 60
            stop.wait(1)

    def _work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                task = self.huey.dequeue()
            except Exception:
                log.exception("cannot read the job queue; retrying")
                time.sleep(2)
                continue
            if task is None:
                stop.wait(0.3)
                continue
            try:
                self.huey.execute(task)
            except Exception:
                log.exception("job %s failed", task.name)


def init_app(app: Flask) -> None:
    """Attach the job queue; when embedded, start a worker with the first request.

    Waiting for a request keeps command-line runs (``mail deliver``) free of
    worker threads that could be cut off mid-job when the command exits.
    """
    jobs = Jobs(
        make_huey(
            app.config.get("JOBS_URL"), app.instance_path, app.config.get("JOBS_NAME", "wikibridge")
        )
    )
    app.extensions["jobs"] = jobs
    if not app.config.get("WORKER_IN_PROCESS") or jobs.huey.immediate:
        return
    started = threading.Lock()
    state = {"running": False}

    def _start_once() -> None:
        if state["running"]:
            return
        with started:
            if not state["running"]:
                start_in_process_worker(app)
                state["running"] = True

    app.before_request(_start_once)


def start_in_process_worker(app: Flask) -> None:
    """Run the worker on daemon threads of this process (the embedded default)."""
    jobs: Jobs = app.extensions["jobs"]
    thread = threading.Thread(
        target=jobs.run_worker,
        args=(app, int(app.config.get("WORKER_THREADS", 2))),
        daemon=True,
        name="jobs",
    )
    thread.start()


def jobs_of(app: Flask) -> Jobs:
    """The job queue of ``app``."""
    jobs: Jobs = app.extensions["jobs"]
    return jobs
