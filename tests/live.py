"""The desk as real processes: a web server and a worker, pointed at the sandbox."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from wikibridge_sandbox.appconfig import app_settings, write_config

WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveDesk:
    """A running desk: its URL, and how to run its commands with the same settings."""

    url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [WIKIBRIDGE, *args],
            input=stdin,
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=120,
            check=False,
        )


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the desk exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the desk did not answer: {log.read_text()[-2000:]}")


@contextmanager
def live_desk(
    tmp_path: Path,
    database_url: str,
    oauth_provider: Any,
    *,
    oauth_version: str = "1",
    jobs_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LiveDesk]:
    """Start ``wikibridge run`` and ``wikibridge worker`` as separate processes."""
    settings = app_settings(
        oauth_provider.sandbox, oauth_provider.url, oauth_provider.consumers, oauth_version
    )
    config = tmp_path / "wikibridge.cfg"
    write_config(config, settings)
    port = free_port()
    env = {
        "WIKIBRIDGE_CONFIG": str(config),
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": database_url,
        "WIKIBRIDGE_JOBS_URL": jobs_url or f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "WIKIBRIDGE_JOBS_NAME": f"test-{secrets.token_hex(4)}",
        "WIKIBRIDGE_WORKER_IN_PROCESS": "false",
        **(extra_env or {}),
    }
    desk = LiveDesk(url=f"http://127.0.0.1:{port}", env=env)
    upgrade = desk.command("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr.decode()
    web_log = tmp_path / "web.log"
    worker_log = tmp_path / "worker.log"
    full_env = {**os.environ, **env}
    with web_log.open("wb") as web_out, worker_log.open("wb") as worker_out:
        web = subprocess.Popen(
            [
                WIKIBRIDGE,
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-reload",
                "--with-threads",
            ],
            env=full_env,
            stdout=web_out,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [WIKIBRIDGE, "worker", "--threads", "2"],
            env=full_env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
    desk.processes = [web, worker]
    try:
        _wait_for(f"{desk.url}/healthz", web, web_log)
        yield desk
    finally:
        for process in desk.processes:
            process.terminate()
        for process in desk.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
