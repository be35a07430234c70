"""No secret or one-time code of an OAuth callback in any request log (issue 10, item 8).

The real servers run as subprocesses, as in production: the development
server (``wikibridge run``, werkzeug's request log) and gunicorn (its access
log file), and what they wrote is read back after a callback request.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from wikibridge.web.redaction import REDACTED, redact

BIN = Path(sys.executable).parent
SECRETS = ["REQTOKEN1234", "VERIFIER5678", "AUTHCODE9012", "STATE3456", "COOKIE7890"]
CALLBACKS = [
    "/oauth-callback?oauth_token=REQTOKEN1234&oauth_verifier=VERIFIER5678",
    "/oauth-callback?code=AUTHCODE9012&state=STATE3456",
    "/oauth-callback/?state=STATE3456&code=AUTHCODE9012",
    "/oauth-callback?oauth%5Fverifier=VERIFIER5678",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def desk_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKIBRIDGE_")}
    env.update(WIKIBRIDGE_INSTANCE_PATH=str(tmp_path / "instance"), WIKIBRIDGE_JOBS_URL="memory")
    return env


def wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    """Poll /healthz until the server answers (or the process died)."""
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            requests.get(url + "/healthz", timeout=30)
            return
        except (requests.ConnectionError, requests.Timeout):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)
    raise AssertionError("the server did not start")


def visit(url: str) -> None:
    for path in CALLBACKS:
        requests.get(
            url + path,
            headers={
                "Referer": url + CALLBACKS[0],
                "Cookie": "session=COOKIE7890",
                "Authorization": "Bearer COOKIE7890",
            },
            timeout=10,
            allow_redirects=False,
        )
    # Not a secret: the queue view's own filter stays readable.
    requests.get(url + "/queues?state=open", timeout=10, allow_redirects=False)


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def assert_redacted(log: str) -> None:
    assert "/oauth-callback" in log
    for secret in SECRETS:
        assert secret not in log, log
    assert f"oauth_verifier={REDACTED}" in log and f"code={REDACTED}" in log
    assert "/queues?state=open" in log


def test_development_server_log(tmp_path: Path, stopped: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "wikibridge"), "run", "--port", str(port)],
        env=desk_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stopped.append(server)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(server, url)
    visit(url)
    server.send_signal(signal.SIGINT)
    out, err = server.communicate(timeout=60)
    assert_redacted(out.decode() + err.decode())


@pytest.mark.parametrize("logger_class", [True, False])
def test_gunicorn_access_log(
    tmp_path: Path, stopped: list[subprocess.Popen[bytes]], logger_class: bool
) -> None:
    port = free_port()
    access_log = tmp_path / "access.log"
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        '%(h)s "%(r)s" %(s)s q=%(q)s ref="%(f)s" cookie="%({cookie}i)s" '
        'auth="%({authorization}i)s" env="%({query_string}e)s %({raw_uri}e)s"'
        if logger_class
        else '%(h)s "%(r)s" %(s)s "%(f)s"',
        "wikibridge:create_app()",
    ]
    if logger_class:
        command[1:1] = ["--logger-class", "wikibridge.web.gunicorn_log.RedactingLogger"]
    server = subprocess.Popen(
        command, env=desk_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stopped.append(server)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(server, url)
    visit(url)
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=60)
    log = access_log.read_text()
    assert_redacted(log)
    assert "COOKIE7890" not in out.decode() + err.decode()
    if logger_class:
        assert f'cookie="{REDACTED}"' in log and f'auth="{REDACTED}"' in log


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '"GET /oauth-callback?oauth_token=t&oauth_verifier=v HTTP/1.1" 302',
            f'"GET /oauth-callback?oauth_token={REDACTED}&oauth_verifier={REDACTED} HTTP/1.1" 302',
        ),
        (
            "/w/rest.php/oauth2/authorize?response_type=code&client_id=c&state=s",
            f"/w/rest.php/oauth2/authorize?response_type={REDACTED}&client_id={REDACTED}"
            f"&state={REDACTED}",
        ),
        (
            "Location: https://meta.example/w/index.php?title=Special:OAuth/authorize"
            "&oauth_token=t&oauth_consumer_key=k",
            "Location: https://meta.example/w/index.php?title=Special:OAuth/authorize"
            f"&oauth_token={REDACTED}&oauth_consumer_key=k",
        ),
        ("/queues/Info?state=open&page=2", "/queues/Info?state=open&page=2"),
        ("/search?q=code&page=1", "/search?q=code&page=1"),
        ("/x?CODE=1&Oauth_Verifier=2", f"/x?CODE={REDACTED}&Oauth_Verifier={REDACTED}"),
        ("no address here", "no address here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
