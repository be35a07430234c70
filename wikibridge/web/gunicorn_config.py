"""gunicorn settings for the desk: ``gunicorn -c python:wikibridge.web.gunicorn_config``.

Puts the redacting access logger in place and, with several workers in
Prometheus' multi-process mode (``PROMETHEUS_MULTIPROC_DIR``), tidies up
after each worker that exits. Anything here can still be given on the command
line (``--workers``, ``--bind``), which wins.
"""

from __future__ import annotations

from typing import Any

#: Secret query values and headers never reach the access log.
logger_class = "wikibridge.web.gunicorn_log.RedactingLogger"


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn hook: a worker ended; its live metrics files are marked dead."""
    from wikibridge.metrics import process_ended

    process_ended(worker.pid)
