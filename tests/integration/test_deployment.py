"""The scaled-out shape as real processes: gunicorn with 2 workers, a job worker, LMTP.

On PostgreSQL and Redis (skipped on the SQLite run), all sharing one
``PROMETHEUS_MULTIPROC_DIR``: mail stored by the LMTP process and a job run by
the worker process show in ``/metrics`` served by a web worker; ``/readyz``
answers; every log line of the web processes is JSON with a request id.
"""

from __future__ import annotations

import json
import os
import secrets
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.live import free_port
from wikibridge.jobs import Jobs, make_huey

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("WIKIBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def wait_for(url: str, processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_gunicorn_workers_job_worker_and_lmtp_share_metrics(pg_database_url, tmp_path):
    if not pg_database_url:
        pytest.skip("the scaled-out shape runs on the PostgreSQL run")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    web_port, lmtp_port = free_port(), free_port()
    jobs_name = f"test-deploy-{secrets.token_hex(4)}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WIKIBRIDGE_")},
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": pg_database_url,
        "WIKIBRIDGE_JOBS_URL": REDIS_URL,
        "WIKIBRIDGE_JOBS_NAME": jobs_name,
        "WIKIBRIDGE_WORKER_IN_PROCESS": "false",
        "WIKIBRIDGE_LOG_FORMAT": "json",
        # Nothing answers there: the wikis are reported, the desk stays ready.
        "WIKIBRIDGE_WIKIS": json.dumps(
            {"commons": {"family": "commons", "code": "commons", "api_url": "http://127.0.0.1:9/"}}
        ),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    commands = {
        "web": [
            str(BIN / "gunicorn"),
            "--config",
            "python:wikibridge.web.gunicorn_config",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{web_port}",
            "wikibridge:create_app()",
        ],
        "worker": [str(BIN / "wikibridge"), "worker", "--threads", "1"],
        "lmtp": [str(BIN / "wikibridge"), "mail", "lmtp", "--listen", f"127.0.0.1:{lmtp_port}"],
    }
    logs = {name: tmp_path / f"{name}.log" for name in commands}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    url = f"http://127.0.0.1:{web_port}"
    try:
        for name, command in commands.items():
            with logs[name].open("wb") as out:
                processes[name] = subprocess.Popen(
                    command, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        wait_for(f"{url}/healthz", list(processes.values()), list(logs.values()))

        ready = requests.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["checks"]["database"]["ok"] and body["checks"]["jobs"]["ok"]
        assert body["checks"]["jobs"]["backend"] == "RedisHuey"
        assert body["checks"]["wikis"]["commons"]["ok"] is False

        # A message through the LMTP process.
        message = EmailMessage()
        message["From"] = "Jane <jane@example.net>"
        message["To"] = "info@wikimedia.org"
        message["Subject"] = "A question"
        message.set_content("Hello, how do I ask?")
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
                    refused = lmtp.send_message(message)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, logs["lmtp"].read_text()
                time.sleep(0.2)
        assert refused == {}

        # A job through the job worker process.
        jobs = Jobs(make_huey(REDIS_URL, str(tmp_path / "instance"), jobs_name))
        jobs.followup_due()

        deadline = time.monotonic() + 60
        while True:
            scraped = requests.get(f"{url}/metrics", timeout=30)
            assert scraped.status_code == 200
            text = scraped.text
            mail = value(text, "wikibridge_mail_received_total", door="lmtp")
            job = value(text, "wikibridge_jobs_total", task="followup_due", outcome="success")
            if mail >= 1 and job >= 1:
                break
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.5)
        assert value(text, "wikibridge_http_requests_total", endpoint="health.readyz") >= 1
        # From outside (through a proxy) the counts stay hidden.
        hidden = requests.get(
            f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30
        )
        assert hidden.status_code == 404

        answer = requests.get(
            f"{url}/login", headers={"X-Request-ID": "deploy-test-0001"}, timeout=30
        )
        assert answer.headers["X-Request-ID"] == "deploy-test-0001"
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    # The web processes' application log lines are JSON, each request's with its id.
    lines = [line for line in logs["web"].read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "wikibridge.access"]
    assert access and all(r.get("request_id") for r in access)
    assert any(r["path"] == "/login" and r["request_id"] == "deploy-test-0001" for r in access)
    worker_records = [
        json.loads(line) for line in logs["worker"].read_text().splitlines() if line.startswith("{")
    ]
    assert any(r.get("task") == "followup_due" and r.get("task_id") for r in worker_records)
