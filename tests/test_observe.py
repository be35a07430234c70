"""/readyz, /metrics, request ids and JSON logs in one process.

tests/integration/test_deployment.py runs several processes.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from wikibridge import logs
from wikibridge.jobs import jobs_of

from .conftest import make_test_app
from .helpers import log_in, new_ticket

CONSUMER_SECRET = "consumer-secret-0d1e2f"
METRICS_TOKEN = "scrape-token-9a8b7c"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_readyz_names_each_check_and_stays_ready_without_the_wikis(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["jobs"]["ok"] is True
    # The test wikis point where nothing answers: reported, not fatal.
    assert set(body["checks"]["wikis"]) == {"commons", "meta"}
    assert body["checks"]["wikis"]["commons"]["ok"] is False
    assert body["failed"] == ["wiki:commons", "wiki:meta"]
    assert "127.0.0.1" not in answer.get_data(as_text=True)


def test_readyz_is_not_ready_when_the_job_queue_is_away(tmp_path, database_url):
    app = make_test_app(
        tmp_path, database_url, JOBS_URL="redis://127.0.0.1:1/0", READY_TIMEOUT_SECONDS=2
    )
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    body = answer.json or {}
    assert body["status"] == "not ready"
    assert "jobs" in body["failed"]
    assert body["checks"]["jobs"]["ok"] is False
    assert "redis://" not in answer.get_data(as_text=True)


def test_readyz_can_require_the_wikis(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, READY_REQUIRES_WIKIS=True)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert "wiki:commons" in (answer.json or {})["failed"]


def test_metrics_only_for_local_scrapers_or_the_token(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, METRICS_TOKEN=METRICS_TOKEN)
    client = app.test_client()
    client.get("/healthz")
    local = client.get("/metrics")
    assert local.status_code == 200
    assert local.content_type.startswith("text/plain")
    text = local.get_data(as_text=True)
    healthz = 'endpoint="health.healthz",method="GET",status="200"'
    assert f"wikibridge_http_requests_total{{{healthz}}}" in text
    # Through a proxy on this machine, or from elsewhere: not without the token.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 404
    far = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", environ_base=far).status_code == 404
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=far, headers=wrong).status_code == 404
    right = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert client.get("/metrics", environ_base=far, headers=right).status_code == 200


def test_metrics_networks_setting(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, METRICS_NETWORKS="10.0.0.0/8")
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_request_id_kept_when_well_formed_else_made(client):
    mine = client.get("/healthz", headers={"X-Request-ID": "abc-123.DEF_456"})
    assert mine.headers["X-Request-ID"] == "abc-123.DEF_456"
    odd = client.get("/healthz", headers={"X-Request-ID": "x y <script>"})
    made = odd.headers["X-Request-ID"]
    assert made != "x y" and len(made) == 32 and made.isalnum()
    assert client.get("/healthz").headers["X-Request-ID"] != made


def test_login_outcomes_jobs_and_routing_corrections_are_counted(app):
    client = app.test_client()
    before = sample("wikibridge_logins_total", outcome="no_login_started")
    client.get("/oauth-callback?oauth_verifier=v&oauth_token=t")
    assert sample("wikibridge_logins_total", outcome="no_login_started") == before + 1

    before = sample("wikibridge_jobs_total", task="followup_due", outcome="success")
    with app.app_context():
        jobs_of(app).followup_due()  # immediate in tests: runs now
    assert sample("wikibridge_jobs_total", task="followup_due", outcome="success") == before + 1
    assert sample("wikibridge_job_duration_seconds_count", task="followup_due") >= 1

    number = new_ticket(app)
    log_in(app, client, "Ada", role="admin")
    before = sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "wikibridge_routing_corrections"
        for s in metric.samples
        if s.name.endswith("_total")
    )
    form = {"csrf_token": "test-csrf", "queue": "Info"}
    answer = client.post(f"/tickets/{number}/move", data=form)
    assert answer.status_code == 302
    after = sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "wikibridge_routing_corrections"
        for s in metric.samples
        if s.name.endswith("_total")
    )
    assert after == before + 1


@pytest.fixture
def json_log(tmp_path, database_url):
    """An app logging JSON into a buffer; the handler is taken away afterwards."""
    app = make_test_app(
        tmp_path,
        database_url,
        LOG_FORMAT="json",
        OAUTH_CONSUMER_KEY="consumer-key",
        OAUTH_CONSUMER_SECRET=CONSUMER_SECRET,
        METRICS_TOKEN=METRICS_TOKEN,
        # Nothing answers there: the login cannot start, and says so in the log.
        OAUTH_INDEX_URL="http://127.0.0.1:9/w/index.php",
        PROPAGATE_EXCEPTIONS=False,
    )

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(f"went wrong near {CONSUMER_SECRET} and {METRICS_TOKEN}")

    buffer = io.StringIO()
    handler = logs.configure(app.config, stream=buffer)
    assert handler is not None
    root = logging.getLogger()
    level = root.level
    yield app, buffer
    root.removeHandler(handler)
    root.setLevel(level)
    logs.clear_context()


def test_json_logs_of_a_login_and_an_error_page_carry_no_secrets(json_log):
    app, buffer = json_log
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        s["csrf"] = "test-csrf"
    refused = client.post("/login", data={"csrf_token": "test-csrf"})
    assert refused.status_code == 502
    client.get(
        "/oauth-callback?oauth_verifier=VERIFIER1234&oauth_token=TOKEN5678",
        headers={"X-Request-ID": "probe-request-0001"},
    )
    assert client.get("/boom").status_code == 500
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    text = buffer.getvalue()
    for secret in (
        CONSUMER_SECRET,
        METRICS_TOKEN,
        "VERIFIER1234",
        "TOKEN5678",
        "test-secret",
        app.config["TOKEN_ENCRYPTION_KEY"],
    ):
        assert secret not in text, secret
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "wikibridge.access"]
    assert {line["path"] for line in access} >= {"/login", "/oauth-callback", "/boom"}
    assert all(len(line["request_id"]) >= 8 for line in access)
    callback = next(line for line in access if line["path"] == "/oauth-callback")
    assert callback["request_id"] == "probe-request-0001" and callback["status"] == 400
    assert "duration_ms" in callback and callback["method"] == "GET"
    error = next(line for line in lines if "exception" in line)
    assert "RuntimeError" in error["exception"] and "***" in error["exception"]
    assert error["request_id"]
    assert any("login could not start" in line["message"] for line in lines)


def test_json_access_lines_name_the_user_not_the_session(json_log):
    app, buffer = json_log
    client = app.test_client()
    token = log_in(app, client, "Ada", role="admin")
    client.get("/admin/queues")
    access = [json.loads(x) for x in buffer.getvalue().splitlines()]
    seen = [x for x in access if x.get("path") == "/admin/queues"]
    assert seen and seen[0]["user"] == "Ada"
    assert token not in buffer.getvalue()


def test_the_mail_pipe_never_loads_the_metrics_library(tmp_path: Path, database_url: str):
    """``mail deliver`` starts once per message: prometheus_client stays out of it."""
    script = (
        "import sys; from wikibridge.mail import pipe; "
        "code = pipe.deliver(sys.stdin.buffer.read(), None); "
        "print(code, 'prometheus_client' in sys.modules)"
    )
    message = b"From: a@example.org\r\nTo: info@wikimedia.org\r\nSubject: Hi\r\n\r\nHello?\r\n"
    env = {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": database_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=message,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split()[-2:] == ["0", "False"]
