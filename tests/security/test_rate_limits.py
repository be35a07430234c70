"""Per-client request budgets: the login start and the public references API.

Each budget counts a sliding minute per client address
(``wikibridge/web/rate_limit.py``); the clock is the limiter's own, so
these tests count requests, never wall-clock time.
"""

from __future__ import annotations

from flask import Flask

from wikibridge.web.rate_limit import RateLimiter

from ..conftest import make_test_app


def _csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as s:
        token: str = s["csrf"]
    return token


def test_login_starts_are_limited_per_client(tmp_path, database_url, monkeypatch):
    app = make_test_app(tmp_path, database_url, LOGIN_REQUESTS_PER_MINUTE=3)
    _stand_in(monkeypatch, app)
    client = app.test_client()
    token = _csrf(client)
    for _i in range(3):
        started = client.post("/login", data={"csrf_token": token})
        assert started.status_code == 302
    refused = client.post("/login", data={"csrf_token": token})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    page = refused.get_data(as_text=True)
    assert "Too many login attempts" in page and "<h1>" in page
    # No handshake was started for the refused one: the wiki was not asked.
    assert calls == 3
    # Another address still may.
    other = app.test_client()
    token = _csrf(other)
    assert (
        other.post(
            "/login", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
        ).status_code
        == 302
    )
    app.extensions["db_engine"].dispose()


calls = 0


def _stand_in(monkeypatch, app: Flask) -> None:
    from oauth import mediawiki1

    global calls
    calls = 0

    def initiate(consumer, callback="oob", **_):
        global calls
        calls += 1
        return "https://wiki.example/authorize", mediawiki1.RequestToken("rk", "rs")

    monkeypatch.setattr(mediawiki1, "initiate", initiate)


def test_the_login_limit_can_be_switched_off(tmp_path, database_url, monkeypatch):
    app = make_test_app(tmp_path, database_url, LOGIN_REQUESTS_PER_MINUTE=0)
    _stand_in(monkeypatch, app)
    client = app.test_client()
    token = _csrf(client)
    for _i in range(30):
        assert client.post("/login", data={"csrf_token": token}).status_code == 302
    app.extensions["db_engine"].dispose()


def test_the_login_page_itself_is_not_limited(tmp_path, database_url):
    """Reading the page costs the wiki nothing; only starting a handshake counts."""
    app = make_test_app(tmp_path, database_url, LOGIN_REQUESTS_PER_MINUTE=1)
    client = app.test_client()
    for _i in range(5):
        assert client.get("/login").status_code == 200
    app.extensions["db_engine"].dispose()


def test_the_public_api_is_limited_per_client(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, PUBLIC_API_REQUESTS_PER_MINUTE=5)
    client = app.test_client()
    paths = ["/api/v1/tickets/1", "/api/v1/openapi.json", "/cited", "/api/v1/pages"]
    answers = [client.get(paths[i % len(paths)]).status_code for i in range(5)]
    assert 429 not in answers
    refused = client.get("/api/v1/tickets/1")
    assert refused.status_code == 429
    document: dict = refused.get_json()
    assert document["error"] == "too many requests" and document["retry_after"] >= 1
    assert refused.headers["Retry-After"] == str(document["retry_after"])
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/cited").status_code == 429
    other = client.get("/api/v1/tickets/1", environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert other.status_code == 200
    app.extensions["db_engine"].dispose()


def test_the_limiter_forgets_after_a_minute():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.retry_after("a") == 0 and limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 60
    now[0] += 30
    assert limiter.retry_after("a") == 30
    now[0] += 30
    assert limiter.retry_after("a") == 0
