"""gunicorn's logger, with the secrets of OAuth callbacks kept out of its access log.

Run the desk with ``gunicorn --logger-class wikibridge.web.gunicorn_log.RedactingLogger
'wikibridge:create_app()'`` (or ``logger_class = ...`` in the gunicorn config
file). Every value an access log format can print (the request line, path,
query string, referrer, request and response headers, environment) passes
through :mod:`wikibridge.web.redaction` first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gunicorn.glogging import Logger

from wikibridge.web.redaction import REDACTED, SECRET_HEADERS, redact, redact_query


class RedactingLogger(Logger):
    """gunicorn's :class:`~gunicorn.glogging.Logger` whose access log atoms are redacted."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: dt.timedelta
    ) -> dict[str, Any]:
        """gunicorn's atoms with secret query values and secret headers replaced."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        path = str(environ.get("PATH_INFO", ""))
        for key, value in atoms.items():
            if not isinstance(value, str):
                continue
            header = key[1:-2] if key.startswith("{") and key[-2:] in ("}i", "}o") else ""
            env_name = key[1:-2].upper() if key.startswith("{") and key.endswith("}e") else ""
            if header in SECRET_HEADERS or env_name in ("HTTP_COOKIE", "HTTP_AUTHORIZATION"):
                atoms[key] = REDACTED
            elif key == "q" or env_name == "QUERY_STRING":
                atoms[key] = redact_query(value, path)
            else:
                atoms[key] = redact(value)
        return atoms
