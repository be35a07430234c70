"""The queue view: counts, filters, sorting, my locked tickets, bulk actions."""

from __future__ import annotations

import re

from sqlalchemy import select

from tickets.models import Ticket
from wikibridge.db import new_session

from .helpers import log_in, new_ticket

FORM = {"csrf_token": "test-csrf"}


def numbers_in(html: str) -> list[str]:
    return re.findall(r'name="tickets" value="(\d+)"', html)


def test_sort_and_filter(client, app):
    log_in(app, client)
    a = new_ticket(app, subject="A")
    b = new_ticket(app, subject="B")
    client.post(f"/tickets/{b}/priority", data={**FORM, "priority": "5"})
    assert numbers_in(client.get("/queues").get_data(as_text=True)) == [a, b]
    assert numbers_in(client.get("/queues?sort=priority").get_data(as_text=True)) == [b, a]
    assert numbers_in(client.get("/queues?sort=-age").get_data(as_text=True)) == [b, a]
    client.post(f"/tickets/{a}/state", data={**FORM, "state": "closed successful"})
    assert numbers_in(client.get("/queues").get_data(as_text=True)) == [b]
    closed = client.get("/queues?state=closed+successful").get_data(as_text=True)
    assert numbers_in(closed) == [a]


def test_my_locked_tickets(client, app):
    log_in(app, client)
    a = new_ticket(app, subject="A")
    new_ticket(app, subject="B")
    client.post(f"/tickets/{a}/take", data=FORM)
    page = client.get("/queues?mine=1").get_data(as_text=True)
    assert numbers_in(page) == [a]
    assert 'class="my-locked"' in page and "(1)" in page


def test_bulk_actions_check_each_ticket(client, app):
    log_in(app, client, "Vera", role="volunteer", grants={"Permissions": "all", "Info": "read"})
    mine = [new_ticket(app, subject=f"P{n}") for n in range(3)]
    info = new_ticket(app, subject="Q", to="info@wikimedia.org", body="Hello, a question?")
    response = client.post(
        "/queues/bulk",
        data={**FORM, "action": "priority", "priority": "4", "tickets": [*mine, info]},
        follow_redirects=True,
    )
    assert "3 done, 1 refused" in response.get_data(as_text=True)
    with new_session(app) as db:
        prio = {t.number: t.priority for t in db.scalars(select(Ticket))}
    assert [prio[n] for n in mine] == [4, 4, 4] and prio[info] == 3
    client.post("/queues/bulk", data={**FORM, "action": "merge", "tickets": mine})
    with new_session(app) as db:
        states = {t.number: t.state for t in db.scalars(select(Ticket))}
    assert states[mine[0]] != "merged" and states[mine[1]] == states[mine[2]] == "merged"
    assert client.post("/queues/bulk", data={**FORM, "action": "explode"}).status_code == 400


def test_pagination_shows_gaps_not_every_page(client, app):
    app.config["TICKETS_PER_PAGE"] = 1
    log_in(app, client)
    for n in range(12):
        new_ticket(app, subject=f"T{n}")
    page = client.get("/queues?page=6&sort=-age").get_data(as_text=True)
    assert "Tickets: 6-6 of 12 - Page:" in page
    assert "…" in page and "page=12" in page and "sort=-age" in page
    assert "page=9" not in page
