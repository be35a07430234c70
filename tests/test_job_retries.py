"""A job retried with a delay runs again within seconds, not at the next sweep.

``bench/faults.py`` found answers deferred by the SMTP server (451) waiting
in huey's schedule for the 15-minute sweep: the worker never read the
schedule.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flask import Flask
from huey.exceptions import RetryTask

from wikibridge.jobs import Jobs, make_huey


def test_a_delayed_retry_runs_again(tmp_path: Path) -> None:
    jobs = Jobs(make_huey(f"sqlite:///{tmp_path / 'jobs.sqlite3'}", str(tmp_path)))
    runs: list[float] = []
    done = threading.Event()

    @jobs.huey.task(name="flaky")
    def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise RetryTask("the server said 451", delay=1)
        done.set()

    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.run_worker, args=(Flask(__name__),), kwargs={"stop": stop, "threads": 1}
    )
    worker.start()
    try:
        flaky()
        # Generous: the point is "not never", not how fast.
        assert done.wait(30), f"ran {len(runs)} time(s)"
    finally:
        stop.set()
        worker.join(10)
    assert len(runs) == 2
