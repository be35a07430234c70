"""A local OAuth provider speaking MediaWiki's OAuth 1.0a and 2.0, for the sandbox wikis.

Debian's MediaWiki has no OAuth extension, so tests and ``make run`` log in
through this provider instead. It runs as its own process on one port and
fronts every sandbox wiki under a path prefix (``/commons/…``, ``/meta/…``):
``index.php?title=Special:OAuth/…``, ``rest.php/oauth2/…`` and ``api.php``,
where a signed request runs on the real wiki as the token's volunteer, within
the consumer's grants, its edits tagged ``OAuth CID: N``. Like Extension:OAuth
REL1_39: ``sub`` is a string, OAuth 2 access tokens last 3,600 s (refresh
tokens rotate), the browser logs in at the wiki's ``Special:UserLogin``. See
:mod:`wikibridge_sandbox.oauth_provider_web` for the URLs.

Its files live in ``<state_dir>/oauth/`` (directory mode 0700): the SQLite
database with consumers and tokens (0600), the session key, a pid file and a
log, which never holds a token, a secret or a query string.

Usage from Python::

    url = ensure_running(state_dir, port=8180)   # idempotent, fast when up
    consumers = ensure_consumers(state_dir)      # keys and secrets
    revoke(state_dir, "Alice")                   # every token of Alice dies
    expire(state_dir, "Alice")                   # her OAuth 2 access tokens expire now
    stop(state_dir)

or ``python -m wikibridge_sandbox.oauth_provider --state-dir D --port P``
to serve in the foreground.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from wikibridge_sandbox.oauth_provider_store import SandboxConsumers, Store, oauth_dir, state_id

__all__ = [
    "ProviderError",
    "SandboxConsumers",
    "ensure_consumers",
    "ensure_running",
    "expire",
    "main",
    "revoke",
    "running_url",
    "status",
    "stop",
]

log = logging.getLogger(__name__)

_MODULE = "wikibridge_sandbox.oauth_provider"
_START_TIMEOUT = 20.0
_STOP_TIMEOUT = 5.0


class ProviderError(RuntimeError):
    """The provider cannot be started or reached; the message says what to do."""


@dataclass(frozen=True)
class _PidInfo:
    pid: int
    port: int
    code: str


def _dir(state_dir: Path) -> Path:
    directory = oauth_dir(Path(state_dir).expanduser().absolute())
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def _code_fingerprint() -> str:
    """Hash of the provider's source, so a running provider with old code is replaced."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("oauth_provider*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Two test workers (or a test and `make run`) may start the provider at once.
    with open(directory / "provider.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_pid(directory: Path) -> _PidInfo | None:
    try:
        data = json.loads((directory / "provider.pid").read_text(encoding="utf-8"))
        return _PidInfo(int(data["pid"]), int(data["port"]), str(data.get("code", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_ours(pid: int) -> bool:
    """Whether ``pid`` is alive and is a provider process (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _MODULE.encode() in cmdline


def _answers(port: int, state_dir: Path) -> bool:
    """Whether the provider of *this* sandbox answers on ``port``."""
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=2) as response:
            health = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return bool(health.get("ok")) and health.get("state") == state_id(state_dir)


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def ensure_consumers(state_dir: Path) -> SandboxConsumers:
    """Register the sandbox's OAuth 1.0a consumer and OAuth 2 client (once) and return them.

    Keys and secrets are random, made on first call and kept in the
    provider's database (mode 0600) under ``<state_dir>/oauth/``.
    """
    _dir(state_dir)
    return Store(Path(state_dir).expanduser().absolute()).ensure_consumers()


def running_url(state_dir: Path) -> str | None:
    """The base URL of this sandbox's provider if it runs current code and answers, else None."""
    info = _read_pid(_dir(state_dir))
    if (
        info is not None
        and info.code == _code_fingerprint()
        and _is_ours(info.pid)
        and _answers(info.port, state_dir)
    ):
        return _url(info.port)
    return None


def last_port(state_dir: Path) -> int | None:
    """The port this sandbox's provider last ran on, if it ever ran."""
    info = _read_pid(oauth_dir(Path(state_dir).expanduser().absolute()))
    return None if info is None else info.port


def ensure_running(state_dir: Path, port: int = 8180) -> str:
    """Start the provider in the background unless it already runs; return its base URL.

    Idempotent and fast when this sandbox's provider already answers: its URL
    is returned even if it runs on another port than ``port``, because other
    clients (a test session, ``make run``) may hold that URL. ``port`` is
    where a stopped provider starts. A provider running older code is
    restarted on the port it had.

    :raises ProviderError: if it does not come up (the message quotes its log).
    """
    state_dir = Path(state_dir).expanduser().absolute()
    directory = _dir(state_dir)
    code = _code_fingerprint()

    def running(info: _PidInfo | None) -> bool:
        return info is not None and _is_ours(info.pid) and _answers(info.port, state_dir)

    info = _read_pid(directory)
    if info is not None and info.code == code and running(info):
        return _url(info.port)
    ensure_consumers(state_dir)
    with _locked(directory):
        # Another process may have started it while we waited for the lock.
        info = _read_pid(directory)
        if info is not None and running(info):
            if info.code == code:
                return _url(info.port)
            port = info.port
        if info is not None and _is_ours(info.pid):
            _terminate(info.pid)
        _start(state_dir, directory, port, code)
    return _url(port)


def _start(state_dir: Path, directory: Path, port: int, code: str) -> None:
    log_path = directory / "provider.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with os.fdopen(fd, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, "--state-dir", str(state_dir), "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Its own process group, so stop() ends it and nothing else.
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    pid_file = directory / "provider.pid"
    pid_file.write_text(
        json.dumps({"pid": process.pid, "port": port, "code": code}) + "\n", encoding="utf-8"
    )
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(port, state_dir):
            log.info("sandbox OAuth provider up at %s (pid %d)", _url(port), process.pid)
            return
        time.sleep(0.1)
    if process.poll() is None:
        _terminate(process.pid)
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    raise ProviderError(
        f"the sandbox OAuth provider did not come up on port {port} "
        f"(is the port taken?). End of {log_path}:\n" + "\n".join(tail)
    )


def _terminate(pid: int) -> None:
    """End the provider's process group (ours, by its id) and reap it if it is our child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _is_ours(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop(state_dir: Path) -> None:
    """Stop this sandbox's provider if it runs; tokens and consumers stay."""
    directory = _dir(state_dir)
    with _locked(directory):
        info = _read_pid(directory)
        if info is not None and _is_ours(info.pid):
            _terminate(info.pid)
        with contextlib.suppress(FileNotFoundError):
            (directory / "provider.pid").unlink()


def status(state_dir: Path) -> list[str]:
    """Human-readable lines: whether the provider runs, where, and its consumers (no secrets)."""
    directory = _dir(state_dir)
    info = _read_pid(directory)
    if info is None or not _is_ours(info.pid):
        lines = ["oauth provider: stopped"]
    elif _answers(info.port, state_dir):
        lines = [f"oauth provider: {_url(info.port)} running (pid {info.pid})"]
    else:
        lines = [f"oauth provider: {_url(info.port)} started but not answering (pid {info.pid})"]
    store = Store(Path(state_dir).expanduser().absolute())
    consumers = store.ensure_consumers()
    counts = store.counts()
    lines += [
        f"oauth 1.0a consumer key: {consumers.oauth1_key}",
        f"oauth 2 client id: {consumers.oauth2_client_id}",
        f"callback prefix: {consumers.callback_prefix}",
        f"live tokens: {counts['oauth1']} OAuth 1.0a, {counts['oauth2']} OAuth 2",
        f"secrets in {store.path}",
    ]
    return lines


def revoke(state_dir: Path, username: str) -> int:
    """Revoke every OAuth 1.0a and 2 token of ``username``; return how many were live.

    Takes effect at once, also in a running provider (it reads the database
    on every request).
    """
    _dir(state_dir)
    return Store(Path(state_dir).expanduser().absolute()).revoke(username)


def expire(state_dir: Path, username: str) -> int:
    """Let every OAuth 2 access token of ``username`` expire now; return how many.

    The refresh tokens stay good, as after the hour an access token lives
    (tests use this instead of waiting).
    """
    _dir(state_dir)
    return Store(Path(state_dir).expanduser().absolute()).expire(username)


# --- the server process -----------------------------------------------------------

_QUERY = re.compile(r"\?[^\s'\"]*")


class _QuietHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings carry oauth_ parameters."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "-"
        self.log("info", "%s %s %s", self.command, path, code)

    def log_error(self, format: str, *args: Any) -> None:
        self.log("error", "%s", _QUERY.sub("?…", format % args))


def main(argv: list[str] | None = None) -> int:
    """Serve the provider in the foreground until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {_MODULE}", description="Serve the sandbox OAuth provider."
    )
    parser.add_argument("--state-dir", type=Path, required=True, help="the sandbox state directory")
    parser.add_argument("--port", type=int, default=8180, help="port on 127.0.0.1 (default 8180)")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # These log request bodies, tokens or URLs with parameters at DEBUG/INFO.
    for noisy in ("oauthlib", "requests_oauthlib", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from wikibridge_sandbox.oauth_provider_web import create_app

    state_dir = args.state_dir.expanduser().absolute()
    _dir(state_dir)
    app = create_app(state_dir, args.port)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=_QuietHandler)

    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _on_term)
    log.info("sandbox OAuth provider for %s on http://127.0.0.1:%d", state_dir, args.port)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
