"""Watching the web processes: request ids, a log line per request, and ``/metrics``.

Each request gets an id: the ``X-Request-ID`` it came with when that looks
like one (a proxy's), else a new one; it is in every log line the request
causes and in the answer's ``X-Request-ID`` header. Each answered request is
logged once (logger ``wikibridge.access``, level INFO: shown with
``LOG_FORMAT = "json"``) with method, path (never the query string, which can
hold OAuth verifiers), status, duration and the volunteer's user name, and
counted in the request metrics.

``/metrics`` shows the Prometheus metrics (:mod:`wikibridge.metrics`). The
counts say how busy the desk is and who logs in how often, so only scrapers
from ``METRICS_NETWORKS`` (default: this machine) or with the bearer token
``METRICS_TOKEN`` see them; everyone else gets 404. A request that came
through a proxy (it carries ``X-Forwarded-For``) counts as not from this
machine, so a reverse proxy on the same host does not open it to the world.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from wikibridge import logs, metrics

bp = Blueprint("observe", __name__)
access_log = logging.getLogger("wikibridge.access")

#: An incoming request id is kept only if it is this tame (no log injection).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
DEFAULT_NETWORKS = ("127.0.0.0/8", "::1/128")


def request_id_of(header: str | None) -> str:
    """The request id to use: ``header`` when well-formed, else a new one."""
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _begin() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_of(request.headers.get("X-Request-ID"))
    logs.set_context(request_id=g.request_id, method=request.method, path=request.path)


def _user() -> str | None:
    login = g.get("login")
    name = getattr(login, "username", None) if login is not None else None
    return name or None


def _finish(response: Response) -> Response:
    try:
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule
        endpoint = rule.endpoint if rule is not None else "unmatched"
        metrics.http_request(endpoint, request.method, response.status_code, seconds)
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user": _user(),
            },
        )
    except Exception:
        logging.getLogger(__name__).debug("could not record the request", exc_info=True)
    return response


def _teardown(_exc: BaseException | None) -> None:
    logs.clear_context()


def init_app(app: Flask) -> None:
    """Give every request an id, a log line and its metrics; set up logging."""
    logs.configure(app.config)
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)


def _networks(app: Flask) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    configured: Any = app.config.get("METRICS_NETWORKS")
    if configured is None:
        configured = DEFAULT_NETWORKS
    if isinstance(configured, str):
        configured = [part.strip() for part in configured.split(",") if part.strip()]
    return [ipaddress.ip_network(str(net), strict=False) for net in configured]


def scraper_allowed(app: Flask) -> bool:
    """Whether this request may read ``/metrics``: the bearer token, or from a permitted network."""
    token = str(app.config.get("METRICS_TOKEN") or "")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer "):
        return hmac.compare_digest(sent.removeprefix("Bearer ").strip(), token)
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in net for net in _networks(app))


@bp.get("/metrics")
def metrics_page() -> Response:
    """The Prometheus metrics, for scrapers allowed by ``METRICS_NETWORKS`` or ``METRICS_TOKEN``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not scraper_allowed(app):
        abort(404)
    return Response(metrics.exposition(), mimetype=None, content_type=metrics.CONTENT_TYPE)
