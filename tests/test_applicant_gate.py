"""What an applicant and a plain volunteer cannot reach, found by walking every route.

tests/test_access_matrix.py checks each classified route with real tickets;
these walk the URL map itself, so a route added later under a new blueprint
is refused to applicants, and one added under /admin to volunteers, before
anyone classifies it.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tickets.wiki_writes import Op, request_write
from wikibridge.db import new_session
from wikibridge.web import applicant_gate

from .conftest import make_test_app
from .helpers import log_in, new_ticket
from .test_recruiting import CSRF, applicant, apply

#: What an applicant may use, on purpose: logging in and out, the public
#: reference pages and API (public facts only), and their own application.
OPEN_TO_APPLICANTS = {"auth", "health", "cited", "references_api", "recruiting"}


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued but not run."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def sample_path(rule: Rule, number: str) -> str:
    """The rule's path with a value for each part (the gate answers before the view)."""

    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if name == "number":
            return number
        return "1" if converter.startswith("int") else "x"

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", value, rule.rule)


def routes(app: Flask) -> list[tuple[str, str, Rule]]:
    """(endpoint, method, path) of every route but static files."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule))
    return found


def test_the_open_list_is_what_is_meant():
    assert applicant_gate.OPEN_BLUEPRINTS == OPEN_TO_APPLICANTS
    assert {"static"} == applicant_gate.OPEN_ENDPOINTS


def test_an_applicant_is_refused_every_route_outside_the_open_list(app: Flask):
    number = new_ticket(app, to="info@wikimedia.org")
    client = app.test_client()
    log_in(app, client, "Apu", role="applicant")
    leaks = []
    for endpoint, method, rule in routes(app):
        if endpoint.split(".")[0] in OPEN_TO_APPLICANTS:
            continue
        path = sample_path(rule, number)
        response = client.open(
            path, method=method, data={"csrf_token": CSRF} if method == "POST" else None
        )
        expected = 302 if endpoint == "queues.index" else 403  # the start page sends to /apply
        if response.status_code != expected:
            leaks.append(f"{method} {path} ({endpoint}): {response.status_code}")
    assert leaks == []


def test_internal_json_attachments_and_history_stay_shut(app: Flask):
    number = new_ticket(app, to="info@wikimedia.org")
    client = app.test_client()
    log_in(app, client, "Apu", role="applicant")
    for path in (
        f"/tickets/{number}/wiki/progress.json",
        f"/tickets/{number}/attachments/1",
        f"/tickets/{number}/articles/1/raw",
        f"/tickets/{number}/articles/1/html",
        "/admin/wiki-writes",
        "/admin/access-log",
        "/admin/inactivity",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
    # The public reference API tells an applicant no more than anyone.
    anonymous = app.test_client().get(f"/api/v1/tickets/{number}")
    assert client.get(f"/api/v1/tickets/{number}").get_data() == anonymous.get_data()


def test_a_volunteer_with_every_right_reaches_no_admin_route(app: Flask):
    number = new_ticket(app, to="info@wikimedia.org")
    client = app.test_client()
    log_in(app, client, "Ivan", role="volunteer", grants={"Info": "all", "Permissions": "all"})
    reached = []
    for endpoint, method, rule in routes(app):
        if not rule.rule.startswith("/admin"):
            continue
        path = sample_path(rule, number)
        response = client.open(
            path,
            method=method,
            data={"csrf_token": CSRF, "role": "admin"} if method == "POST" else None,
        )
        if response.status_code not in (403, 404):
            reached.append(f"{method} {path} ({endpoint}): {response.status_code}")
    assert reached == []


def test_the_applicant_sees_how_their_writes_go_but_not_the_desks_messages(app: Flask):
    client = app.test_client()
    applicant(app, client)
    application = apply(app, client)
    with new_session(app) as db:
        write = request_write(
            db,
            wiki="meta",
            title="VRT/Applications",
            op=Op.APPEND_TO_SECTION,
            text="x",
            summary="x",
            requested_by="Apu",
            login_session_id=None,
            as_bot=True,
            section=application.meta_section,
            purpose=f"application:{application.id}",
        )
        write.status = "stopped"
        write.message = "the bot could not log in at http://10.0.0.5/w/api.php: wrong password"
        db.commit()
    page = client.get("/apply/status").get_data(as_text=True)
    assert "stopped" in page
    assert "10.0.0.5" not in page and "wrong password" not in page
    admin = app.test_client()
    log_in(app, admin, "Ada", role="admin")
    assert "wrong password" in admin.get(f"/admin/applications/{application.id}").get_data(
        as_text=True
    )
