"""Backups that restore, growth from SQLite to PostgreSQL, and archiving.

The round trip runs on both databases whichever the suite runs on: a desk on
SQLite is backed up, restored into a new PostgreSQL database, backed up
there, restored into a new SQLite file, and every step is compared through
the service's own reads, not only by counting rows.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect, select, text

from tests.conftest import PG_ADMIN_URL, make_test_app
from tests.test_corpus import CORPUS, ROWS
from tickets.access import grant, grants_of, parse_rights, volunteer_named
from tickets.applications import ApplicationForm, add_note, list_applications, submit, vote
from tickets.intake import blob_bytes, raw_bytes
from tickets.models import (
    Article,
    Base,
    Blob,
    History,
    PageLink,
    RawMessage,
    State,
    Ticket,
    Volunteer,
)
from tickets.moves import move_ticket
from tickets.queues import queue_by_name
from tickets.references import KnownTicket, WikiReference
from tickets.training import SampleFields, all_samples, create_sample, edit_sample, sample_versions
from wikibridge import create_app
from wikibridge.backup.format import BackupReader, member_name
from wikibridge.backup.tables import EXCLUDED, backup_specs
from wikibridge.cli import cli
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


# --- databases -----------------------------------------------------------------


@pytest.fixture
def fresh_pg() -> Iterator[Any]:
    """Makes new, empty PostgreSQL databases (not migrated); drops them afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"wikibridge_backup_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _empty_like(app: Flask, tmp_path: Path, fresh_pg: Any, name: str) -> str:
    """A new empty database of the same kind as ``app``'s."""
    if app.config["DATABASE_URL"].startswith("postgresql"):
        return str(fresh_pg())
    return f"sqlite:///{tmp_path / name}"


def _bare_app(tmp_path: Path, url: str) -> Flask:
    """An app on ``url`` that touches nothing (no schema, no seeding)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "JOBS_URL": "memory",
            "SECRET_KEY": "test-secret",
            "TOKEN_ENCRYPTION_KEY": "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA=",
            "SERVER_NAME": "wikibridge.test",
        }
    )


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli, list(args))


# --- a realistic desk ------------------------------------------------------------


def _deliver_corpus(app: Flask, limit: int) -> None:
    names = [r[0] for r in ROWS[:limit]]
    names += [
        n
        for n in ("content-en-info-attachment.eml", "detected-de-en-attachment.eml")
        if n not in names
    ]
    for name in names:
        store_message(app, (CORPUS / name).read_bytes())


def fill_desk(app: Flask, mails: int = 30) -> None:
    """Mail with attachments, answers, notes, moves, a grant, an application, training."""
    _deliver_corpus(app, mails)
    with new_session(app) as db:
        tickets = db.scalars(select(Ticket).order_by(Ticket.id)).all()
        alice = volunteer_named(db, "Alice")
        alice.role = "admin"
        bob = volunteer_named(db, "Bob")
        info = queue_by_name(db, "Info")
        permissions = queue_by_name(db, "Permissions")
        assert info is not None and permissions is not None
        grant(db, bob, permissions, parse_rights("read,note,answer"), "Alice")
        first, second, third = tickets[0], tickets[1], tickets[2]
        db.add(
            Article(
                ticket=first,
                channel="email",
                sender_type="agent",
                from_addr="info@wikimedia.org",
                to_addr=first.customer,
                subject=f"[Ticket#{first.number}] Re: hello",
                body="Thank you, done.",
                send_status="sent",
                raw=RawMessage(sha256="0" * 64, size=3, compression="none", data=b"\x00\xffx"),
            )
        )
        db.add(Article(ticket=first, channel="note", sender_type="agent", body="Checked.\u00e9"))
        first.state = State.CLOSED_SUCCESSFUL.value
        first.owner = bob
        move_ticket(db, second, permissions, "Alice")
        second.state = State.MERGED.value
        second.merged_into_id = third.id
        db.add(PageLink(ticket=third, wiki="commons", title="File:A.jpg", linked_by="Bob"))
        db.add(
            PageLink(
                ticket=third, wiki="commons", title="File:B.jpg", state={"exists": True, "tags": []}
            )
        )
        db.add(History(ticket_id=third.id, kind="note", actor="Bob", detail={"n": [1, None]}))
        db.add(
            WikiReference(
                wiki="commons",
                page_id=7,
                title="File:A.jpg",
                kind="template",
                ticket=third.number,
                number=third.number,
                revision=42,
            )
        )
        db.add(KnownTicket(number="2010010110000011", old_id="77", queue="Permissions"))
        ann = volunteer_named(db, "Ann")
        ann.role = "applicant"
        application = submit(
            db,
            ann,
            ApplicationForm(
                languages=[{"code": "de", "level": "native"}],
                queues=["Info"],
                motivation="Ich helfe gern.",
                links=["https://meta.wikimedia.org/wiki/User:Ann"],
                terms_version="1",
                terms_text="Vertraulich.",
            ),
            offered=["Info", "Permissions"],
            facts={"editcount": 1234},
        )
        vote(db, application, "Alice", "support", "gut")
        add_note(db, application, "Alice", "Knows the wiki well.")
        sample = create_sample(
            db,
            SampleFields(
                title="Photo permission",
                from_name="Jo",
                from_address="jo@example.org",
                subject="My photo",
                body="I took it.",
            ),
            "Alice",
        )
        edit_sample(
            db,
            sample,
            SampleFields(
                title="Photo permission 2",
                from_name="Jo",
                from_address="jo@example.org",
                subject="My photo",
                body="I took it myself.",
            ),
            "Alice",
        )
        db.commit()


def _utc(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.isoformat()


def desk_view(app: Flask) -> dict[str, Any]:
    """Everything the desk shows, read through the service's own models and helpers."""
    view: dict[str, Any] = {}
    with new_session(app) as db:
        tickets = {}
        for ticket in db.scalars(select(Ticket).order_by(Ticket.number)):
            merged = db.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
            tickets[ticket.number] = {
                "title": ticket.title,
                "queue": ticket.queue.name,
                "state": ticket.state,
                "customer": ticket.customer,
                "owner": ticket.owner.username if ticket.owner else None,
                "merged_into": merged.number if merged else None,
                "created": _utc(ticket.created_at),
                "changed": _utc(ticket.changed_at),
                "articles": [
                    {
                        "subject": a.subject,
                        "body": a.body,
                        "html": a.body_html,
                        "from": a.from_addr,
                        "sender": a.sender_type,
                        "channel": a.channel,
                        "message_id": a.message_id,
                        "created": _utc(a.created_at),
                        "raw": raw_bytes(a.raw) if a.raw else None,
                        "attachments": [
                            (
                                f.filename,
                                f.content_type,
                                blob_bytes(db.get_one(Blob, f.sha256)),
                            )
                            for f in a.attachments
                        ],
                    }
                    for a in ticket.articles
                ],
                "history": [
                    (h.kind, h.actor, h.detail, _utc(h.created_at))
                    for h in db.scalars(
                        select(History).where(History.ticket_id == ticket.id).order_by(History.id)
                    )
                ],
                "links": [(p.wiki, p.title, p.state, p.linked_by) for p in ticket.page_links],
            }
        view["tickets"] = tickets
        view["grants"] = {
            v.username: (v.role, sorted((g.queue.name, g.rights) for g in grants_of(db, v)))
            for v in db.scalars(select(Volunteer).order_by(Volunteer.username))
        }
        view["references"] = [
            (r.wiki, r.title, r.kind, r.ticket, r.number, r.revision)
            for r in db.scalars(select(WikiReference).order_by(WikiReference.id))
        ]
        view["known"] = [
            (k.number, k.old_id, k.queue)
            for k in db.scalars(select(KnownTicket).order_by(KnownTicket.number))
        ]
        view["applications"] = [
            (a.status, a.queues, a.languages, a.motivation, a.eligibility)
            for a in list_applications(db)
        ]
        view["samples"] = [
            (s.title, s.body, [v.document for v in sample_versions(db, s)]) for s in all_samples(db)
        ]
        view["json_nulls"] = sorted(
            db.scalars(select(PageLink.title).where(PageLink.state.is_(None))).all()
        )
    return view


def _view_is_full(view: dict[str, Any]) -> None:
    articles = [a for t in view["tickets"].values() for a in t["articles"]]
    assert len(view["tickets"]) >= 20
    assert any(a["attachments"] for a in articles)
    assert any(a["raw"] == b"\x00\xffx" for a in articles)
    assert any(t["merged_into"] for t in view["tickets"].values())
    assert view["applications"] and view["samples"] and view["references"]
    assert view["json_nulls"] == ["File:A.jpg"]


# --- the tables -----------------------------------------------------------------


def test_every_table_is_backed_up_or_excluded_with_a_reason(database_url: str):
    engine = create_engine(database_url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    # Search tables made by hand in migrations (no model): their triggers fill
    # them again from the restored tickets and articles.
    made_by_hand = {n for n in names if n.startswith(("article_fts", "ticket_fts"))}
    made_by_hand |= names & {"ticket_search"}
    in_database = names - made_by_hand - {"alembic_version"}
    backed_up = {s.name for s in backup_specs()}
    assert backed_up.isdisjoint(EXCLUDED)
    assert in_database == backed_up | set(EXCLUDED)
    assert set(Base.metadata.tables) == backed_up | set(EXCLUDED)
    assert all(reason for reason in EXCLUDED.values())


# --- growth: SQLite -> PostgreSQL -> SQLite ---------------------------------------


def test_sqlite_desk_grows_into_postgresql_and_back(tmp_path: Path, fresh_pg: Any):
    source_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    from wikibridge.migrate import upgrade

    upgrade(source_url)
    source = make_test_app(tmp_path, source_url)
    fill_desk(source)
    before = desk_view(source)
    _view_is_full(before)

    first = tmp_path / "desk.backup"
    result = _run(source, "backup", str(first))
    assert result.exit_code == 0, result.output
    with BackupReader(first) as reader:
        assert reader.manifest["dialect"] == "sqlite"
        assert "login_session" not in {s.name for s in reader.specs}

    pg = _bare_app(tmp_path, fresh_pg())
    result = _run(pg, "restore", str(first))
    assert result.exit_code == 0, result.output
    assert "checksums match" in result.output
    assert desk_view(pg) == before

    # The desk runs there: new mail gets new ids and numbers, follow-ups find their ticket.
    stored = store_message(pg, (CORPUS / "address-info-de-en-text.eml").read_bytes())
    assert stored.number not in before["tickets"]
    second = tmp_path / "grown.backup"
    result = _run(pg, "backup", str(second))
    assert result.exit_code == 0, result.output
    grown = desk_view(pg)

    back = _bare_app(tmp_path, f"sqlite:///{tmp_path / 'back.sqlite3'}")
    result = _run(back, "restore", str(second))
    assert result.exit_code == 0, result.output
    assert desk_view(back) == grown
    with new_session(back) as db:
        assert db.scalar(select(text("count(*)")).select_from(text("article_fts"))) > 0
    for app in (source, pg, back):
        app.extensions["db_engine"].dispose()


# --- consistency while mail arrives ------------------------------------------------


def test_backup_taken_while_mail_arrives_is_consistent(app: Flask, tmp_path: Path, fresh_pg: Any):
    _deliver_corpus(app, 10)
    names = [r[0] for r in ROWS[10:40] if r[2] != "duplicate"]
    done = threading.Event()
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            for name in names:
                store_message(app, (CORPUS / name).read_bytes())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=deliver)
    thread.start()
    path = tmp_path / "live.backup"
    result = _run(app, "backup", str(path))
    thread.join()
    assert result.exit_code == 0, result.output
    assert not failures

    assert _run(app, "backup", "--verify", str(path)).exit_code == 0
    with BackupReader(path) as reader:
        counts = reader.verify()
    target = _bare_app(tmp_path, _empty_like(app, tmp_path, fresh_pg, "live.sqlite3"))
    result = _run(target, "restore", str(path))
    assert result.exit_code == 0, result.output
    engine = target.extensions["db_engine"]
    with engine.connect() as conn:
        for name, rows in counts.items():
            query = f'SELECT count(*) FROM "{name}"'  # noqa: S608 - the manifest's names
            assert conn.execute(text(query)).scalar() == rows, name
        orphans = conn.execute(
            text("SELECT count(*) FROM article WHERE ticket_id NOT IN (SELECT id FROM ticket)")
        ).scalar()
    assert orphans == 0
    assert counts["ticket"] >= 8
    engine.dispose()


# --- verify and refusals ------------------------------------------------------------


def _damage(path: Path, out: Path, table: str) -> None:
    """Copy the backup with one changed line in ``table``'s member."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == member_name(table):
                data = data.replace(b"Info", b"Inf0", 1)
            target.writestr(item, data)


def test_verify_says_good_damaged_or_usage(app: Flask, tmp_path: Path):
    fill_desk(app, mails=5)
    path = tmp_path / "a.backup"
    assert _run(app, "backup", str(path)).exit_code == 0
    good = _run(app, "backup", "--verify", str(path))
    assert good.exit_code == 0, good.output
    assert "good" in good.output

    damaged = tmp_path / "damaged.backup"
    _damage(path, damaged, "queue")
    result = _run(app, "backup", "--verify", str(damaged))
    assert result.exit_code == 1
    assert "table queue" in result.output

    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _run(app, "backup", "--verify", str(garbage)).exit_code == 1
    assert _run(app, "backup", "--verify", str(tmp_path / "missing")).exit_code == 2
    assert _run(app, "backup").exit_code == 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_restore_refuses_a_desk_with_data_and_a_newer_backup(
    app: Flask, tmp_path: Path, fresh_pg: Any
):
    fill_desk(app, mails=3)
    path = tmp_path / "a.backup"
    assert _run(app, "backup", str(path)).exit_code == 0
    result = _run(app, "restore", str(path))
    assert result.exit_code == 1
    assert "not empty" in result.output

    newer = tmp_path / "newer.backup"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(newer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["alembic_revision"] = "9999"
                data = json.dumps(manifest).encode()
            target.writestr(item, data)
    empty = _bare_app(tmp_path, _empty_like(app, tmp_path, fresh_pg, "empty.sqlite3"))
    result = _run(empty, "restore", str(newer))
    assert result.exit_code == 1
    assert "9999 is unknown to this code" in result.output

    damaged = tmp_path / "damaged.backup"
    _damage(path, damaged, "queue")
    result = _run(empty, "restore", str(damaged))
    assert result.exit_code == 1
    assert "table queue" in result.output
    engine = create_engine(empty.config["DATABASE_URL"])
    assert inspect(engine).get_table_names() == []
    engine.dispose()


# --- archiving -----------------------------------------------------------------------


def _age(app: Flask, numbers: list[str], state: str) -> None:
    with new_session(app) as db:
        for number in numbers:
            ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
            ticket.state = state
            ticket.changed_at = OLD
        db.commit()


def test_archive_lists_writes_verifies_then_removes_exactly_those(
    app: Flask, tmp_path: Path, fresh_pg: Any
):
    fill_desk(app, mails=12)
    with new_session(app) as db:
        info_tickets = db.scalars(
            select(Ticket.number)
            .join(Ticket.queue)
            .where(Ticket.state != State.MERGED.value)
            .where(Ticket.queue.has(name="Info::de"))
            .order_by(Ticket.id)
        ).all()
        merged = db.scalars(select(Ticket).where(Ticket.merged_into_id.is_not(None))).one()
        merged_number, target_number = (
            merged.number,
            db.get_one(Ticket, merged.merged_into_id).number,
        )
    old = [*info_tickets[:1], target_number]
    _age(app, old, State.CLOSED_SUCCESSFUL.value)
    going = sorted([*old, merged_number])
    view = desk_view(app)

    listed = _run(app, "archive", "--closed-before", "2021-01-01", "--dry-run")
    assert listed.exit_code == 0, listed.output
    assert (
        sorted(line.split("\t")[0] for line in listed.output.splitlines() if "\t" in line) == going
    )
    assert "3 tickets would be archived" in listed.output
    assert desk_view(app) == view
    only_press = _run(
        app, "archive", "--closed-before", "2021-01-01", "--queue", "Role", "--dry-run"
    )
    assert "0 tickets would be archived" in only_press.output
    assert _run(app, "archive", "--closed-before", "2021-01-01").exit_code == 2
    assert _run(app, "archive", "--closed-before", "yesterday", "--dry-run").exit_code == 2

    path = tmp_path / "2020.archive"
    result = _run(app, "archive", "--closed-before", "2021-01-01", "--to", str(path))
    assert result.exit_code == 0, result.output
    assert _run(app, "backup", "--verify", str(path)).exit_code == 0
    after = desk_view(app)
    assert sorted(set(view["tickets"]) - set(after["tickets"])) == going
    for number, ticket in after["tickets"].items():
        assert ticket == view["tickets"][number]
    assert {k[0] for k in after["known"]} >= set(going)
    with new_session(app) as db:
        referenced = set(db.scalars(select(Article.raw_id).where(Article.raw_id.is_not(None))))
        assert set(db.scalars(select(RawMessage.id))) == referenced
    # Archiving again finds nothing.
    again = _run(app, "archive", "--closed-before", "2021-01-01", "--dry-run")
    assert "0 tickets would be archived" in again.output

    reading = _bare_app(tmp_path, _empty_like(app, tmp_path, fresh_pg, "archive.sqlite3"))
    result = _run(reading, "restore", str(path))
    assert result.exit_code == 0, result.output
    restored = desk_view(reading)
    assert sorted(restored["tickets"]) == going
    for number in going:
        assert restored["tickets"][number] == view["tickets"][number]
    for each in (reading,):
        each.extensions["db_engine"].dispose()
