"""Storing ticket references: nothing deleted, gone marked, known tickets imported."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.conftest import make_test_app
from tickets.known import KnownTicketError, import_known
from tickets.references import (
    INTERWIKI,
    TEMPLATE,
    Citation,
    KnownTicket,
    PageText,
    WikiReference,
    live_references_of_ticket,
    record_missing,
    record_pages,
)
from wikibridge.db import new_session

N1, N2 = "2016060210016939", "2017010110000015"


@pytest.fixture
def db(tmp_path, database_url):
    app = make_test_app(tmp_path, database_url)
    with new_session(app) as session:
        yield session
    app.extensions["db_engine"].dispose()


def page(revision: int, *citations: Citation, page_id: int = 7) -> PageText:
    return PageText(page_id, "File:A.jpg", 6, revision, citations)


def test_a_reference_that_disappears_is_marked_gone_never_deleted(db):
    first = record_pages(db, "commons", [page(10, Citation(TEMPLATE, N1))])
    assert (first.added, first.gone) == (1, 0)
    again = record_pages(db, "commons", [page(11, Citation(TEMPLATE, N1))])
    assert (again.added, again.kept) == (0, 1)
    changed = record_pages(db, "commons", [page(12, Citation(TEMPLATE, N2))])
    assert (changed.added, changed.gone) == (1, 1)
    back = record_pages(db, "commons", [page(13, Citation(TEMPLATE, N1))])
    db.commit()
    assert (back.added, back.gone) == (1, 1)
    rows = db.scalars(select(WikiReference).order_by(WikiReference.id)).all()
    assert [(r.ticket, r.revision, r.gone_revision) for r in rows] == [
        (N1, 11, 12),
        (N2, 12, 13),
        (N1, 13, None),
    ]
    assert [r.title for r in live_references_of_ticket(db, N1)] == ["File:A.jpg"]
    assert record_missing(db, "commons", [7]) == 1
    db.commit()
    assert live_references_of_ticket(db, N1) == []
    assert db.scalars(select(WikiReference)).all() == rows  # still all there


def test_known_tickets_import_maps_old_ids_and_explains_refusals(db):
    record_pages(db, "commons", [page(5, Citation(INTERWIKI, "4242", is_id=True))])
    csv_text = (
        "number,id,queue,confirmed\n"
        f"{N1},4242,permissions,yes\n"
        f"{N2},,info,no\n"
        "20161301x,,permissions,yes\n"
        f"{N2}9,4242,permissions,yes\n"
        f"{N2}8,,permissions,maybe\n"
    )
    outcome = import_known(db, io.StringIO(csv_text), source="old.csv")
    db.commit()
    assert (outcome.added, outcome.updated, outcome.refused) == (2, 0, 3)
    assert outcome.problems[0].startswith("line 4: the number")
    assert "4242 was given to" in outcome.problems[1]
    assert "'confirmed' must be yes or no" in outcome.problems[2]
    known = db.get(KnownTicket, N1)
    assert known is not None and known.old_id == "4242" and known.permission_confirmed
    # The reference citing the old id now knows its number.
    assert [r.ticket for r in live_references_of_ticket(db, N1)] == ["4242"]
    again = import_known(db, io.StringIO(f"number,confirmed\n{N2},yes\n"))
    db.commit()
    assert (again.added, again.updated) == (0, 1)
    known2 = db.get(KnownTicket, N2)
    assert known2 is not None and known2.permission_confirmed and known2.queue == "info"


def test_a_file_without_a_number_column_is_refused_whole(db):
    with pytest.raises(KnownTicketError):
        import_known(db, io.StringIO("ticket,queue\n1,x\n"))
