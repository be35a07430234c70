"""The public references pages and API: public facts only, and nothing to probe with."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from tests.conftest import make_test_app
from tests.helpers import new_ticket
from tickets.known import import_known
from tickets.models import PageAction, PageLink, Ticket
from tickets.references import INTERWIKI, TEMPLATE, Citation, PageText, record_pages
from wikibridge.db import new_session

OLD_CONFIRMED, OLD_INFO = "2015010110000013", "2015010110000021"


@pytest.fixture
def desk(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, PUBLIC_API_REQUESTS_PER_MINUTE=1000)
    confirmed = new_ticket(app, subject="Secret subject one")
    pending = new_ticket(app, subject="Secret subject two")
    info = new_ticket(app, subject="Question", to="info@wikimedia.org", body="Where is it?")
    uncited = new_ticket(app, subject="Nobody cites me")
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == confirmed)).one()
        link = PageLink(ticket_id=ticket.id, wiki="commons", title="File:A.jpg", linked_by="Alice")
        db.add(link)
        db.flush()
        db.add(PageAction(link_id=link.id, kind="confirm", status="done", requested_by="Alice"))
        import_known(
            db,
            io.StringIO(
                f"number,id,queue,confirmed\n{OLD_CONFIRMED},99,Permissions,yes\n"
                f"{OLD_INFO},,Info,no\n"
            ),
        )
        cite = [
            PageText(1, "File:A.jpg", 6, 10, [Citation(TEMPLATE, confirmed)]),
            PageText(2, "File:B.jpg", 6, 11, [Citation(TEMPLATE, pending)]),
            PageText(3, "File:C.jpg", 6, 12, [Citation(TEMPLATE, info)]),
            PageText(4, "File:D.jpg", 6, 13, [Citation(INTERWIKI, "99", is_id=True)]),
            PageText(5, "File:E.jpg", 6, 14, [Citation(TEMPLATE, OLD_INFO)]),
            PageText(6, "File:F.jpg", 6, 15, [Citation(TEMPLATE, "2099123110000099")]),
        ]
        record_pages(db, "commons", cite)
        db.commit()
    app.extensions["numbers"] = {
        "confirmed": confirmed,
        "pending": pending,
        "info": info,
        "uncited": uncited,
    }
    yield app
    app.extensions["db_engine"].dispose()


def api(client, path: str):
    response = client.get(path)
    return response, json.loads(response.get_data(as_text=True) or "null")


def test_each_status_from_the_desk_and_from_known_old_tickets(desk):
    n = desk.extensions["numbers"]
    client = desk.test_client()
    expected = {
        n["confirmed"]: "confirmed",
        n["pending"]: "pending",
        n["info"]: "not-permission",
        OLD_CONFIRMED: "confirmed",
        OLD_INFO: "not-permission",
        "2099123110000099": "unknown",
    }
    for number, status in expected.items():
        response, doc = api(client, f"/api/v1/tickets/{number}")
        assert response.status_code == 200
        assert doc["status"] == status, number
    _, old = api(client, f"/api/v1/tickets/{OLD_CONFIRMED}")
    assert [p["title"] for p in old["pages"]] == ["File:D.jpg"]  # cited by its old id
    _, page = api(client, "/api/v1/pages?wiki=commons&title=File:A.jpg")
    assert [(t["ticket"], t["status"]) for t in page["tickets"]] == [(n["confirmed"], "confirmed")]


def test_unknown_uncited_and_malformed_numbers_answer_alike(desk):
    client = desk.test_client()
    uncited = desk.extensions["numbers"]["uncited"]
    answers = []
    for number in (uncited, "2099123110000000", "not-a-number", "1" * 40):
        response, doc = api(client, f"/api/v1/tickets/{number}")
        assert response.status_code == 200
        doc.pop("ticket")
        answers.append(doc)
    assert all(a == answers[0] for a in answers)
    assert answers[0] == {
        "status": "unknown",
        "known": False,
        "permission": False,
        "confirmed": False,
        "pages": [],
    }


def test_nothing_private_reaches_a_visitor(desk):
    client = desk.test_client()
    n = desk.extensions["numbers"]
    seen = ""
    for path in (
        *(f"/api/v1/tickets/{v}" for v in n.values()),
        *(f"/cited/tickets/{v}" for v in n.values()),
        "/api/v1/pages?wiki=commons&title=File:A.jpg",
        "/cited/page?wiki=commons&title=File:C.jpg",
        "/cited",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        seen += response.get_data(as_text=True)
    for private in ("Secret subject", "jane@example.net", "Jane", "Alice", "Info", "Question"):
        assert private not in seen


def test_cors_etag_and_cache_control(desk):
    client = desk.test_client()
    number = desk.extensions["numbers"]["confirmed"]
    first = client.get(f"/api/v1/tickets/{number}", headers={"Origin": "https://commons.example"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/tickets/{number}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    preflight = client.options(f"/api/v1/tickets/{number}")
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_a_client_over_its_budget_is_told_when_to_come_back(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, PUBLIC_API_REQUESTS_PER_MINUTE=3)
    client = app.test_client()
    codes = [client.get("/api/v1/tickets/1").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = client.get("/api/v1/tickets/1")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    page = client.get("/cited/tickets/1")
    assert page.status_code == 429 and page.headers["Retry-After"]
    other = app.test_client()
    assert (
        other.get("/api/v1/tickets/1", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    )
    app.extensions["db_engine"].dispose()


def test_bad_page_queries_are_clear_400s(desk):
    client = desk.test_client()
    response, doc = api(client, "/api/v1/pages?wiki=nowhere&title=File:A.jpg")
    assert response.status_code == 400 and "wiki" in doc["error"]
    assert client.get("/cited/page?wiki=commons").status_code == 400


def test_the_openapi_description_covers_every_route(desk):
    response, doc = api(desk.test_client(), "/api/v1/openapi.json")
    assert response.status_code == 200
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/api/v1/tickets/{number}", "/api/v1/pages"}
    routes = {r.rule for r in desk.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    assert routes == {"/api/v1/tickets/<anytext:number>", "/api/v1/pages", "/api/v1/openapi.json"}


def test_public_pages_in_german(desk):
    number = desk.extensions["numbers"]["confirmed"]
    html = desk.test_client().get(f"/cited/tickets/{number}?lang=de").get_data(as_text=True)
    assert "Freigabe bestätigt" in html and 'lang="de"' in html


def test_the_lookup_form_leads_to_the_ticket(desk):
    response = desk.test_client().get("/cited?number=2016060210016939")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cited/tickets/2016060210016939")


def test_the_user_script_is_served_with_the_desk_address_and_its_words(desk):
    response = desk.test_client().get("/cited/userscript.js", base_url="https://desk.example")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.get_data(as_text=True)
    assert "'https://desk.example/api/v1/tickets/'" in script
    assert "__DESK__" not in script and "__MESSAGES__" not in script
    assert "Freigabe bestätigt" in script and "Unknown ticket" in script


def test_the_zoom_shows_where_the_ticket_is_cited(desk):
    from tests.helpers import log_in

    client = desk.test_client()
    log_in(desk, client, "Ada", role="admin")
    number = desk.extensions["numbers"]["confirmed"]
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Cited on" in html and "File:A.jpg" in html and "revision 10" in html
    german = client.get(f"/tickets/{number}?lang=de").get_data(as_text=True)
    assert "Zitiert auf" in german
