"""Structured logs: one JSON object a line, with the request or job it belongs to.

``LOG_FORMAT = "json"`` (recommended in production) makes every process of the
desk (web, worker, LMTP) write JSON lines to standard error: time, level,
logger, message, and where known the request id, method, path, status,
duration and user name of the request, or the task name and id of the job.
``"text"`` (the default) leaves Python's logging as it is.

Secrets never get out: every line passes through
:func:`wikibridge.web.redaction.redact` (secret query values) and any value
of a secret setting (:data:`wikibridge.config.SECRET_KEYS`, and settings
whose name says secret or password) is masked wherever it appears, tracebacks
included.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from wikibridge.web.redaction import redact

#: What the current request or job is: request_id, method, path, user, task, task_id.
CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "wikibridge_log_context", default=None
)
MASK = "***"
#: Secret values shorter than this are not masked (they would mask ordinary words).
_MIN_SECRET = 6
#: Fields a record may carry (``extra=``) that go into the line as they are.
_FIELDS = ("method", "path", "status", "duration_ms", "user", "request_id", "task", "task_id")


def set_context(**values: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add ``values`` to the current request's or job's log context; returns the reset token."""
    return CONTEXT.set({**(CONTEXT.get() or {}), **values})


def clear_context() -> None:
    """Forget the current request's or job's log context."""
    CONTEXT.set(None)


def secret_values(config: Mapping[str, Any]) -> list[str]:
    """The values of ``config``'s secret settings (at any depth), longest first."""
    from wikibridge.config import is_secret_setting

    found: list[str] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)
        elif is_secret_setting(key) and isinstance(value, str | bytes):
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            if len(text) >= _MIN_SECRET:
                found.append(text)

    walk(dict(config), "")
    return sorted(set(found), key=len, reverse=True)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line, secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def scrub(self, text: str) -> str:
        """``text`` with secret query values and secret settings' values masked."""
        text = redact(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        context = CONTEXT.get()
        if context:
            line.update({k: v for k, v in context.items() if v is not None})
        for name in _FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = self.scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self.scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self.scrub(record.exc_text)
        return json.dumps(line, default=str, ensure_ascii=False)


_HANDLER_NAME = "wikibridge-json"


def configure(config: Mapping[str, Any], stream: IO[str] | None = None) -> logging.Handler | None:
    """Set up logging as ``LOG_FORMAT`` says; returns the JSON handler, if any.

    Idempotent: a process that builds several apps has one handler, whose
    secrets are those of the last settings seen. ``text`` changes nothing.
    """
    if str(config.get("LOG_FORMAT") or "text").lower() != "json":
        return None
    root = logging.getLogger()
    formatter = JsonFormatter(secret_values(config))
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setFormatter(formatter)
            if stream is not None and isinstance(handler, logging.StreamHandler):
                handler.setStream(stream)
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    level = str(config.get("LOG_LEVEL") or "INFO").upper()
    root.setLevel(level)
    # gunicorn's and werkzeug's loggers print their own lines: JSON them too.
    for name in ("gunicorn.error", "werkzeug"):
        logger = logging.getLogger(name)
        for other in list(logger.handlers):
            other.setFormatter(formatter)
    return handler
