"""NUL in any input: PostgreSQL refuses it in text, so it once made a 500 of many requests.

Found by the API fuzzer (``test_api_fuzz.py``) on PostgreSQL, then probed across
the desk: search, lists, ticket pages and forms. Now the desk refuses such a
request with a 400 that says why; the public API and pages answer "nothing
found". Both databases behave alike.
"""

from __future__ import annotations

from flask import Flask

from ..helpers import log_in, new_ticket


def test_nul_is_refused_everywhere(app: Flask, client):
    log_in(app, client, "Ada", role="head")
    number = new_ticket(app)
    gets = [
        "/search?q=%00",
        "/search?q=a%00b",
        "/queues?state=%00",
        "/queues/Info%00",
        f"/tickets/{number}%00",
        "/admin/applications?status=%00",
        "/admin/wiki-writes?status=%00",
    ]
    posts = [
        (f"/tickets/{number}/link", {"other": "\x00"}),
        (f"/tickets/{number}/merge", {"into": "\x00"}),
        (f"/tickets/{number}/links", {"page": "File:\x00"}),
        ("/admin/volunteers/grant", {"username": "\x00", "queue": "Info", "rights": "all"}),
        (f"/tickets/{number}/note", {"text": "a\x00b"}),
    ]
    got = {path: client.get(path).status_code for path in gets}
    for path, data in posts:
        got[path] = client.post(path, data={"csrf_token": "test-csrf", **data}).status_code
    assert got == {path: 400 for path in got}
    page = client.get("/search?q=%00").get_data(as_text=True)
    assert "NUL" in page


def test_the_public_side_answers_nothing_found(app: Flask, client):
    for path in ("/cited?number=%00", "/cited/tickets/%00", "/cited/page?wiki=commons&title=%00"):
        assert client.get(path).status_code < 500, path
    assert client.get("/api/v1/tickets/%00").get_json()["status"] == "unknown"
