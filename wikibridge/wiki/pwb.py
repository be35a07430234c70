"""pywikibot, used for many volunteers from one worker process.

pywikibot keeps its OAuth credentials in the global ``config.authenticate``
and shares one HTTP session per process.  So every edit made as a volunteer
runs under one process-wide lock with that volunteer's credentials installed,
and they are removed again before the lock is released: a job running in the
same worker at the same time can never send its edit under another's name.
A worker's threads therefore edit one at a time; more edits at once need
more worker processes.

pywikibot retries some refusals without end: a signed request answered
"Nonce already used" (the real Extension:OAuth does that to every request
when ``$wgMWOAuthCentralWiki`` names the wiki itself) is sent again and again
with a new nonce. :func:`site_as` watches the answers and ends that loop
with :class:`SignatureRefused`, a message an administrator can act on.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from wikibridge import project_file

_IDENTITY_LOCK = threading.RLock()
#: How many "Nonce already used" answers in a row end the calls: one may be
#: bad luck (two requests in the same second with the same nonce), a second
#: one with a fresh nonce is the wiki's setup.
NONCE_REFUSALS = 2
NONCE_REFUSED = (
    "The wiki refused our signed request: Nonce already used. The wiki's OAuth "
    "setup may be wrong ($wgMWOAuthCentralWiki); an administrator should check it"
)


class LoginRefused(Exception):
    """The wiki refused the bot's login, or the settings cannot log anyone in."""


class SignatureRefused(Exception):
    """The wiki refuses every signed request the same way: its OAuth setup is at fault."""


@functools.cache
def _signature_refused() -> type[SignatureRefused]:
    """:class:`SignatureRefused` as pywikibot lets it through its retry loop.

    pywikibot waits and retries after most exceptions raised while sending a
    request, but passes a ``FatalServerError`` straight to its caller.
    """
    from pywikibot.exceptions import FatalServerError

    return type("SignatureRefusedByWiki", (SignatureRefused, FatalServerError), {})


class _NonceGuard:
    """A response hook counting "Nonce already used" refusals in a row."""

    def __init__(self, limit: int = NONCE_REFUSALS) -> None:
        self.limit = limit
        self.refusals = 0

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> None:
        code = response.headers.get("MediaWiki-API-Error", "")
        if not code.startswith("mwoauth-invalid-authorization") or (
            "Nonce already used" not in response.text
        ):
            self.refusals = 0
            return
        self.refusals += 1
        if self.refusals >= self.limit:
            raise _signature_refused()(NONCE_REFUSED)


@dataclass(frozen=True)
class WikiTarget:
    """Where a wiki is, in pywikibot's terms."""

    family: str
    code: str
    api_url: str


@dataclass(frozen=True)
class Credentials:
    """Who edits: a volunteer's OAuth credentials (1.0a: four strings; 2.0: a
    bearer token) or the bot's bot password (``password`` for ``username@suffix``)."""

    username: str
    consumer_key: str = ""
    consumer_secret: str = ""
    token_key: str = ""
    token_secret: str = ""
    bearer: str = ""
    password: str = ""
    password_suffix: str = ""

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"Credentials(username={self.username!r}, ***)"

    @property
    def fingerprint(self) -> str:
        """Tells one login from another without holding its secrets."""
        secret = "\0".join((self.username, self.token_key, self.bearer, self.password))
        return hashlib.sha256(secret.encode()).hexdigest()


def prepare_pywikibot_dir(instance_path: str) -> Path:
    """Give pywikibot a writable folder holding a copy of our ``user-config.py``.

    pywikibot reads its config from, and writes its throttle file, logs and
    caches into, the same folder; the installed package (or the checkout) may
    be read-only, so that folder is ``<instance>/pywikibot`` and the file is
    copied there.
    """
    folder = Path(instance_path) / "pywikibot"
    folder.mkdir(parents=True, exist_ok=True)
    source = project_file("user-config.py").read_text()
    target = folder / "user-config.py"
    if not target.exists() or target.read_text() != source:
        target.write_text(source)
    return folder


def load_pywikibot(family_files: dict[str, str], instance_path: str) -> ModuleType:
    """Import pywikibot with our ``user-config.py`` and register family files."""
    if "PYWIKIBOT_DIR" not in os.environ:
        os.environ["PYWIKIBOT_DIR"] = str(prepare_pywikibot_dir(instance_path))
    import pywikibot
    from pywikibot import config

    for name, path in family_files.items():
        config.family_files[name] = path
    return pywikibot


def _acquire(lock: Any, while_waiting: Callable[[], None] | None, step: float) -> None:
    """Take ``lock``, calling ``while_waiting`` every ``step`` seconds until it is ours."""
    if while_waiting is None:
        lock.acquire()
        return
    while not lock.acquire(timeout=step):
        while_waiting()


@contextmanager
def site_as(
    target: WikiTarget,
    creds: Credentials,
    family_files: dict[str, str],
    instance_path: str,
    *,
    while_waiting: Callable[[], None] | None = None,
    wait_step: float = 10.0,
) -> Iterator[Any]:
    """Yield a logged-in ``pywikibot.Site`` acting as ``creds.username``.

    While another thread of this process edits, ``while_waiting`` is called
    every ``wait_step`` seconds (a batch renews its lease there). A wiki that
    answers every signed request "Nonce already used" raises
    :class:`SignatureRefused` instead of being asked again forever.
    """
    pywikibot = load_pywikibot(family_files, instance_path)
    from pywikibot import config
    from pywikibot.comms import http
    from pywikibot.family import Family

    _acquire(_IDENTITY_LOCK, while_waiting, wait_step)
    guard = _NonceGuard()
    hooks = http.session.hooks["response"]
    hooks.append(guard)
    try:
        # pywikibot signs a request when its host has credentials: the host is
        # the family's, whatever the settings' api_url says.
        host = Family.load(target.family).hostname(target.code)
        if target.api_url and urlsplit(target.api_url).netloc != host:
            raise LoginRefused(
                f"the settings put {target.code} at {target.api_url}, but the pywikibot "
                f"family {target.family!r} at {host}: make them agree"
            )
        saved_auth = config.authenticate.get(host)
        saved_user = config.usernames[target.family].get(target.code)
        if creds.bearer:
            http.session.headers["Authorization"] = f"Bearer {creds.bearer}"
        elif creds.password:
            config.authenticate.pop(host, None)
        else:
            config.authenticate[host] = (
                creds.consumer_key,
                creds.consumer_secret,
                creds.token_key,
                creds.token_secret,
            )
        config.usernames[target.family][target.code] = creds.username
        try:
            site = pywikibot.Site(target.code, target.family, user=creds.username)
            # pywikibot caches one Site (and its CSRF token) per user: a token
            # of the volunteer's previous login would be refused once.
            if getattr(site, "_wikibridge_login", None) != creds.fingerprint:
                site.tokens.clear()
                site._wikibridge_login = creds.fingerprint
            if creds.password:
                _log_in_with_password(site, creds)
            elif creds.bearer:
                _check_bearer(site, creds)
            else:
                if not site.is_oauth_token_available():
                    raise LoginRefused(
                        f"no OAuth credentials for {host}: the WIKIS settings and the "
                        f"pywikibot family {target.family!r} disagree"
                    )
                site.login()
            yield site
        finally:
            http.session.headers.pop("Authorization", None)
            http.session.cookies.clear()
            if saved_auth is None:
                config.authenticate.pop(host, None)
            else:
                config.authenticate[host] = saved_auth
            if saved_user is None:
                config.usernames[target.family].pop(target.code, None)
            else:
                config.usernames[target.family][target.code] = saved_user
    finally:
        hooks.remove(guard)
        _IDENTITY_LOCK.release()


def _fresh_login_from_cookies(site: Any) -> None:
    """Read who the wiki thinks we are, without ever asking for a password.

    The cached ``Site`` may believe it is still logged in although its
    cookies or headers were cleared after the last use.
    """
    from pywikibot.login import LoginStatus

    del site.userinfo
    site._loginstatus = LoginStatus.NOT_ATTEMPTED
    site.login(cookie_only=True)


def _check_bearer(site: Any, creds: Credentials) -> None:
    """An OAuth 2 token is good when the wiki answers as its volunteer."""
    from pywikibot.exceptions import NoUsernameError

    _fresh_login_from_cookies(site)
    if site.userinfo.get("name") != creds.username:
        raise NoUsernameError(f"the wiki did not accept the OAuth 2 token of {creds.username}")


def _log_in_with_password(site: Any, creds: Credentials) -> None:
    """Log the bot in from its cookie file, or with its bot password when that fails."""
    from pywikibot.exceptions import APIError, NoUsernameError
    from pywikibot.login import ClientLoginManager

    _fresh_login_from_cookies(site)
    if site.logged_in():
        return
    manager = ClientLoginManager(site=site, user=creds.username)
    manager.login_name = (
        f"{creds.username}@{creds.password_suffix}" if creds.password_suffix else creds.username
    )
    manager.password = creds.password
    try:
        logged_in = manager.login(retry=False)
    except (NoUsernameError, APIError) as exc:
        raise LoginRefused(f"the wiki refused the bot login of {creds.username}: {exc}") from exc
    if not logged_in:
        raise LoginRefused(f"the wiki refused the bot login of {creds.username}")
    _fresh_login_from_cookies(site)
