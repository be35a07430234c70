"""The reference audit finds every planted bad reference and no good one."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from tests.conftest import make_test_app
from tests.helpers import log_in, new_ticket
from tickets.access import ALL_RIGHTS, grant, volunteer_named
from tickets.known import import_known
from tickets.models import PageLink, State, Ticket
from tickets.numbers import format_number
from tickets.queues import queue_by_name
from tickets.reference_audit import audit
from tickets.references import (
    INTERWIKI,
    PENDING,
    TEMPLATE,
    URL,
    Citation,
    PageText,
    WikiReference,
    record_pages,
)
from wikibridge.db import new_session
from wikibridge.wiki.reference_cli import references_cli

OLD_GOOD = format_number(dt.date(2015, 1, 1), "10", 1)
UNKNOWN = format_number(dt.date(2014, 5, 6), "10", 77)


@pytest.fixture
def desk(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url)
    good = new_ticket(app, subject="Good")
    info = new_ticket(app, to="info@wikimedia.org", subject="Q", body="Where?")
    failed = new_ticket(app, subject="Failed")
    unlinked = new_ticket(app, subject="Unlinked")
    assert len({good, info, failed, unlinked}) == 4
    with new_session(app) as db:
        tickets = {t.number: t for t in db.scalars(select(Ticket))}
        db.add(PageLink(ticket_id=tickets[good].id, wiki="commons", title="File:Good.jpg"))
        db.add(PageLink(ticket_id=tickets[good].id, wiki="commons", title="File:Outsider.jpg"))
        db.add(PageLink(ticket_id=tickets[failed].id, wiki="commons", title="File:Failed.jpg"))
        db.execute(
            update(Ticket)
            .where(Ticket.number == failed)
            .values(state=State.CLOSED_UNSUCCESSFUL.value)
        )
        permissions = queue_by_name(db, "Permissions")
        assert permissions is not None
        grant(db, volunteer_named(db, "Vera"), permissions, ALL_RIGHTS, "test")
        import_known(db, io.StringIO(f"number,id,confirmed,queue\n{OLD_GOOD},31,yes,permissions\n"))
        pages = [
            # Good ones: the majority.
            ("File:Good.jpg", Citation(TEMPLATE, good)),
            ("File:Old.jpg", Citation(TEMPLATE, OLD_GOOD)),
            ("File:Old id.jpg", Citation(INTERWIKI, "31", is_id=True)),
            ("Talk:Question", Citation(URL, info)),
            ("File:Pending.jpg", Citation(PENDING, OLD_GOOD)),
            # One of each problem.
            ("File:Typo.jpg", Citation(TEMPLATE, "12345")),
            ("File:Checkdigit.jpg", Citation(TEMPLATE, good[:-1] + str((int(good[-1]) + 1) % 10))),
            ("File:Forged.jpg", Citation(TEMPLATE, UNKNOWN)),
            ("File:Oldid.jpg", Citation(INTERWIKI, "777", is_id=True)),
            ("File:Info.jpg", Citation(TEMPLATE, info)),
            ("File:Failed.jpg", Citation(TEMPLATE, failed)),
            ("File:Unlinked.jpg", Citation(TEMPLATE, unlinked)),
            ("File:Outsider.jpg", Citation(TEMPLATE, good)),
        ]
        record_pages(
            db,
            "commons",
            [PageText(n, title, 6, 100 + n, [c]) for n, (title, c) in enumerate(pages, 1)],
        )
        db.flush()
        authors = {"File:Good.jpg": "Vera", "File:Outsider.jpg": "Mallory"}
        for title, user in authors.items():
            db.execute(
                update(WikiReference)
                .where(WikiReference.title == title)
                .values(added_by=user, added_revision=5)
            )
        db.commit()
    yield app
    app.extensions["db_engine"].dispose()


EXPECTED = {
    ("malformed", "File:Typo.jpg"),
    ("malformed", "File:Checkdigit.jpg"),
    ("unknown-number", "File:Forged.jpg"),
    ("unknown-id", "File:Oldid.jpg"),
    ("not-permission", "File:Info.jpg"),
    ("not-linked", "File:Info.jpg"),
    ("closed-unsuccessful", "File:Failed.jpg"),
    ("not-linked", "File:Unlinked.jpg"),
    ("added-by-outsider", "File:Outsider.jpg"),
}


def test_every_planted_problem_and_no_good_reference(desk):
    with new_session(desk) as db:
        found = {(f.problem, f.reference.title) for f in audit(db)}
    assert found == EXPECTED


def test_the_command_prints_rows_with_links_and_exits_1(desk):
    desk.config["DESK_URL"] = "https://desk.example"
    result = desk.test_cli_runner().invoke(references_cli, ["audit"])
    assert result.exit_code == 1
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert {(r[0], r[2]) for r in rows} == EXPECTED
    outsider = next(r for r in rows if r[0] == "added-by-outsider")
    assert outsider[6].endswith("/File:Outsider.jpg")
    assert outsider[7].endswith("index.php?diff=5")
    assert outsider[8].startswith("https://desk.example/tickets/")


def test_the_report_page_for_administrators(desk):
    client = desk.test_client()
    log_in(desk, client, "Ada", role="admin")
    html = client.get("/admin/references").get_data(as_text=True)
    assert "File:Forged.jpg" in html and "File:Good.jpg" not in html
    only = client.get("/admin/references?problem=unknown-id").get_data(as_text=True)
    assert "File:Oldid.jpg" in only and "File:Forged.jpg" not in only
