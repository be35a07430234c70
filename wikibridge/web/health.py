"""``/healthz`` and ``/readyz``: for load balancers, orchestrators and people wondering.

``/healthz`` (liveness) says the process answers and its database does.
``/readyz`` (readiness) checks what the desk needs to work: the database,
the job queue, and each configured wiki (``action=query&meta=siteinfo``).
Each check has a short timeout (``READY_TIMEOUT_SECONDS``), and a wiki's
answer is kept for ``READY_WIKI_CACHE_SECONDS`` so frequent probes do not
hammer it. A wiki that does not answer is reported, but the desk stays
ready (it still takes mail and shows tickets; edits wait and retry) unless
``READY_REQUIRES_WIKIS`` is set. The body names each check and its state,
never an address or a password.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import requests
from flask import Blueprint, Flask, current_app
from sqlalchemy import text

from wikibridge import db

bp = Blueprint("health", __name__)

#: api.php -> (monotonic time checked, ok, error kind): shared by this process' requests.
_wiki_cache: dict[str, tuple[float, bool, str]] = {}
_wiki_lock = threading.Lock()
# Checks run here so a hung database or wiki cannot hold the probe past its timeout.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}, 200


def _timed(check: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Run ``check`` with ``timeout``; its failure becomes ``{"ok": False, "error": kind}``."""
    future = _pool.submit(check)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        return {"ok": False, "error": "timeout"}
    except Exception as exc:  # noqa: BLE001 - the kind of failure is the answer
        return {"ok": False, "error": type(exc).__name__}


def _database(app: Flask) -> dict[str, Any]:
    with app.extensions["db_engine"].connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"ok": True}


def _jobs(app: Flask) -> dict[str, Any]:
    from wikibridge.jobs import jobs_of

    huey = jobs_of(app).huey
    # Reads the backend (Redis LLEN, or the SQLite file): reachable means it answers.
    return {"ok": True, "backend": type(huey).__name__, "queued": int(huey.storage.queue_size())}


def _wiki(api_url: str, timeout: float, cache_seconds: float) -> dict[str, Any]:
    now = time.monotonic()
    with _wiki_lock:
        cached = _wiki_cache.get(api_url)
    if cached is not None and now - cached[0] < cache_seconds:
        ok, error = cached[1], cached[2]
    else:
        try:
            answer = requests.get(
                api_url,
                params={"action": "query", "meta": "siteinfo", "format": "json"},
                headers={"User-Agent": "wikibridge-readyz"},
                timeout=timeout,
            )
            answer.raise_for_status()
            ok, error = "query" in answer.json(), ""
            if not ok:
                error = "unexpected answer"
        except requests.HTTPError as exc:
            ok, error = (
                False,
                f"HTTP {exc.response.status_code if exc.response is not None else '?'}",
            )
        except (requests.RequestException, ValueError) as exc:
            ok, error = False, type(exc).__name__
        with _wiki_lock:
            _wiki_cache[api_url] = (now, ok, error)
    return {"ok": True} if ok else {"ok": False, "error": error}


def readiness(app: Flask) -> tuple[dict[str, Any], bool]:
    """Every check's state, and whether the desk is ready."""
    timeout = float(app.config.get("READY_TIMEOUT_SECONDS", 3))
    cache_seconds = float(app.config.get("READY_WIKI_CACHE_SECONDS", 30))
    checks: dict[str, Any] = {
        "database": _timed(lambda: _database(app), timeout),
        "jobs": _timed(lambda: _jobs(app), timeout),
    }
    wikis = {
        name: _pool.submit(_wiki, str(wiki.get("api_url", "")), timeout, cache_seconds)
        for name, wiki in (app.config.get("WIKIS") or {}).items()
        if wiki.get("api_url")
    }
    checks["wikis"] = {}
    for name, future in wikis.items():
        try:
            checks["wikis"][name] = future.result(timeout=timeout + 1)
        except FutureTimeout:
            checks["wikis"][name] = {"ok": False, "error": "timeout"}
    ready = checks["database"]["ok"] and checks["jobs"]["ok"]
    wikis_ok = all(w["ok"] for w in checks["wikis"].values())
    if app.config.get("READY_REQUIRES_WIKIS"):
        ready = ready and wikis_ok
    return checks, bool(ready)


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """200 when the desk can work, 503 naming what failed; each check's state either way."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    checks, ready = readiness(app)
    failed = [name for name in ("database", "jobs") if not checks[name]["ok"]]
    failed += [f"wiki:{name}" for name, state in checks["wikis"].items() if not state["ok"]]
    body = {"status": "ready" if ready else "not ready", "checks": checks, "failed": failed}
    return body, 200 if ready else 503
