"""The sandbox wikis: a local ``commons`` and ``meta`` for development and tests.

Both wikis run from Debian's one MediaWiki code tree (``/usr/share/mediawiki``);
each has its own settings file (MediaWiki 1.39 reads ``MW_CONFIG_FILE``), SQLite
databases, upload folder and ``php -S`` server on 127.0.0.1. Everything lives in
a state directory outside the git tree::

    state_dir/
        sandbox.json            accounts and urls (mode 0600), see SandboxState
        families/sandbox_family.py
        commons/ meta/          LocalSettings.php, Sandbox.php (regenerated),
                                Extra.php (optional hook for tests), db/, images/,
                                cache/, server.log, server.pid, done/ (step markers)

:func:`up` is idempotent: it returns at once when the wikis already answer, and
otherwise only does the steps whose marker is missing or out of date.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wikibridge.sandbox import seed
from wikibridge.sandbox.family import write_family_file

__all__ = [
    "BOT_APP_ID",
    "PROXY_APP_ID",
    "RATE_LIMITED_GROUPS",
    "Account",
    "BotAccount",
    "SandboxError",
    "SandboxState",
    "SandboxWiki",
    "Volunteer",
    "down",
    "load_state",
    "status",
    "up",
]

log = logging.getLogger(__name__)

MW_ROOT = Path("/usr/share/mediawiki")
PACKAGES = ("mediawiki", "php-cli", "php-sqlite3", "php-intl", "php-mbstring", "php-xml")
ROUTER = Path(__file__).with_name("router.php")
STATE_FILE = "sandbox.json"
FAMILY_NAME = "sandbox"
WIKI_TITLES = {"commons": "Sandbox Commons", "meta": "Sandbox Meta"}
EXTENSIONS = ("ParserFunctions", "AbuseFilter")

BOT_APP_ID = "wikibridge"
PROXY_APP_ID = "oauthproxy"
# The bot does maintenance a sysop would do; the proxy acts for a volunteer and
# gets ordinary editing, never protection or deletion.
BOT_GRANTS = (
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "uploadfile",
    "uploadeditmovefile",
    "editprotected",
    "protect",
    "delete",
    "patrol",
    "rollback",
    "blockusers",
    "editmywatchlist",
    "viewmywatchlist",
)
PROXY_GRANTS = (
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "uploadfile",
    "uploadeditmovefile",
    "editmywatchlist",
    "viewmywatchlist",
)
# MediaWiki only treats a password as a bot password if it matches [0-9a-w]{32,};
# anything else fails with a misleading "incorrect username or password".
_BOTPASSWORD_ALPHABET = "0123456789abcdefghijklmnopqrstuvw"
# (username, groups, blocked)
_VOLUNTEERS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Alice", ("vrt-permissions",), False),
    ("Bob", (), False),
    ("Carol Example", ("vrt-permissions",), False),
    ("Mallory", (), True),
    # Uploaded the Example Museum photos (seed.MUSEUM_FILES): a user to list by.
    (seed.UPLOADER, (), False),
)
_MARKER = ".wikibridge-sandbox"
_READY = "ready"
_SWITCHES = "switches"
# Groups that lose ``noratelimit`` while the ratelimit switch is on: the sandbox
# grants it to ``user``, MediaWiki to ``bot`` and ``sysop``.
RATE_LIMITED_GROUPS = ("user", "bot", "sysop")
_SERVER_START_TIMEOUT = 60.0
_SCRIPT_TIMEOUT = 900.0


class SandboxError(RuntimeError):
    """The sandbox cannot be set up, started or read; the message says what to do."""


@dataclass(frozen=True)
class SandboxWiki:
    """One sandbox wiki and where its files are."""

    name: str
    port: int
    url: str
    api_url: str
    index_url: str
    config_file: Path
    db_dir: Path
    upload_dir: Path
    #: PHP file included at the end of the settings if it exists: tests write
    #: settings there (rate limits, abuse filters, maxlag hooks).
    extra_settings: Path

    @property
    def dir(self) -> Path:
        """The wiki's directory."""
        return self.config_file.parent

    @property
    def log_file(self) -> Path:
        """Output of the wiki's web server."""
        return self.dir / "server.log"

    @property
    def pid_file(self) -> Path:
        """Process id of the wiki's web server while it runs."""
        return self.dir / "server.pid"

    @property
    def switches_dir(self) -> Path:
        """Files here turn faults on; the generated settings read them per request."""
        return self.dir / _SWITCHES

    def simulate_lag(self, seconds: float, requests: int = 1) -> None:
        """Report *seconds* of replication lag to the next *requests* maxlag API requests.

        Only API requests carrying ``maxlag`` count (and see the lag); with
        ``maxlag`` below *seconds* they get MediaWiki's own ``maxlag`` error,
        with ``Retry-After`` and ``X-Database-Lag``. The switch file
        ``switches/maxlag`` ("LAG COUNT") goes away when the count is used up.
        """
        if seconds < 0 or requests < 1:
            raise ValueError("lag needs seconds >= 0 and requests >= 1")
        self._write_switch("maxlag", f"{seconds:g} {int(requests)}")

    def rate_limit(
        self, edits: int, seconds: int, groups: Sequence[str] = RATE_LIMITED_GROUPS
    ) -> None:
        """Allow each user *edits* edits per *seconds*; more answer ``ratelimited``.

        *groups* lose ``noratelimit`` meanwhile (by default everyone, bots and
        admins too). Counters of earlier limits are reset. The switch file
        ``switches/ratelimit`` ("EDITS SECONDS GROUP,...") stays until
        :meth:`clear_switches`.
        """
        if edits < 1 or seconds < 1:
            raise ValueError("a rate limit needs edits >= 1 and seconds >= 1")
        if not groups or not all(re.fullmatch(r"[a-z0-9_-]+", group) for group in groups):
            raise ValueError(f"bad group names {groups!r}")
        self.reset_rate_limit_counters()
        self._write_switch("ratelimit", f"{int(edits)} {int(seconds)} {','.join(groups)}")

    def clear_switches(self) -> None:
        """Turn every fault switch off (lag, rate limits) and forget rate counters."""
        directory = self.switches_dir
        if directory.is_dir():
            for path in directory.iterdir():
                if not path.name.startswith("."):
                    path.unlink(missing_ok=True)
        self.reset_rate_limit_counters()

    def reset_rate_limit_counters(self) -> None:
        """Forget what the rate limiter counted (kept in the SQLite object cache)."""
        cache = self.db_dir / "wikicache.sqlite"
        if not cache.is_file():
            return
        with contextlib.closing(sqlite3.connect(cache, timeout=30)) as db, db:
            db.execute("DELETE FROM objectcache WHERE keyname LIKE '%limiter%'")

    def _write_switch(self, name: str, content: str) -> None:
        self.switches_dir.mkdir(exist_ok=True)
        path = self.switches_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(content + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def at(cls, state_dir: Path, name: str, port: int) -> SandboxWiki:
        """Describe wiki *name* served on *port* from *state_dir*."""
        url = f"http://127.0.0.1:{port}"
        directory = state_dir / name
        return cls(
            name=name,
            port=port,
            url=url,
            api_url=f"{url}/api.php",
            index_url=f"{url}/index.php",
            config_file=directory / "LocalSettings.php",
            db_dir=directory / "db",
            upload_dir=directory / "images",
            extra_settings=directory / "Extra.php",
        )


@dataclass(frozen=True)
class Account:
    """A user account with the same password on every sandbox wiki."""

    username: str
    password: str


@dataclass(frozen=True)
class BotAccount:
    """The wikibridge bot user and its bot password."""

    username: str
    password: str
    groups: list[str]
    botpassword_name: str
    botpassword: str
    grants: list[str]

    @property
    def login_name(self) -> str:
        """User name for ``action=login`` with the bot password."""
        return f"{self.username}@{self.botpassword_name}"


@dataclass(frozen=True)
class Volunteer:
    """A sample VRT volunteer (or would-be volunteer) on both wikis.

    ``proxy_botpassword`` lets the sandbox OAuth provider act as this user on the
    real wiki: log in as :attr:`proxy_login_name` with it.
    """

    username: str
    password: str
    groups: list[str]
    blocked: bool
    proxy_botpassword: str
    proxy_botpassword_name: str = PROXY_APP_ID
    proxy_grants: list[str] = field(default_factory=lambda: list(PROXY_GRANTS))

    @property
    def proxy_login_name(self) -> str:
        """User name for ``action=login`` with the proxy bot password."""
        return f"{self.username}@{self.proxy_botpassword_name}"


@dataclass(frozen=True)
class SandboxState:
    """Everything a client of the sandbox needs, as stored in ``sandbox.json``."""

    dir: Path
    wikis: dict[str, SandboxWiki]
    admin: Account
    bot: BotAccount
    volunteers: list[Volunteer]
    files: list[str]
    family_file: Path

    @property
    def commons(self) -> SandboxWiki:
        """The sandbox Commons."""
        return self.wikis["commons"]

    @property
    def meta(self) -> SandboxWiki:
        """The sandbox Meta."""
        return self.wikis["meta"]

    def volunteer(self, username: str) -> Volunteer:
        """The sample volunteer called *username*."""
        for volunteer in self.volunteers:
            if volunteer.username == username:
                return volunteer
        raise KeyError(username)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, login names spelt out)."""
        return {
            "dir": str(self.dir),
            "wikis": {
                name: {
                    key: str(value) if isinstance(value, Path) else value
                    for key, value in vars(wiki).items()
                }
                for name, wiki in self.wikis.items()
            },
            "admin": vars(self.admin),
            "bot": {**vars(self.bot), "login_name": self.bot.login_name},
            "volunteers": [
                {**vars(v), "proxy_login_name": v.proxy_login_name} for v in self.volunteers
            ],
            "files": list(self.files),
            "family_file": str(self.family_file),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxState:
        """Rebuild a state from :meth:`to_json` output."""
        path_keys = {"config_file", "db_dir", "upload_dir", "extra_settings"}
        wikis = {}
        for name, wiki in data["wikis"].items():
            fields: dict[str, Any] = {
                key: Path(value) if key in path_keys else value for key, value in wiki.items()
            }
            wikis[name] = SandboxWiki(**fields)
        bot = {key: value for key, value in data["bot"].items() if key != "login_name"}
        volunteers = [
            Volunteer(**{key: value for key, value in v.items() if key != "proxy_login_name"})
            for v in data["volunteers"]
        ]
        return cls(
            dir=Path(data["dir"]),
            wikis=wikis,
            admin=Account(**data["admin"]),
            bot=BotAccount(**bot),
            volunteers=volunteers,
            files=list(data["files"]),
            family_file=Path(data["family_file"]),
        )


# --- public API ---------------------------------------------------------------


def up(
    state_dir: Path,
    *,
    commons_port: int = 8181,
    meta_port: int = 8182,
    install: bool = True,
) -> SandboxState:
    """Make sure both sandbox wikis exist, are seeded and are served; return their state.

    Returns at once when the state file is complete and both servers answer.
    Otherwise installs the Debian packages if *install* and they are missing,
    creates what is missing and (re)starts servers that are down.

    :param state_dir: where wikis, databases and the state file live (created)
    :param commons_port: port of the commons server on 127.0.0.1
    :param meta_port: port of the meta server on 127.0.0.1
    :param install: run apt-get when MediaWiki or PHP is missing
    :raises SandboxError: with a message saying what went wrong and what to do
    """
    state_dir = state_dir.expanduser().absolute()
    ports = {"commons": commons_port, "meta": meta_port}
    if len(set(ports.values())) != len(ports):
        raise SandboxError(f"commons and meta need different ports, got {ports}")
    state = _ready_state(state_dir, ports)
    if state is not None:
        return state
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    with _locked(state_dir):
        # Another process may have finished the work while we waited for the lock.
        state = _ready_state(state_dir, ports)
        if state is not None:
            return state
        started = time.monotonic()
        _ensure_packages(install)
        state = _prepare_state(state_dir, ports)
        _clear_ready(state_dir)
        with ThreadPoolExecutor(max_workers=len(state.wikis)) as pool:
            for future in [pool.submit(_build_wiki, state, w) for w in state.wikis.values()]:
                future.result()
        write_family_file(
            state.family_file,
            FAMILY_NAME,
            {name: (f"127.0.0.1:{wiki.port}", "") for name, wiki in state.wikis.items()},
        )
        (state_dir / _READY).write_text(_fingerprint(state) + "\n", encoding="utf-8")
        log.info("sandbox ready in %.1f s", time.monotonic() - started)
        return state


def down(state_dir: Path) -> None:
    """Stop the sandbox wiki servers; databases, uploads and accounts stay."""
    state_dir = state_dir.expanduser().absolute()
    for name in WIKI_TITLES:
        _stop_server(state_dir / name / "server.pid")


def status(state_dir: Path) -> list[str]:
    """Human-readable lines: each wiki's url, whether its server runs, its pid."""
    state_dir = state_dir.expanduser().absolute()
    try:
        state = load_state(state_dir)
    except SandboxError as exc:
        return [str(exc)]
    lines = [f"sandbox in {state.dir}"]
    for wiki in state.wikis.values():
        pid = _server_pid(wiki.pid_file)
        if pid is None:
            lines.append(f"{wiki.name}: {wiki.url} stopped")
        else:
            answers = "running" if _answers(wiki) else "started but not answering"
            lines.append(f"{wiki.name}: {wiki.url} {answers} (pid {pid})")
    return lines


def load_state(state_dir: Path) -> SandboxState:
    """Read the state file written by :func:`up`.

    :raises SandboxError: there is no readable state file in *state_dir*
    """
    path = state_dir.expanduser().absolute() / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SandboxState.from_json(data)
    except FileNotFoundError:
        raise SandboxError(
            f"no sandbox in {path.parent}: run `wikibridge sandbox up --dir {path.parent}`"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SandboxError(
            f"{path} is damaged ({exc}); remove it and run `wikibridge sandbox up`"
        ) from exc


# --- state --------------------------------------------------------------------


def _ready_state(state_dir: Path, ports: dict[str, int]) -> SandboxState | None:
    """The state, if everything is done and both servers answer; else None."""
    ready = state_dir / _READY
    try:
        state = load_state(state_dir)
        fingerprint = ready.read_text(encoding="utf-8").strip()
    except (SandboxError, OSError):
        return None
    if {name: wiki.port for name, wiki in state.wikis.items()} != ports:
        return None
    if fingerprint != _fingerprint(state):
        return None
    # The pid check makes sure the answer comes from this sandbox's server, not
    # from another sandbox directory's wiki of the same name on the same port.
    if all(
        _server_pid(wiki.pid_file, wiki.port) is not None and _answers(wiki)
        for wiki in state.wikis.values()
    ):
        return state
    return None


def _clear_ready(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / _READY).unlink()


def _fingerprint(state: SandboxState) -> str:
    """Hash of what up() would set up, so a changed seed or setting is redone."""
    parts = [
        json.dumps(state.to_json(), sort_keys=True),
        *(_settings_php(wiki) for wiki in state.wikis.values()),
        json.dumps(seed.COMMONS_PAGES, sort_keys=True),
        json.dumps(seed.META_PAGES, sort_keys=True),
        *(sample.description() for sample in seed.SAMPLE_FILES),
        *(sample.description() for sample in seed.MUSEUM_FILES),
        json.dumps(seed.ABUSE_FILTERS, sort_keys=True),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _write_state(state: SandboxState) -> None:
    path = state.dir / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state.to_json(), out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def _password() -> str:
    # Never a leading "-": createAndPromote.php would read the password as an option.
    return "w" + secrets.token_urlsafe(18)


def _botpassword() -> str:
    return "".join(secrets.choice(_BOTPASSWORD_ALPHABET) for _ in range(32))


def _with_new_volunteers(volunteers: list[Volunteer]) -> list[Volunteer]:
    """*volunteers* of a saved state plus sample users added to the code since."""
    known = {volunteer.username for volunteer in volunteers}
    return [
        *volunteers,
        *(
            Volunteer(name, _password(), list(groups), blocked, _botpassword())
            for name, groups, blocked in _VOLUNTEERS
            if name not in known
        ),
    ]


def _new_state(state_dir: Path, ports: dict[str, int]) -> SandboxState:
    password = _password
    botpassword = _botpassword

    return SandboxState(
        dir=state_dir,
        wikis={name: SandboxWiki.at(state_dir, name, port) for name, port in ports.items()},
        admin=Account("Admin", password()),
        bot=BotAccount(
            username="WikibridgeBot",
            password=password(),
            groups=["bot", "sysop"],
            botpassword_name=BOT_APP_ID,
            botpassword=botpassword(),
            grants=list(BOT_GRANTS),
        ),
        volunteers=[
            Volunteer(name, password(), list(groups), blocked, botpassword())
            for name, groups, blocked in _VOLUNTEERS
        ],
        files=[sample.title for sample in seed.SAMPLE_FILES],
        family_file=state_dir / "families" / f"{FAMILY_NAME}_family.py",
    )


def _prepare_state(state_dir: Path, ports: dict[str, int]) -> SandboxState:
    """Load the state (with the requested ports) or create it, and save it.

    The state is saved before any account exists, so that a run that fails half
    way is resumed with the same passwords.
    """
    if (state_dir / STATE_FILE).is_file():
        state = load_state(state_dir)
        wikis = {}
        for name, port in ports.items():
            wiki = SandboxWiki.at(state_dir, name, port)
            if name in state.wikis and state.wikis[name].port != port:
                log.info("%s moves to port %d", name, port)
                _stop_server(wiki.pid_file)
            wikis[name] = wiki
        state = replace(
            state,
            dir=state_dir,
            wikis=wikis,
            files=[sample.title for sample in seed.SAMPLE_FILES],
            volunteers=_with_new_volunteers(state.volunteers),
        )
    else:
        state = _new_state(state_dir, ports)
        # Wikis without a state file have accounts whose passwords are lost:
        # rebuild them rather than hand out credentials that do not work.
        for wiki in state.wikis.values():
            if wiki.dir.exists():
                _check_ours(wiki)
                log.info("%s has no state file: rebuilding %s", wiki.name, wiki.dir)
                _stop_server(wiki.pid_file)
                shutil.rmtree(wiki.dir)
    _write_state(state)
    return state


def _check_ours(wiki: SandboxWiki) -> None:
    if wiki.dir.exists() and any(wiki.dir.iterdir()) and not (wiki.dir / _MARKER).exists():
        raise SandboxError(
            f"{wiki.dir} exists but was not made by wikibridge; choose another --dir"
        )


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise up() across processes (e.g. parallel test workers)."""
    with open(state_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- packages -----------------------------------------------------------------


def _missing_packages() -> list[str]:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")
    }
    return [package for package in PACKAGES if package not in installed]


def _ensure_packages(install: bool) -> None:
    """Install MediaWiki and PHP from Debian when missing; keep Apache stopped."""
    if shutil.which("dpkg-query") and shutil.which("apt-get"):
        missing = _missing_packages()
        if missing:
            if not install:
                raise SandboxError(
                    f"missing packages {' '.join(missing)}: install them or run up with "
                    "install enabled"
                )
            _apt_install(missing)
        _stop_apache()
    if not (MW_ROOT / "maintenance" / "install.php").is_file() or not shutil.which("php"):
        raise SandboxError(
            f"MediaWiki ({MW_ROOT}) or php is missing: install the Debian packages "
            f"{' '.join(PACKAGES)}"
        )


def _apt_install(packages: list[str]) -> None:
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SandboxError(
                f"installing {' '.join(packages)} needs root: run `sudo apt-get install "
                f"{' '.join(packages)}`"
            )
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [
        *prefix,
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=600",
        *packages,
    ]
    log.info("installing %s", " ".join(packages))
    result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # Fresh machines and containers often have no package lists yet.
        log.info("apt-get install failed, updating package lists and retrying")
        _run([*prefix, "apt-get", "update", "-o", "DPkg::Lock::Timeout=600"], env=env)
        _run(install, env=env)


def _apache_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "apache2":
                pids.append(int(entry.name))
    return pids


def _stop_apache() -> None:
    """Stop the Apache that the mediawiki package pulls in: the sandbox uses php -S."""
    if not _apache_pids():
        return
    log.info("stopping apache2 (installed as a dependency of mediawiki, not used)")
    for command in (
        ["systemctl", "stop", "apache2"],
        ["service", "apache2", "stop"],
        ["apache2ctl", "-k", "stop"],
    ):
        if command[0] == "systemctl" and not Path("/run/systemd/system").is_dir():
            continue  # installed but not the init system (containers)
        if shutil.which(command[0]):
            result = subprocess.run(command, capture_output=True, check=False)
            if result.returncode != 0:
                continue
            for _ in range(50):
                if not _apache_pids():
                    return
                time.sleep(0.1)
    log.warning("apache2 is still running; the sandbox does not need it")


# --- building one wiki --------------------------------------------------------


def _build_wiki(state: SandboxState, wiki: SandboxWiki) -> None:
    """Create, configure, start and seed one wiki, skipping steps already done."""
    _check_ours(wiki)
    for directory in (
        wiki.dir,
        wiki.db_dir,
        wiki.upload_dir,
        wiki.dir / "cache",
        wiki.dir / "done",
    ):
        directory.mkdir(parents=True, exist_ok=True)
    (wiki.dir / _MARKER).touch()
    _step(wiki, "install", "1", lambda: _install(state, wiki))
    _write_if_changed(wiki.dir / "Sandbox.php", _settings_php(wiki))
    _step(wiki, "update", ",".join(EXTENSIONS), lambda: _php(wiki, "update.php", "--quick"))
    _ensure_server(wiki)
    _step(
        wiki,
        "accounts",
        _digest(state.bot, state.volunteers),
        lambda: _create_accounts(state, wiki),
    )
    # Templates before the files, so file pages render with them from the start.
    pages = seed.COMMONS_PAGES if wiki.name == "commons" else seed.META_PAGES
    _step(wiki, "pages", _digest(pages), lambda: _seed_pages(state, wiki, pages))
    if wiki.name == "commons":
        _step(
            wiki,
            "files",
            _digest([s.description() for s in seed.SAMPLE_FILES]),
            lambda: _upload_files(state, wiki),
        )
        _step(
            wiki,
            "museum",
            _digest([s.description() for s in seed.MUSEUM_FILES]),
            lambda: _upload_museum_files(state, wiki),
        )
        _step(
            wiki,
            "abusefilters",
            _digest(seed.ABUSE_FILTERS),
            lambda: seed.install_abuse_filters(wiki.db_dir / f"{wiki.name}.sqlite"),
        )
    # Edits queue jobs (links, caches) that web requests would run one at a time;
    # run them now so pages render with the current templates.
    _php(wiki, "runJobs.php", "--quiet")


def _digest(*values: object) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def _step(wiki: SandboxWiki, name: str, fingerprint: str, action: Callable[[], object]) -> None:
    """Run *action* unless the step's marker holds *fingerprint* (done before)."""
    marker = wiki.dir / "done" / name
    with contextlib.suppress(FileNotFoundError):
        if marker.read_text(encoding="utf-8") == fingerprint:
            return
    log.info("%s: %s", wiki.name, name)
    action()
    marker.write_text(fingerprint, encoding="utf-8")


def _write_if_changed(path: Path, text: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == text:
            return
    path.write_text(text, encoding="utf-8")


_INCLUDE_BLOCK = """
# --- wikibridge sandbox: generated settings, then the hook file for tests ---
require __DIR__ . '/Sandbox.php';
if ( is_file( __DIR__ . '/Extra.php' ) ) {
\trequire __DIR__ . '/Extra.php';
}
"""


def _install(state: SandboxState, wiki: SandboxWiki) -> None:
    """Run MediaWiki's installer; a half-done earlier attempt is wiped first."""
    _stop_server(wiki.pid_file)
    wiki.config_file.unlink(missing_ok=True)
    shutil.rmtree(wiki.db_dir, ignore_errors=True)
    wiki.db_dir.mkdir()
    _run(
        [
            _php_binary(),
            str(MW_ROOT / "maintenance" / "install.php"),
            "--dbtype",
            "sqlite",
            "--dbpath",
            str(wiki.db_dir),
            "--dbname",
            wiki.name,
            "--server",
            wiki.url,
            "--scriptpath",
            "",
            "--confpath",
            str(wiki.dir),
            "--lang",
            "en",
            "--pass",
            state.admin.password,
            WIKI_TITLES[wiki.name],
            state.admin.username,
        ],
        cwd=wiki.dir,
    )
    with wiki.config_file.open("a", encoding="utf-8") as settings:
        settings.write(_INCLUDE_BLOCK)
    # It holds $wgSecretKey.
    wiki.config_file.chmod(0o600)


def _php_string(value: str | Path) -> str:
    """A PHP single-quoted string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


_SWITCHES_PHP = r"""
// --- fault switches: files in switches/ that tests write (SandboxWiki methods) ---
$wikibridgeSwitches = __DIR__ . '/switches';

// switches/maxlag "LAG COUNT": the next COUNT API requests with a maxlag
// parameter see LAG seconds of lag (a single SQLite database never lags).
$wgHooks['ApiMaxLagInfo'][] = static function ( &$lagInfo ) use ( $wikibridgeSwitches ) {
	$file = $wikibridgeSwitches . '/maxlag';
	if ( !is_file( $file ) ) {
		return;
	}
	$handle = @fopen( $file, 'r+' );
	if ( $handle === false ) {
		return;
	}
	flock( $handle, LOCK_EX );
	// Another request may have used up the count and removed it while we waited.
	if ( fstat( $handle )['nlink'] > 0 ) {
		$parts = preg_split( '/\s+/', trim( (string)stream_get_contents( $handle ) ) );
		$lag = (float)( $parts[0] ?? 0 );
		$count = (int)( $parts[1] ?? 0 );
		if ( $count > 0 && $lag > $lagInfo['lag'] ) {
			$lagInfo = [ 'host' => 'sandbox-replica', 'lag' => $lag, 'type' => 'db' ];
		}
		if ( --$count > 0 ) {
			ftruncate( $handle, 0 );
			rewind( $handle );
			fwrite( $handle, "$lag $count\n" );
		} else {
			unlink( $file );
		}
	}
	flock( $handle, LOCK_UN );
	fclose( $handle );
};

// switches/ratelimit "EDITS SECONDS GROUP,...": those groups lose noratelimit and
// every user may edit EDITS times per SECONDS; counters live in the SQLite
// object cache (CACHE_DB), checked only while the switch is on.
if ( is_file( $wikibridgeSwitches . '/ratelimit' ) ) {
	$wikibridgeLimit = preg_split(
		'/\s+/', trim( (string)@file_get_contents( $wikibridgeSwitches . '/ratelimit' ) )
	);
	if ( count( $wikibridgeLimit ) >= 2 ) {
		$wikibridgeGroups = isset( $wikibridgeLimit[2] )
			? explode( ',', $wikibridgeLimit[2] ) : [ 'user', 'bot', 'sysop' ];
		foreach ( $wikibridgeGroups as $wikibridgeGroup ) {
			$wgGroupPermissions[$wikibridgeGroup]['noratelimit'] = false;
		}
		$wgRateLimits['edit']['user'] = [ (int)$wikibridgeLimit[0], (int)$wikibridgeLimit[1] ];
		$wgRateLimits['edit']['newbie'] = $wgRateLimits['edit']['user'];
		$wgStatsCacheType = CACHE_DB;
	}
}
"""


def _settings_php(wiki: SandboxWiki) -> str:
    """The generated part of the wiki's settings (rewritten by every slow up())."""
    extensions = "\n".join(f"wfLoadExtension( {_php_string(e)} );" for e in EXTENSIONS)
    return (
        f"""<?php
// Generated by wikibridge.sandbox.wikis on `up`; put your own settings in Extra.php.
$wgServer = {_php_string(wiki.url)};
$wgCanonicalServer = $wgServer;
$wgScriptPath = '';
$wgArticlePath = '/wiki/$1';
$wgCacheDirectory = {_php_string(wiki.dir / "cache")};
$wgShowExceptionDetails = true;

$wgEnableUploads = true;
$wgUploadDirectory = {_php_string(wiki.upload_dir)};
$wgUploadPath = '/images';
$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'webp', 'svg', 'pdf' ];
// The installer found a `convert` that may not be ImageMagick; without a renderer
// thumbnails fail only when asked for, not on every page view.
$wgUseImageMagick = false;
$wgGenerateThumbnailOnParse = false;
$wgUseInstantCommons = false;

{extensions}

$wgEnableBotPasswords = true;
$wgGroupPermissions['vrt-permissions']['read'] = true;
$wgAddGroups['sysop'][] = 'vrt-permissions';
$wgRemoveGroups['sysop'][] = 'vrt-permissions';

// Seeding and tests edit fast: no rate limit and no login throttle for now.
// A test that needs them turns them back on in Extra.php, e.g.
// $wgGroupPermissions['user']['noratelimit'] = false; $wgRateLimits['edit']['user'] = [ 3, 60 ];
$wgGroupPermissions['user']['noratelimit'] = true;
$wgPasswordAttemptThrottle = [];

"""
        + _SWITCHES_PHP
    )


def _php_binary() -> str:
    return shutil.which("php") or "/usr/bin/php"


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=_SCRIPT_TIMEOUT,
        **kwargs,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise SandboxError(f"{' '.join(command[:3])} failed ({result.returncode}):\n{output}")
    return result


def _php(wiki: SandboxWiki, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a MediaWiki maintenance script against *wiki*."""
    env = {**os.environ, "MW_CONFIG_FILE": str(wiki.config_file)}
    return _run(
        [_php_binary(), str(MW_ROOT / "maintenance" / script), *args], env=env, cwd=wiki.dir
    )


def _create_accounts(state: SandboxState, wiki: SandboxWiki) -> None:
    """The bot and the volunteers, with their bot passwords (same on every wiki)."""
    bot = state.bot
    roles = [f"--{group}" for group in bot.groups]
    _php(wiki, "createAndPromote.php", "--force", *roles, bot.username, bot.password)
    _bot_password(wiki, bot.username, bot.botpassword_name, bot.botpassword, bot.grants)
    for volunteer in state.volunteers:
        groups = ["--custom-groups", ",".join(volunteer.groups)] if volunteer.groups else []
        _php(
            wiki, "createAndPromote.php", "--force", *groups, volunteer.username, volunteer.password
        )
        _bot_password(
            wiki,
            volunteer.username,
            volunteer.proxy_botpassword_name,
            volunteer.proxy_botpassword,
            volunteer.proxy_grants,
        )


def _bot_password(
    wiki: SandboxWiki, username: str, app_id: str, password: str, grants: list[str]
) -> None:
    # createAndPromote --force sets the main password again, which invalidates
    # the user's bot passwords ("must be reset"): make this one afresh.
    database = wiki.db_dir / f"{wiki.name}.sqlite"
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as db, db:
        db.execute(
            "DELETE FROM bot_passwords WHERE bp_app_id = ? AND bp_user ="
            " (SELECT user_id FROM user WHERE user_name = ?)",
            (app_id, username),
        )
    try:
        _php(
            wiki,
            "createBotPassword.php",
            "--appid",
            app_id,
            "--grants",
            ",".join(grants),
            username,
            password,
        )
    except SandboxError as exc:
        # A resumed run finds the bot password of the first attempt, made from the
        # same saved state.
        if "already exist" not in str(exc):
            raise


def _upload_files(state: SandboxState, wiki: SandboxWiki) -> None:
    """Sample files through the API, which sets their description pages exactly."""
    with seed.AdminSession(wiki.api_url) as api:
        api.login(state.admin.username, state.admin.password)
        for sample in seed.SAMPLE_FILES:
            api.upload(sample, comment="Sample file of the wikibridge sandbox")


def _upload_museum_files(state: SandboxState, wiki: SandboxWiki) -> None:
    """The Example Museum photos, uploaded by their own user (listable by uploader)."""
    uploader = state.volunteer(seed.UPLOADER)
    with seed.AdminSession(wiki.api_url) as api:
        api.login(uploader.username, uploader.password)
        for sample in seed.MUSEUM_FILES:
            api.upload(sample, comment="Photo from the Example Museum")


def _seed_pages(state: SandboxState, wiki: SandboxWiki, pages: dict[str, str]) -> None:
    """Pages and blocks through the API as Admin (no maintenance script blocks)."""
    with seed.AdminSession(wiki.api_url) as api:
        api.login(state.admin.username, state.admin.password)
        for title, text in pages.items():
            api.edit(title, text, summary="Seed the wikibridge sandbox")
        for volunteer in state.volunteers:
            if volunteer.blocked:
                api.block(volunteer.username, reason="Sample blocked user of the sandbox")


# --- servers ------------------------------------------------------------------

# Popen objects of the servers this process started, kept so they are reaped
# (no zombies while we run) and never garbage-collected with a warning.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _answers(wiki: SandboxWiki, timeout: float = 5.0) -> bool:
    """Whether *wiki*'s API answers siteinfo as that wiki."""
    url = f"{wiki.api_url}?action=query&meta=siteinfo&format=json"
    # No proxy: an http_proxy from the environment must not see 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            body = json.load(response)
    except (OSError, ValueError):
        return False
    return bool(body.get("query", {}).get("general", {}).get("wikiid") == wiki.name)


def _server_pid(pid_file: Path, port: int | None = None) -> int | None:
    """The pid in *pid_file* if it is a live ``php -S`` with our router (on *port*)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
    # A pid file can outlive its process, and the pid be reused by another.
    if b"-S" not in cmdline or not any(arg.endswith(b"router.php") for arg in cmdline):
        return None
    if port is not None and f"127.0.0.1:{port}".encode() not in cmdline:
        return None
    return None if state == "Z" else pid


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _ensure_server(wiki: SandboxWiki) -> None:
    """Start the wiki's server unless it runs; wait until it answers."""
    if _server_pid(wiki.pid_file, wiki.port) is not None and _answers(wiki):
        return
    # Not running, on another port, or hung: start afresh.
    _stop_server(wiki.pid_file)
    if not _port_free(wiki.port):
        raise SandboxError(
            f"port {wiki.port} for {wiki.name} is taken by another program: stop it or "
            f"choose another port (--{wiki.name}-port)"
        )
    env = {
        **os.environ,
        "MW_CONFIG_FILE": str(wiki.config_file),
        "WIKIBRIDGE_UPLOAD_DIR": str(wiki.upload_dir),
        "PHP_CLI_SERVER_WORKERS": "4",
    }
    command = [
        _php_binary(),
        # Debian's CLI defaults (2 MB uploads) are too small for upload tests.
        "-d",
        "upload_max_filesize=100M",
        "-d",
        "post_max_size=100M",
        "-d",
        "display_errors=0",
        "-d",
        "log_errors=1",
        # -q: no line per request in the log, only PHP's errors and warnings.
        "-q",
        "-S",
        f"127.0.0.1:{wiki.port}",
        "-t",
        str(MW_ROOT),
        str(ROUTER),
    ]
    with wiki.log_file.open("ab") as server_log:
        process = subprocess.Popen(
            command,
            cwd=wiki.dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    wiki.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + _SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(wiki):
            log.info("%s: serving %s (pid %d)", wiki.name, wiki.url, process.pid)
            return
        time.sleep(0.1)
    _stop_server(wiki.pid_file)
    tail = wiki.log_file.read_text(errors="replace")[-2000:]
    raise SandboxError(f"{wiki.name} did not start on {wiki.url}; {wiki.log_file} ends:\n{tail}")


def _stop_server(pid_file: Path) -> None:
    """Stop the server's whole process group (the PHP workers too)."""
    pid = _server_pid(pid_file)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _server_pid(pid_file) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if _server_pid(pid_file) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=10)
    pid_file.unlink(missing_ok=True)
