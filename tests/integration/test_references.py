"""Finding ticket references on the sandbox Commons: the full scan and the incremental sync.

Pages are made fresh per run through the wiki's api.php; other tests edit the
same sandbox at the same time, so assertions look only at this run's pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import make_test_app
from tests.integration.tagging_helpers import Wiki, unique
from tickets.references import INTERWIKI, PENDING, TEMPLATE, URL, ReferenceCursor, WikiReference
from wikibridge.db import new_session
from wikibridge.wiki import reference_scan
from wikibridge.wiki.reads import site_for
from wikibridge.wiki.reference_cli import references_cli
from wikibridge.wiki.reference_scan import scan, sync
from wikibridge.wiki.references import names_from_settings

pytestmark = pytest.mark.integration

N1, N2, N3, N4 = "2016060210016939", "2017010110000015", "2018030510012345", "2019121210000011"
OLD = "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom"


@pytest.fixture(scope="module")
def wiki(sandbox: Any) -> Iterator[Wiki]:
    admin = Wiki(sandbox.commons.api_url, sandbox.admin.username, sandbox.admin.password)
    yield admin
    admin.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, sandbox: Any) -> Iterator[Flask]:
    wikis = {
        "commons": {
            "family": "commons",
            "code": "commons",
            "api_url": sandbox.commons.api_url,
            "article_url": sandbox.commons.url + "/wiki/",
        }
    }
    app = make_test_app(tmp_path, database_url, WIKIS=wikis, DESK_URL="https://desk.example")
    yield app
    app.extensions["db_engine"].dispose()


def live(app: Flask, prefix: str) -> dict[str, set[tuple[str, str, bool]]]:
    """This run's live references: title -> {(kind, ticket, is_id)}."""
    with new_session(app) as db:
        rows = db.scalars(
            select(WikiReference).where(
                WikiReference.title.like(f"%{prefix}%"), WikiReference.gone_at.is_(None)
            )
        )
        found: dict[str, set[tuple[str, str, bool]]] = {}
        for row in rows:
            found.setdefault(row.title, set()).add((row.kind, row.ticket, row.is_id))
        return found


def run_scan(app: Flask, **options: Any) -> reference_scan.Progress:
    conf = app.config["WIKIS"]["commons"]
    return scan(
        site_for(conf),
        "commons",
        names_from_settings(app.config),
        app.extensions["db_sessionmaker"],
        url_patterns=app.config["REFERENCE_URL_PATTERNS"],
        **options,
    )


def run_sync(app: Flask) -> reference_scan.Progress:
    conf = app.config["WIKIS"]["commons"]
    return sync(
        site_for(conf),
        "commons",
        names_from_settings(app.config),
        app.extensions["db_sessionmaker"],
    )


def seed_pages(wiki: Wiki, prefix: str) -> dict[str, str]:
    redirect = f"Template:{prefix} alias"
    wiki.create(redirect, "#REDIRECT [[Template:PermissionTicket]]")
    pages = {
        "template": (f"File:{prefix} a.jpg", f"{{{{PermissionTicket|id={N1}}}}}"),
        "alias": (f"File:{prefix} b.jpg", f"{{{{VRT permission|{N2}}}}}"),
        "links": (
            f"File:{prefix} c.jpg",
            f"See [[ticket:{N3}]] and [{OLD}&TicketID=4242 the old ticket].",
        ),
        "hidden": (f"File:{prefix} d.jpg", f"<!-- {{{{PermissionTicket|id={N1}}}}} -->"),
        "pending": (f"File:{prefix} e.jpg", f"{{{{Permission pending|id={N4}|day=1}}}}"),
        "redirect": (f"File:{prefix} f.jpg", f"{{{{{prefix} alias|id={N2}}}}}"),
    }
    for title, text in pages.values():
        wiki.create(title, text)
    return {key: title for key, (title, _) in pages.items()}


def test_scan_then_sync_follow_every_kind_of_reference(app, wiki):
    prefix = unique("Refscan")
    pages = seed_pages(wiki, prefix)
    progress = run_scan(app, restart=True)
    assert progress.requests <= progress.done / 2 + 40  # pages come many to a request
    # The template renders a link to the ticket: the link list names those
    # pages again, and they are not read a second time.
    assert progress.skipped > 0
    found = live(app, prefix)
    assert found == {
        pages["template"]: {(TEMPLATE, N1, False)},
        pages["alias"]: {(TEMPLATE, N2, False)},
        pages["links"]: {(INTERWIKI, N3, False), (URL, "4242", True)},
        pages["pending"]: {(PENDING, N4, False)},
        pages["redirect"]: {(TEMPLATE, N2, False)},
    }

    # Change one, remove one, add one, delete one page; one sync sees all of it.
    wiki.create(pages["template"], f"{{{{PermissionTicket|id={N4}}}}}")
    wiki.create(pages["alias"], "No permission any more.")
    wiki.create(pages["hidden"], f"{{{{PermissionTicket|id={N1}}}}}")
    wiki.post(action="delete", title=pages["pending"], reason="test")
    run_sync(app)
    found = live(app, prefix)
    assert found == {
        pages["template"]: {(TEMPLATE, N4, False)},
        pages["links"]: {(INTERWIKI, N3, False), (URL, "4242", True)},
        pages["hidden"]: {(TEMPLATE, N1, False)},
        pages["redirect"]: {(TEMPLATE, N2, False)},
    }
    with new_session(app) as db:
        gone = db.scalars(
            select(WikiReference).where(
                WikiReference.title.like(f"%{prefix}%"), WikiReference.gone_at.is_not(None)
            )
        ).all()
    assert {(g.title, g.ticket) for g in gone} == {
        (pages["template"], N1),
        (pages["alias"], N2),
        (pages["pending"], N4),
    }
    replaced = next(g for g in gone if g.title == pages["template"])
    assert replaced.gone_revision and replaced.gone_revision > replaced.revision

    # A second sync repeats nothing.
    again = run_sync(app)
    assert again.recorded.added == 0 and again.recorded.gone == 0


def test_a_killed_scan_resumes_where_it_stopped(app, wiki, monkeypatch):
    prefix = unique("Refresume")
    for n in range(7):
        wiki.create(f"File:{prefix} {n}.jpg", f"{{{{PermissionTicket|id={N1}}}}}")
    monkeypatch.setattr(reference_scan, "PAGES_PER_REQUEST", 3)
    calls = 0

    class Killed(Exception):
        pass

    def kill_after_two(progress: reference_scan.Progress) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed

    with pytest.raises(Killed):
        run_scan(app, restart=True, report=kill_after_two)
    with new_session(app) as db:
        state = db.get(ReferenceCursor, ("commons", "scan"))
        assert state is not None and state.state["continue"] and not state.state.get("finished")
    resumed = run_scan(app)
    assert len(live(app, prefix)) == 7
    with new_session(app) as db:
        rows = db.scalars(
            select(WikiReference).where(WikiReference.title.like(f"%{prefix}%"))
        ).all()
        assert len(rows) == 7  # nothing recorded twice
        finished = db.get(ReferenceCursor, ("commons", "scan"))
        assert finished is not None and finished.state.get("finished")
    assert resumed.done > 0


def test_cli_scan_prints_a_summary_and_of_lists_the_pages(app, wiki):
    prefix = unique("Refcli")
    title = f"File:{prefix}.jpg"
    wiki.create(title, f"{{{{PermissionTicket|id={N3}}}}}")
    runner = app.test_cli_runner()
    result = runner.invoke(references_cli, ["scan", "--wiki", "commons", "--restart"])
    assert result.exit_code == 0, result.output
    assert "commons\tscan\t" in result.output
    listed = runner.invoke(references_cli, ["of", N3])
    assert f"commons\t{title}\ttemplate\t" in listed.output


def test_the_worker_syncs_each_scanned_wiki_in_turn(app, wiki):
    from sqlalchemy import update

    from tickets.models import utcnow
    from wikibridge.wiki.reference_scan import sync_due

    assert sync_due(app) == []  # never scanned: left alone
    prefix = unique("Refturn")
    run_scan(app, restart=True)
    title = f"File:{prefix}.jpg"
    wiki.create(title, f"{{{{PermissionTicket|id={N2}}}}}")
    assert sync_due(app) == []  # its turn has not come
    with new_session(app) as db:
        db.execute(
            update(ReferenceCursor)
            .where(ReferenceCursor.name == "sync")
            .values(changed_at=utcnow() - dt.timedelta(hours=1))
        )
        db.commit()
    done = sync_due(app)
    assert [p.wiki for p in done] == ["commons"]
    assert live(app, prefix) == {title: {(TEMPLATE, N2, False)}}
    assert sync_due(app) == []  # one turn per interval, whoever asks


def test_the_audit_finds_every_planted_bad_reference_and_no_good_one(app):
    import io

    from tickets.known import import_known
    from tickets.reference_audit import audit
    from wikibridge_sandbox.reference_samples import EXPECTED_FINDINGS, KNOWN_TICKETS_CSV

    with new_session(app) as db:
        import_known(db, io.StringIO(KNOWN_TICKETS_CSV), source="sandbox")
        db.commit()
    run_scan(app, restart=True)
    with new_session(app) as db:
        found = {
            (f.problem, f.reference.title)
            for f in audit(db)
            if f.reference.title.startswith("File:Audit sample")
        }
        samples = db.scalars(
            select(WikiReference.title).where(WikiReference.title.like("File:Audit sample%"))
        ).all()
    assert found == EXPECTED_FINDINGS
    assert len(set(samples)) == 12  # the good ones were found too
