"""Secrets and one-time codes kept out of the logs.

The wiki sends the browser back to ``/oauth-callback`` with the request
token and the verifier (OAuth 1.0a) or the authorization code and state
(OAuth 2.0) in the query string, and every web server logs the request line.
Whoever reads a log must not be able to finish someone's login with what it
shows. So the values of such parameters are replaced by ``[redacted]``:
every parameter of an OAuth address, and parameters with secret names
anywhere. The session cookie and ``Authorization`` are never logged either.

Two places install it: :func:`init_app` puts :class:`RedactingFilter` on the
loggers of the development server (werkzeug) and of gunicorn; gunicorn's own
access log is redacted by :class:`wikibridge.web.gunicorn_log.RedactingLogger`
(``gunicorn --logger-class wikibridge.web.gunicorn_log.RedactingLogger``).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

REDACTED = "[redacted]"
#: Addresses whose whole query string is secret: the desk's OAuth callback and
#: the wiki's OAuth pages (``Special:OAuth/authorize``, ``rest.php/oauth2/…``),
#: whose addresses appear in ``Location`` headers.
_OAUTH_PATH = re.compile(r"oauth", re.IGNORECASE)
#: Parameters whose value is a secret or a one-time code wherever they appear.
#: ("state" is not one: the queue views filter by it; on OAuth addresses every
#: value is redacted anyway.)
SECRET_PARAMETERS = frozenset(
    {
        "oauth_verifier",
        "oauth_token",
        "oauth_signature",
        "oauth_token_secret",
        "code",
        "code_verifier",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "token",
        "password",
        "secret",
        "csrf_token",
    }
)
#: Headers whose whole value is a secret.
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})

# A path (or whole URL) followed by a query string, in any text.
_URL_WITH_QUERY = re.compile(r"(?P<path>[^\s\"'?]*)\?(?P<query>[^\s\"'#]*)")
_PARAMETER = re.compile(r"(?P<name>[^&;=]*)=(?P<value>[^&;]*)")


def _is_oauth(path: str) -> bool:
    return bool(_OAUTH_PATH.search(unquote(path)))


def redact_query(query: str, path: str = "") -> str:
    """``query`` (without ``?``) with secret values replaced; every value on an OAuth path."""
    everything = _is_oauth(path)

    def one(match: re.Match[str]) -> str:
        name = match.group("name")
        # The names as a browser may encode them ("oauth%5Fverifier"), case aside.
        plain = re.sub(r"%5[fF]", "_", name).lower()
        if everything or plain in SECRET_PARAMETERS:
            return f"{name}={REDACTED}"
        return match.group(0)

    return _PARAMETER.sub(one, query)


def redact(text: str) -> str:
    """``text`` with the secret query values of every address in it replaced."""
    if "?" not in text:
        return text
    return _URL_WITH_QUERY.sub(
        lambda m: f"{m.group('path')}?{redact_query(m.group('query'), m.group('path'))}", text
    )


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`redact` (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is logging's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


#: The loggers that print request lines: the development server's and gunicorn's.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def init_app(app: object = None) -> None:
    """Put a :class:`RedactingFilter` on every logger that prints request lines (once)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
