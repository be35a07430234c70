"""Take, lock, state, priority, merge and link, through the pages."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

from sqlalchemy import select

from tickets.models import History, State, Ticket
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

from .conftest import make_test_app
from .helpers import log_in, new_ticket

FORM = {"csrf_token": "test-csrf"}


def _ticket(app, number: str) -> Ticket:
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        db.expunge(ticket)
        return ticket


def test_lock_stops_a_second_volunteer_answering(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")
    number = new_ticket(app)
    carol, dan = app.test_client(), app.test_client()
    log_in(app, carol, "Carol", role="volunteer", grants={"Permissions": "all"})
    log_in(app, dan, "Dan", role="volunteer", grants={"Permissions": "all"})
    assert carol.post(f"/tickets/{number}/take", data=FORM).status_code == 302
    ticket = _ticket(app, number)
    assert ticket.locked and ticket.owner_id is not None
    page = dan.post(f"/tickets/{number}/take", data=FORM, follow_redirects=True)
    assert "Carol is working on this ticket" in page.get_data(as_text=True)
    answer = {**FORM, "to": "jane@example.net", "body": "Thank you!"}
    refused = dan.post(f"/tickets/{number}/answer", data=answer)
    assert refused.status_code == 409
    assert "Carol has locked this ticket" in refused.get_data(as_text=True)
    assert carol.post(f"/tickets/{number}/answer", data=answer).status_code == 302
    assert carol.post(f"/tickets/{number}/release", data=FORM).status_code == 302
    assert not _ticket(app, number).locked


def test_state_and_priority(client, app):
    log_in(app, client)
    number = new_ticket(app)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        f"/tickets/{number}/state",
        data={**FORM, "state": "pending reminder", "pending_until": soon},
    )
    ticket = _ticket(app, number)
    assert ticket.state == "pending reminder" and ticket.pending_until is not None
    past = client.post(
        f"/tickets/{number}/state",
        data={**FORM, "state": "pending reminder", "pending_until": "2001-01-01T00:00"},
        follow_redirects=True,
    )
    assert "must be in the future" in past.get_data(as_text=True)
    client.post(f"/tickets/{number}/state", data={**FORM, "state": "closed successful"})
    assert _ticket(app, number).state == "closed successful"
    client.post(f"/tickets/{number}/priority", data={**FORM, "priority": "5"})
    assert _ticket(app, number).priority == 5
    bad = client.post(
        f"/tickets/{number}/priority", data={**FORM, "priority": "9"}, follow_redirects=True
    )
    assert "from 1 to 5" in bad.get_data(as_text=True)
    with new_session(app) as db:
        kinds = [h.kind for h in db.scalars(select(History).order_by(History.id))]
    assert kinds.count("state") == 2 and "priority" in kinds


def test_merge_keeps_everything_and_replies_follow(client, app):
    log_in(app, client)
    first = new_ticket(app, subject="Photo 1")
    second = new_ticket(app, subject="Photo 2")
    client.post(f"/tickets/{second}/merge", data={**FORM, "into": first})
    merged = _ticket(app, second)
    assert merged.state == State.MERGED.value and merged.merged_into_id == _ticket(app, first).id
    msg = EmailMessage()
    msg["From"] = "jane@example.net"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = f"Re: [Ticket#{second}] Photo 2"
    msg.set_content("One more thing.")
    assert store_message(app, msg.as_bytes()).number == first
    assert "itself" in client.post(
        f"/tickets/{first}/merge", data={**FORM, "into": first}, follow_redirects=True
    ).get_data(as_text=True)


def test_link_and_customer_tickets_on_zoom(client, app):
    log_in(app, client)
    a = new_ticket(app, subject="Photo A")
    b = new_ticket(app, subject="Photo B")
    c = new_ticket(app, subject="Photo C")

    def section(html: str, name: str) -> str:
        found = re.search(rf'<section class="{name}">(.*?)</section>', html, re.S)
        return found.group(1) if found else ""

    before = client.get(f"/tickets/{a}").get_data(as_text=True)
    assert section(before, "linked-tickets") == ""
    client.post(f"/tickets/{a}/link", data={**FORM, "other": b})
    zoom = client.get(f"/tickets/{a}").get_data(as_text=True)
    linked = section(zoom, "linked-tickets")
    assert "Linked tickets" in linked and b in linked and c not in linked
    # Jane wrote all three: the others of hers are listed, this one is not.
    others = section(zoom, "customer-tickets")
    assert "<h2>The customer's other tickets</h2>" in others
    assert b in others and c in others and a not in others


def test_the_customers_other_tickets_ignore_the_case_of_the_address(client, app):
    log_in(app, client)
    first = new_ticket(app, subject="Photo A")  # from jane@example.net

    def mail_from(sender: str, subject: str) -> str:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = "permissions@wikimedia.org"
        msg["Subject"] = subject
        msg.set_content("I am the photographer of this one too.")
        return store_message(app, msg.as_bytes()).number

    same = mail_from("Jane <JANE@Example.NET>", "Another photo of mine")
    stranger = mail_from("Bob <bob@example.org>", "Bob's photo")
    zoom = client.get(f"/tickets/{first}").get_data(as_text=True)
    others = zoom.split('class="customer-tickets"', 1)[1].split("</section>", 1)[0]
    assert same in others
    assert stranger not in others and first not in others
