"""The ``php -S`` servers of the sandbox wikis: starting, finding and stopping them.

Each wiki has one server on 127.0.0.1, started in its own session with
``router.php`` (next to this module) and its pid in ``server.pid``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from wikibridge_sandbox.packages import MW_ROOT, php_binary
from wikibridge_sandbox.state import SandboxError, SandboxWiki

log = logging.getLogger(__name__)

ROUTER = Path(__file__).with_name("router.php")
_SERVER_START_TIMEOUT = 60.0

# Popen objects of the servers this process started, kept so they are reaped
# (no zombies while we run) and never garbage-collected with a warning.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def wiki_answers(wiki: SandboxWiki, timeout: float = 5.0) -> bool:
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


def server_pid(pid_file: Path, port: int | None = None) -> int | None:
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


def ensure_server(wiki: SandboxWiki) -> None:
    """Start the wiki's server unless it runs; wait until it answers."""
    if server_pid(wiki.pid_file, wiki.port) is not None and wiki_answers(wiki):
        return
    # Not running, on another port, or hung: start afresh.
    stop_server(wiki.pid_file)
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
        php_binary(),
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
        if wiki_answers(wiki):
            log.info("%s: serving %s (pid %d)", wiki.name, wiki.url, process.pid)
            return
        time.sleep(0.1)
    stop_server(wiki.pid_file)
    tail = wiki.log_file.read_text(errors="replace")[-2000:]
    raise SandboxError(f"{wiki.name} did not start on {wiki.url}; {wiki.log_file} ends:\n{tail}")


def stop_server(pid_file: Path) -> None:
    """Stop the server's whole process group (the PHP workers too)."""
    pid = server_pid(pid_file)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while server_pid(pid_file) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if server_pid(pid_file) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=10)
    pid_file.unlink(missing_ok=True)
