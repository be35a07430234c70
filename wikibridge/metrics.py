"""Prometheus metrics of the desk: mail in, routing, jobs, wiki errors, logins, requests.

Every process that does the work counts it (web workers, ``wikibridge
worker``, the LMTP listener); ``/metrics`` (:mod:`wikibridge.web.observe`)
shows them. With several processes set ``PROMETHEUS_MULTIPROC_DIR`` to one
folder writable by all of them, emptied at boot (a folder under ``/run``):
each process then keeps its counts in files there and ``/metrics`` adds them
up with the library's multi-process collector. It must be in the
environment before this module is imported (the library reads it once).

Counting never gets in the way: each helper swallows its own failures, so a
broken metric cannot break a request, a job or a delivery. Labels have only
a few values each (door, rule, task name, kind, endpoint), never a user name.

``wikibridge mail deliver`` (the pipe) never imports this module: it runs
once per message and is kept quick to start. Its deliveries are not counted;
the LMTP and IMAP doors (long-lived) are.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

log = logging.getLogger(__name__)

#: The content type of :func:`exposition`.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

MAIL_RECEIVED = Counter(
    "wikibridge_mail_received",
    "Messages stored, by the door they came in by and the routing rule that placed them.",
    ["door", "rule"],
)
MAIL_NOT_STORED = Counter(
    "wikibridge_mail_not_stored",
    "Messages that could not be stored (left with the sender's server to retry), by door.",
    ["door"],
)
ROUTING_CORRECTIONS = Counter(
    "wikibridge_routing_corrections",
    "Tickets a volunteer moved out of the queue a routing rule chose, by that rule.",
    ["rule"],
)
JOBS = Counter(
    "wikibridge_jobs",
    "Background jobs run, by task name and outcome (success, retry, error).",
    ["task", "outcome"],
)
JOB_SECONDS = Histogram(
    "wikibridge_job_duration_seconds",
    "How long background jobs ran, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
WIKI_ERRORS = Counter(
    "wikibridge_wiki_errors",
    "Wiki edits and batches that went wrong, by wiki and kind (unavailable, needs_login, "
    "login_refused, blocked, signature_refused, refused, internal).",
    ["wiki", "kind"],
)
LOGINS = Counter(
    "wikibridge_logins",
    "Login attempts by outcome (success, or the kind of refusal).",
    ["outcome"],
)
HTTP_REQUESTS = Counter(
    "wikibridge_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "wikibridge_http_request_duration_seconds",
    "How long HTTP requests took to answer, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _safely(metric: Any, labels: dict[str, str], amount: float | None = None) -> None:
    """Count (or observe ``amount``) on ``metric``; a failure is logged, never raised."""
    try:
        child = metric.labels(**labels)
        if amount is None:
            child.inc()
        else:
            child.observe(amount)
    except Exception:
        log.debug("could not update metric %s", getattr(metric, "_name", metric), exc_info=True)


def mail_received(door: str, rule: str) -> None:
    """Count one message stored through ``door`` (lmtp, imap, import) placed by ``rule``."""
    _safely(MAIL_RECEIVED, {"door": door, "rule": rule or "unknown"})


def mail_not_stored(door: str) -> None:
    """Count one message ``door`` could not store."""
    _safely(MAIL_NOT_STORED, {"door": door})


def routing_corrected(rule: str) -> None:
    """Count one correction of routing ``rule``."""
    _safely(ROUTING_CORRECTIONS, {"rule": rule or "unknown"})


def job_ran(task: str, outcome: str, seconds: float | None) -> None:
    """Count one run of job ``task`` ending in ``outcome``, and how long it took."""
    _safely(JOBS, {"task": task, "outcome": outcome})
    if seconds is not None:
        _safely(JOB_SECONDS, {"task": task}, seconds)


def wiki_error(wiki: str, kind: str) -> None:
    """Count one wiki error of ``kind`` on ``wiki`` (the desk's short name)."""
    _safely(WIKI_ERRORS, {"wiki": wiki or "unknown", "kind": kind})


def login(outcome: str) -> None:
    """Count one login ending in ``outcome`` ("success" or the kind of refusal)."""
    _safely(LOGINS, {"outcome": outcome})


def http_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration."""
    _safely(HTTP_REQUESTS, {"endpoint": endpoint, "method": method, "status": str(status)})
    _safely(HTTP_SECONDS, {"endpoint": endpoint}, seconds)


def multiprocess_dir() -> str | None:
    """The folder shared by the processes' counts, when running several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric in Prometheus' text format: of all processes in multi-process mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def process_ended(pid: int) -> None:
    """Tidy up after a process in multi-process mode (gunicorn's ``child_exit``)."""
    if multiprocess_dir():
        try:
            _multiprocess.mark_process_dead(pid)
        except Exception:
            log.debug("could not mark process %s dead", pid, exc_info=True)
