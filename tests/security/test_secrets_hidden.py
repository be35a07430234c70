"""Secrets absent from error pages and logs, whatever breaks.

The app runs with a recognisable value for each secret setting
(``wikibridge.config.SECRET_KEYS``), a logged-in volunteer whose sealed wiki
tokens are recognisable too, and then things break: a route raising, the
database down, the wiki not answering at login, the SMTP server not
answering an answer. Neither any response nor any log line (tracebacks
included) may contain a secret.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from wikibridge import create_app
from wikibridge.config import SECRET_KEYS

from ..conftest import make_test_app
from ..helpers import log_in, new_ticket

SECRETS = {
    "SECRET_KEY": "SECRETKEY-3f9a1c",
    # A valid Fernet key is 32 bytes in urlsafe base64; this one is recognisable.
    "TOKEN_ENCRYPTION_KEY": "VE9LRU5LRVktU0VDUkVULVZBTFVFLTEyMzQ1Njc4OTA=",
    "OAUTH_CONSUMER_SECRET": "CONSUMERSECRET-77b2e0",
    "BOT_PASSWORD": "BOTPASSWORD-5d1e44",
    "SMTP_PASSWORD": "SMTPPASSWORD-a0c3f1",
    "METRICS_TOKEN": "METRICSTOKEN-4b90d2",
}
DB_PASSWORD = "DBPASSWORD-c81d7e"
OAUTH_TOKENS = ["access-key", "access-secret"]  # what tests/helpers.log_in seals
CLOSED = "127.0.0.1:9"  # the discard port: nothing answers


def test_every_secret_setting_is_probed():
    assert set(SECRETS) == set(SECRET_KEYS)


def leaked(text: str) -> list[str]:
    values = [*SECRETS.values(), DB_PASSWORD, *OAUTH_TOKENS]
    return [v for v in values if v in text]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines) + caplog.text


def _secret_app(tmp_path: Path, database_url: str, **more: Any) -> Flask:
    app = make_test_app(
        tmp_path,
        database_url,
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        BOT_USERNAME="Desk@bot",
        SMTP_USERNAME="desk",
        SMTP_HOST=CLOSED.split(":")[0],
        SMTP_PORT=int(CLOSED.split(":")[1]),
        SMTP_TIMEOUT=2,
        OAUTH_CONSUMER_KEY="consumer-key",
        OAUTH_INDEX_URL=f"http://{CLOSED}/w/index.php",
        OAUTH_REST_URL=f"http://{CLOSED}/w/rest.php",
        **SECRETS,
        **more,
    )

    @app.get("/test-broken")
    def broken() -> str:
        # Holds the secrets where a careless handler would show them.
        settings = dict(app.config)
        raise RuntimeError(f"broken route with {len(settings)} settings")

    return app


def test_a_500_shows_and_logs_no_secret(tmp_path, database_url, logs):
    app = _secret_app(tmp_path, database_url)
    client = app.test_client()
    log_in(app, client, "Ada", role="admin")
    response = client.get("/test-broken")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Internal Server Error" in body and "Traceback" not in body
    assert leaked(body) == []
    logged = _everything_logged(logs)
    assert "broken route" in logged  # the error is logged, for the operators
    assert leaked(logged) == []
    app.extensions["db_engine"].dispose()


def test_a_database_that_is_down(tmp_path, logs):
    url = f"postgresql+psycopg://desk:{DB_PASSWORD}@{CLOSED}/desk?connect_timeout=2"
    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app(
        {
            "DATABASE_URL": url,
            "JOBS_URL": "memory",
            "SERVER_NAME": "wikibridge.test",
            "PROPAGATE_EXCEPTIONS": False,
            **SECRETS,
        }
    )
    # A load balancer's probe carries no cookie: it gets 503, not a 500.
    assert app.test_client().get("/healthz").status_code == 503
    client = app.test_client()
    with client.session_transaction() as s:
        s["sid"] = "a-session-id"
    # With a session cookie too: the probe does not look the login up.
    assert client.get("/healthz").status_code == 503
    seen = []
    for path in ("/healthz", "/queues", "/login", "/api/v1/tickets/1", "/cited"):
        response = client.get(path)
        seen.append(response.status_code)
        body = response.get_data(as_text=True)
        assert leaked(body) == [], path
        assert "Traceback" not in body and "psycopg" not in body, path
    # Every page says the database is away (503, try again), none is a 500.
    assert seen == [503] * len(seen)
    assert leaked(_everything_logged(logs)) == []
    app.extensions["db_engine"].dispose()


def test_a_wiki_that_does_not_answer_the_login(tmp_path, database_url, logs):
    for version in ("1", "2"):
        app = _secret_app(tmp_path, database_url, OAUTH_VERSION=version)
        client = app.test_client()
        client.get("/login")
        with client.session_transaction() as s:
            csrf = s["csrf"]
        response = client.post("/login", data={"csrf_token": csrf})
        assert response.status_code in (302, 502), version
        assert leaked(response.get_data(as_text=True)) == []
        assert leaked(response.headers.get("Location", "")) == []
        # The wiki sends the browser back; the token exchange finds nobody there.
        back = client.get("/oauth-callback?oauth_token=t&oauth_verifier=v&code=c&state=s")
        assert leaked(back.get_data(as_text=True)) == []
        app.extensions["db_engine"].dispose()
    assert leaked(_everything_logged(logs)) == []


def test_an_answer_the_smtp_server_does_not_take(tmp_path, database_url, logs):
    app = _secret_app(tmp_path, database_url)
    client = app.test_client()
    number = new_ticket(app)
    log_in(app, client, "Ada", role="admin")
    form = {"csrf_token": "test-csrf", "to": "jane@example.net", "subject": "Hi", "body": "Hello."}
    assert client.post(f"/tickets/{number}/answer", data=form).status_code == 302
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert leaked(zoom) == []
    assert leaked(_everything_logged(logs)) == []
    app.extensions["db_engine"].dispose()
