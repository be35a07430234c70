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

The work is split by what it does: :mod:`~wikibridge_sandbox.state` holds the
data classes and constants, :mod:`~wikibridge_sandbox.packages` the Debian
packages, :mod:`~wikibridge_sandbox.build` builds one wiki and
:mod:`~wikibridge_sandbox.servers` runs the ``php -S`` servers; this module is
the public API and keeps the state file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from wikibridge_sandbox import seed
from wikibridge_sandbox.build import build_wiki, check_ours, settings_php
from wikibridge_sandbox.family import write_family_file
from wikibridge_sandbox.packages import ensure_packages
from wikibridge_sandbox.servers import server_pid, stop_server, wiki_answers
from wikibridge_sandbox.state import (
    BOT_APP_ID,
    BOT_GRANTS,
    PROXY_APP_ID,
    RATE_LIMITED_GROUPS,
    WIKI_TITLES,
    Account,
    BotAccount,
    SandboxError,
    SandboxState,
    SandboxWiki,
    Volunteer,
)

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

STATE_FILE = "sandbox.json"
FAMILY_NAME = "sandbox"
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
_READY = "ready"


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
        ensure_packages(install)
        state = _prepare_state(state_dir, ports)
        _clear_ready(state_dir)
        with ThreadPoolExecutor(max_workers=len(state.wikis)) as pool:
            for future in [pool.submit(build_wiki, state, w) for w in state.wikis.values()]:
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
        stop_server(state_dir / name / "server.pid")


def status(state_dir: Path) -> list[str]:
    """Human-readable lines: each wiki's url, whether its server runs, its pid."""
    state_dir = state_dir.expanduser().absolute()
    try:
        state = load_state(state_dir)
    except SandboxError as exc:
        return [str(exc)]
    lines = [f"sandbox in {state.dir}"]
    for wiki in state.wikis.values():
        pid = server_pid(wiki.pid_file)
        if pid is None:
            lines.append(f"{wiki.name}: {wiki.url} stopped")
        else:
            answers = "running" if wiki_answers(wiki) else "started but not answering"
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
        server_pid(wiki.pid_file, wiki.port) is not None and wiki_answers(wiki)
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
        *(settings_php(wiki) for wiki in state.wikis.values()),
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
                stop_server(wiki.pid_file)
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
                check_ours(wiki)
                log.info("%s has no state file: rebuilding %s", wiki.name, wiki.dir)
                stop_server(wiki.pid_file)
                shutil.rmtree(wiki.dir)
    _write_state(state)
    return state


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise up() across processes (e.g. parallel test workers)."""
    with open(state_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
