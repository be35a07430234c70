"""Settings: defaults in code, then the instance file, then ``WIKIBRIDGE_*``.

With nothing set, everything runs embedded: SQLite and the job queue live in
the instance folder, and the keys are generated there on first use.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from flask import Flask

#: Keys whose values must never be printed or logged.
SECRET_KEYS = frozenset(
    {
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEY",
        "OAUTH_CONSUMER_SECRET",
        "BOT_PASSWORD",
        "SMTP_PASSWORD",
        "METRICS_TOKEN",
    }
)

DEFAULTS: dict[str, Any] = {
    # Signs the session cookie; generated into the instance folder when unset.
    "SECRET_KEY": None,
    # Fernet key that encrypts wiki access tokens at rest; generated likewise.
    "TOKEN_ENCRYPTION_KEY": None,
    # SQLAlchemy URL; unset means SQLite in the instance folder.
    "DATABASE_URL": None,
    # Job queue: unset means a SQLite file in the instance folder,
    # "redis://host:port/db" means Redis, "memory" runs jobs at once (tests).
    "JOBS_URL": None,
    # Queue name: several installations may share one Redis.
    "JOBS_NAME": "wikibridge",
    # Run a job consumer thread inside the web process (the embedded default).
    "WORKER_IN_PROCESS": None,
    "WORKER_THREADS": 2,
    # Znuny's system id: the two digits after the date in ticket numbers.
    "SYSTEM_ID": "10",
    "MAIL_DOMAIN": "wikimedia.org",
    # Which OAuth protocol volunteers log in with: "1" (1.0a) or "2".
    "OAUTH_VERSION": "1",
    "OAUTH_INDEX_URL": "https://meta.wikimedia.org/w/index.php",
    "OAUTH_REST_URL": "https://meta.wikimedia.org/w/rest.php",
    "OAUTH_ISSUER": "https://meta.wikimedia.org",
    "OAUTH_CONSUMER_KEY": "",
    "OAUTH_CONSUMER_SECRET": "",
    "OAUTH_JWT_LEEWAY": 30,
    # Wikis the desk acts on, by short name: where pywikibot finds them and
    # where people read them.
    "WIKIS": {
        "commons": {
            "family": "commons",
            "code": "commons",
            "api_url": "https://commons.wikimedia.org/w/api.php",
            "article_url": "https://commons.wikimedia.org/wiki/",
        },
        "meta": {
            "family": "meta",
            "code": "meta",
            "api_url": "https://meta.wikimedia.org/w/api.php",
            "article_url": "https://meta.wikimedia.org/wiki/",
        },
    },
    # Extra pywikibot family files, name -> path (the sandbox adds its own).
    "PYWIKIBOT_FAMILY_FILES": {},
    "PERMISSION_TEMPLATE": "PermissionTicket",
    "PERMISSION_TEMPLATE_ALIASES": ["VRT permission", "OTRS permission"],
    # Marks a file whose permission arrived but is not verified yet.
    "PENDING_TEMPLATE": "Permission pending",
    # Ticket references on the wikis (`wikibridge references scan|sync`): the
    # permission templates' older names, the pending/received templates, the old
    # system's ticket URLs (exturlusage prefixes), and interwiki prefixes leading
    # to ticket numbers and to the old system's internal ids.
    "REFERENCE_PERMISSION_TEMPLATES": ["PermissionOTRS"],
    "REFERENCE_PENDING_TEMPLATES": [
        "Permission pending",
        "Permission received",
        "OTRS pending",
        "OTRS received",
    ],
    "REFERENCE_URL_PATTERNS": [
        "https://ticket.wikimedia.org/otrs/index.pl",
        "https://otrs.wikimedia.org/otrs/index.pl",
    ],
    "REFERENCE_NUMBER_PREFIXES": ["ticket"],
    "REFERENCE_ID_PREFIXES": ["otrs", "vrts"],
    # This desk's public address (ticket links to it count as references).
    "DESK_URL": "",
    # Requests per minute one client may make to the public references API and pages.
    "PUBLIC_API_REQUESTS_PER_MINUTE": 300,
    # Logins one client address may start per minute (each asks the wiki); 0: no limit.
    "LOGIN_REQUESTS_PER_MINUTE": 20,
    # Minutes between two incremental syncs in the worker; 0: never.
    "REFERENCE_SYNC_MINUTES": 5,
    # Removed when the permission is confirmed.
    "NO_PERMISSION_TEMPLATES": ["No permission since"],
    "RECEIVED_TEMPLATES": ["Permission received"],
    # A bot account (bot password, "Name@suffix") for edits made on the desk's
    # behalf; empty: every edit is made as the volunteer over OAuth.
    "BOT_USERNAME": "",
    "BOT_PASSWORD": "",
    # How long a batch of wiki edits waits before trying a wiki that did not answer.
    "WIKI_RETRY_SECONDS": 60,
    # Seconds a worker holds a batch without renewing its lease before the
    # periodic sweep hands the batch to another worker (it renews per page).
    "WIKI_LEASE_SECONDS": 90,
    # Seconds between two edits of one worker (pywikibot's put_throttle).
    "WIKI_PUT_THROTTLE": 1,
    "OAUTH_SEND_CALLBACK": False,
    # Allow OAuth 2 over plain http (the local sandbox only; never in production).
    "OAUTH_ALLOW_HTTP": False,
    # IMAP mailboxes `wikibridge mail fetch` (and the periodic job) read;
    # see wikibridge.cfg.example for the keys of each.
    "IMAP_MAILBOXES": [],
    "IMAP_POLL_SECONDS": 60,
    # Mail larger than this is stored unread, its raw bytes kept (every way
    # in: mail deliver, LMTP, IMAP).  LMTP_MAX_BYTES is its former name.
    "MAIL_MAX_BYTES": None,
    # Outgoing answers: stored first, then sent by a job that retries.
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 25,
    "SMTP_SECURITY": "none",  # none | starttls | ssl
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_TIMEOUT": 30,
    "SMTP_MAX_ATTEMPTS": 5,
    "SMTP_RETRY_SECONDS": 60,
    "SMTP_RETRY_MAX_SECONDS": 600,
    "MAIL_FROM_NAME": "Wikimedia VRT",
    # Wiki user names that are the desk's head (bootstrap; the head then
    # appoints administrators, who grant volunteers their queues).
    "HEADS": [],
    "SESSION_LIFETIME_HOURS": 12,
    # Seconds between two checks of a logged-in volunteer's block on the login
    # wiki (0: never); a wiki that does not answer is asked again after
    # BLOCK_CHECK_RETRY_SECONDS, and the volunteer stays logged in meanwhile.
    "BLOCK_CHECK_SECONDS": 300,
    "BLOCK_CHECK_RETRY_SECONDS": 60,
    "TICKETS_PER_PAGE": 25,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PREFERRED_URL_SCHEME": "http",
    # Logs: "text" leaves Python's logging as it is; "json" writes one JSON
    # object a line to standard error, with the request id (production).
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # Who may read /metrics: scrapers from these networks (a request through
    # a proxy never counts as local), or with "Authorization: Bearer METRICS_TOKEN".
    "METRICS_NETWORKS": ["127.0.0.0/8", "::1/128"],
    "METRICS_TOKEN": "",
    # /readyz: each check's timeout, how long a wiki's answer is kept, and
    # whether an unreachable wiki makes the desk "not ready" (by default it
    # is only reported: mail and tickets work without the wikis).
    "READY_TIMEOUT_SECONDS": 3,
    "READY_WIKI_CACHE_SECONDS": 30,
    "READY_REQUIRES_WIKIS": False,
}


def _key_file(instance: Path, name: str, make: Any) -> str:
    """Read a key from the instance folder, creating it (mode 0600) if absent."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def default_instance_path() -> Path:
    """The instance folder: ``$WIKIBRIDGE_INSTANCE_PATH``, else ``instance/`` beside the code.

    An installed (non-editable) package keeps it under ``<prefix>/var``, as
    Flask would.
    """
    configured = os.environ.get("WIKIBRIDGE_INSTANCE_PATH")
    if configured:
        return Path(configured)
    root = Path(__file__).resolve().parent.parent
    if "site-packages" in root.parts or "dist-packages" in root.parts:
        return Path(sys.prefix) / "var" / "wikibridge-instance"
    return root / "instance"


def _from_env(cfg: dict[str, Any], prefix: str = "WIKIBRIDGE_") -> None:
    """Apply ``WIKIBRIDGE_*`` variables: JSON where it parses, ``__`` for nested keys."""
    for name in sorted(os.environ):
        if not name.startswith(prefix) or name in ("WIKIBRIDGE_CONFIG",):
            continue
        raw = os.environ[name]
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        key = name[len(prefix) :]
        if "__" not in key:
            cfg[key] = value
            continue
        current = cfg
        *parents, last = key.split("__")
        for part in parents:
            current = current.setdefault(part, {})
        current[last] = value


def _fresh_copy(value: Any) -> Any:
    """A deep copy of settings made of dicts, lists and immutable scalars.

    :func:`copy.deepcopy` does the same, but importing :mod:`copy` (and
    :mod:`weakref`) cost ``mail deliver`` a millisecond; anything else is
    still copied by it.
    """
    if isinstance(value, dict):
        return {key: _fresh_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh_copy(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    import copy

    return copy.deepcopy(value)


def read_settings(instance: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from defaults, the instance file, the environment, then ``overrides``.

    Needs no Flask, so ``wikibridge mail deliver`` can start without it.
    """
    cfg: dict[str, Any] = _fresh_copy(DEFAULTS)
    config_file = Path(os.environ.get("WIKIBRIDGE_CONFIG") or instance / "wikibridge.cfg")
    if config_file.is_file():
        namespace: dict[str, Any] = {"__file__": str(config_file)}
        exec(compile(config_file.read_bytes(), str(config_file), "exec"), namespace)  # noqa: S102 - the administrator's own settings file
        cfg.update({k: v for k, v in namespace.items() if k.isupper()})
    _from_env(cfg)
    if overrides:
        cfg.update(overrides)
    finish_settings(cfg, instance)
    return cfg


def load_settings(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    """Fill ``app.config``: defaults, instance file, environment, then ``overrides``."""
    app.config.update(read_settings(Path(app.instance_path), overrides))


def finish_settings(cfg: dict[str, Any], instance: Path) -> None:
    """Derive what was left unset, and normalise what the environment typed loosely."""
    # JSON reads "10" as the number 10.
    cfg["SYSTEM_ID"] = str(cfg["SYSTEM_ID"]).zfill(2)
    cfg["OAUTH_VERSION"] = str(cfg["OAUTH_VERSION"])
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _key_file(instance, "secret_key", _new_secret_key)
    if not cfg.get("TOKEN_ENCRYPTION_KEY"):
        cfg["TOKEN_ENCRYPTION_KEY"] = _key_file(instance, "token_key", _new_fernet_key)
    if not cfg.get("DATABASE_URL"):
        instance.mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'wikibridge.sqlite3'}"
    if not cfg.get("MAIL_MAX_BYTES"):
        cfg["MAIL_MAX_BYTES"] = cfg.get("LMTP_MAX_BYTES") or 50 * 1024 * 1024
    cfg["MAIL_MAX_BYTES"] = int(cfg["MAIL_MAX_BYTES"])
    if cfg.get("WORKER_IN_PROCESS") is None:
        cfg["WORKER_IN_PROCESS"] = not cfg.get("JOBS_URL")
    if cfg.get("OAUTH_ALLOW_HTTP"):
        # oauthlib reads this switch from the environment, process-wide.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    if cfg["PREFERRED_URL_SCHEME"] == "https":
        cfg["SESSION_COOKIE_SECURE"] = True


def _new_secret_key() -> str:
    # Imported here: mail deliver reads the settings once per message and
    # never makes a key.
    import secrets

    return secrets.token_hex(32)


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def is_secret_setting(key: str) -> bool:
    """Whether the setting ``key`` holds a secret (never printed or logged)."""
    upper = key.upper()
    return upper in SECRET_KEYS or "SECRET" in upper or "PASSWORD" in upper


def redacted(config: Any) -> Any:
    """A copy of ``config`` safe to print: secrets (at any depth) and URL passwords masked."""
    from sqlalchemy.engine import make_url

    if isinstance(config, list):
        return [redacted(item) for item in config]
    if not isinstance(config, dict):
        return config
    safe: dict[str, Any] = {}
    for key, value in config.items():
        if is_secret_setting(str(key)):
            safe[key] = "***" if value else value
        elif str(key).upper().endswith("_URL") and isinstance(value, str) and "@" in value:
            try:
                safe[key] = make_url(value).render_as_string(hide_password=True)
            except Exception:  # noqa: BLE001 - not a database URL
                safe[key] = "***"
        else:
            safe[key] = redacted(value)
    return safe
