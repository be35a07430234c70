"""Page writes on the sandbox Meta: each op as a volunteer over OAuth and as the bot.

Writes are queued with ``request_write`` and handed to the in-memory job
queue (which runs them at once) or run here with ``run_write``; every effect
is checked through Meta's own api.php. Titles are fresh per run, and every
wiki-wide switch is undone in ``finally``: others use the same sandbox.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from tests.integration.tagging_helpers import Wiki, login_id, pywikibot_config, unique
from tests.integration.test_login import desk, log_in, password_of
from tickets.models import utcnow
from tickets.wiki_writes import Op, WikiWrite, request_write, writes_for
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of
from wikibridge.wiki.batches import lease_of
from wikibridge.wiki.faults import WikiUnavailable
from wikibridge.wiki.meta_reads import ReadFailed, desk_marker, section_comments
from wikibridge.wiki.writes import enqueue_writes, run_write

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def meta(sandbox: Any) -> Iterator[Wiki]:
    """The sandbox Meta, as its admin."""
    admin = Wiki(sandbox.meta.api_url, sandbox.admin.username, sandbox.admin.password)
    yield admin
    admin.close()


def make_desk(tmp_path: Path, database_url: str, oauth_provider: Any, version: str = "1") -> Flask:
    app = desk(tmp_path, database_url, oauth_provider, version)
    client = app.test_client()
    assert log_in(client, oauth_provider, "Alice").status_code == 302
    app.extensions["alice"] = client
    app.config["WIKI_PUT_THROTTLE"] = 0
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str, oauth_provider: Any) -> Iterator[Flask]:
    """A desk on the sandbox, with Alice (a head) logged in over OAuth 1.0a."""
    app = make_desk(tmp_path, database_url, oauth_provider)
    yield app
    app.extensions["db_engine"].dispose()


def page_title(prefix: str) -> str:
    return f"VRT/{unique(prefix)}"


def queue(
    app: Flask,
    title: str,
    op: Op,
    text: str,
    *,
    user: str | None = "Alice",
    section: str = "",
    purpose: str = "",
    summary: str = "Writes test",
) -> int:
    """Queue a write as ``user`` over OAuth (None: as the bot for Alice); its id."""
    with new_session(app) as db:
        write = request_write(
            db,
            wiki="meta",
            title=title,
            op=op,
            text=text,
            summary=summary,
            requested_by=user or "Alice",
            login_session_id=login_id(app, user) if user else None,
            as_bot=user is None,
            section=section,
            purpose=purpose,
        )
        db.commit()
        return write.id


def row(app: Flask, write_id: int) -> WikiWrite:
    with new_session(app) as db:
        write = db.get(WikiWrite, write_id)
        assert write is not None
        db.expunge(write)
        return write


def revisions_of(meta: Wiki, title: str) -> list[dict[str, Any]]:
    return meta.revisions(title)


@pytest.mark.parametrize("as_bot", [False, True], ids=["oauth", "bot"])
def test_every_op(app, meta, oauth_provider, as_bot):
    user = None if as_bot else "Alice"
    editor = oauth_provider.sandbox.bot.username if as_bot else "Alice"
    title = page_title("Applications")
    purpose = f"application:{secrets.token_hex(3)}"
    steps = [
        (Op.NEW_SECTION, "Application: Dave", "Dave would like to help. ~~~~"),
        (Op.APPEND_TO_SECTION, "Application: Dave", "Accepted. ~~~~"),
        (Op.ADD_LINE, "", "* [[User:Dave]]"),
        (Op.ADD_LINE, "", "* [[User:Erin]]"),
        (Op.REMOVE_LINE, "", "* [[User:Dave]]"),
    ]
    ids = [
        queue(app, title, op, text, user=user, section=section, purpose=purpose)
        for op, section, text in steps
    ]
    enqueue_writes(app, ids)

    with new_session(app) as db:
        done = writes_for(db, purpose)
        assert [(w.id, w.status) for w in done] == [(i, "done") for i in ids], [
            (w.status, w.message) for w in done
        ]
        made = [w.revision for w in done]
    revisions = list(reversed(revisions_of(meta, title)))
    assert [r["revid"] for r in revisions] == made
    for write_id, revision in zip(ids, revisions, strict=True):
        assert revision["user"] == editor
        assert revision["comment"].startswith("Writes test (")
        assert f"wikibridge write #{write_id}, {purpose}" in revision["comment"]
        if as_bot:
            assert "requested by Alice" in revision["comment"]
            assert meta.recent_change(revision["revid"]).get("bot") is True
    text = meta.text(title)
    assert text.startswith("== Application: Dave ==\nDave would like to help. [[User:")
    assert f"\nAccepted. [[User:{editor}|" in text
    assert text.endswith("(UTC)\n* [[User:Erin]]")
    assert "* [[User:Dave]]" not in text

    replace = queue(app, title, Op.REPLACE_PAGE, "Closed.", user=user, purpose=purpose)
    assert run_write(app, replace) == "done"
    assert meta.text(title) == "Closed."
    assert meta.latest(title)["user"] == editor


def test_same_write_twice_and_a_crash_after_saving(app, meta):
    title = page_title("Twice")
    first = queue(app, title, Op.NEW_SECTION, "Hello. ~~~~", section="Greeting")
    assert run_write(app, first) == "done"
    # The same content asked again: found on the page, not posted twice.
    second = queue(app, title, Op.NEW_SECTION, "Hello. ~~~~", section="Greeting")
    assert run_write(app, second) == "unchanged"
    assert "already" in row(app, second).message
    # Running a write that has ended does nothing.
    assert run_write(app, first) == "done"

    # A worker that saved and died before recording it: the row still says
    # running, its lease runs out, another worker takes it over.
    line = queue(app, title, Op.APPEND_TO_SECTION, "Later. ~~~~", section="Greeting")
    assert run_write(app, line) == "done"
    saved = row(app, line).revision
    with new_session(app) as db:
        db.execute(
            update(WikiWrite)
            .where(WikiWrite.id == line)
            .values(status="running", revision=None, lease_until=utcnow(), lease_owner="dead")
        )
        db.commit()
    assert run_write(app, line) == "done"
    recovered = row(app, line)
    assert recovered.revision == saved and "recovered" in recovered.message
    assert recovered.attempts == 2
    assert [r["user"] for r in revisions_of(meta, title)] == ["Alice", "Alice"]


def test_writes_of_a_purpose_wait_for_the_earlier_ones(app, meta):
    title = page_title("Order")
    purpose = f"application:{secrets.token_hex(3)}"
    section = queue(app, title, Op.NEW_SECTION, "Application.", section="Erin", purpose=purpose)
    decision = queue(app, title, Op.APPEND_TO_SECTION, "Accepted.", section="Erin", purpose=purpose)

    assert run_write(app, decision) == "queued"
    waiting = row(app, decision)
    assert f"waits for write #{section}" in waiting.message
    assert not revisions_of(meta, title)

    # The section made, the decision follows on its own (in-memory job queue).
    assert run_write(app, section) == "done"
    assert row(app, decision).status == "done"
    assert meta.text(title) == "== Erin ==\nApplication.\nAccepted."
    assert len(revisions_of(meta, title)) == 2


def test_a_concurrent_edit_is_read_again(app, meta):
    title = page_title("Conflict")
    meta.create(title, "== Talk ==\nFirst.\n")
    edits: list[int] = []

    def someone_else(write: WikiWrite) -> None:
        if not edits:
            edits.append(write.id)
            meta.create(title, "== Talk ==\nFirst.\n\n== Other ==\nMeanwhile.\n")

    write_id = queue(app, title, Op.APPEND_TO_SECTION, "Second.", section="Talk")
    time.sleep(1.1)  # MediaWiki merges edits of the same second into the base revision
    assert run_write(app, write_id, before_save=someone_else) == "done"
    assert edits == [write_id]
    assert meta.text(title) == "== Talk ==\nFirst.\nSecond.\n\n== Other ==\nMeanwhile."


def saved_late_by_alice(app: Flask, oauth_provider: Any, meta: Wiki, title: str) -> Any:
    """A ``before_save`` doing what a timed-out first try did: this write's own edit, saved."""
    from wikibridge.wiki.write_plans import plan_write
    from wikibridge.wiki.writes import summary_of
    from wikibridge_sandbox.seed import AdminSession

    def save(write: WikiWrite) -> None:
        latest = meta.revisions(title, limit=1)
        page = latest[0]["slots"]["main"]["content"] if latest else ""
        plan = plan_write(write.op, bool(latest), page, text=write.text, section=write.section)
        with AdminSession(oauth_provider.sandbox.meta.api_url) as as_alice:
            as_alice.login("Alice", password_of(oauth_provider, "Alice"))
            as_alice.edit(title, plan.text, summary_of(write))

    return save


@pytest.mark.parametrize("exists", [True, False], ids=["edit", "create"])
def test_a_write_the_wiki_saved_before_its_retry_is_done(app, meta, oauth_provider, exists):
    """A wiki that times out: pywikibot sends the edit again, the wiki had saved the first.

    The retry finds nothing to change (an edit) or the page there (a create);
    the page holds this write's own revision, so the write is "done" with it,
    not "unchanged" (found by ``bench/faults.py``, a wiki frozen mid-edit).
    """
    title = page_title("Saved late")
    if exists:
        meta.create(title, "== Talk ==\nFirst.\n")
        time.sleep(1.1)  # MediaWiki merges edits of the same second into the base revision
    write_id = queue(app, title, Op.NEW_SECTION, "Hello.", section="Greeting")

    status = run_write(
        app, write_id, before_save=saved_late_by_alice(app, oauth_provider, meta, title)
    )

    assert status == "done", row(app, write_id).message
    revisions = revisions_of(meta, title)
    ours = [r for r in revisions if r["user"] == "Alice"]
    assert len(ours) == 1, revisions
    write = row(app, write_id)
    assert write.revision == ours[0]["revid"] and "earlier try" in write.message


def test_the_database_going_away_after_the_save_queues_the_write_again(app, meta):
    """A PostgreSQL restart between the save and its record: queued, then "done" once."""
    from sqlalchemy import event

    from wikibridge.db import DatabaseUnavailable

    title = page_title("Database away")
    write_id = queue(app, title, Op.NEW_SECTION, "Hello.", section="Greeting")
    engine = app.extensions["db_engine"]
    dbapi = engine.dialect.loaded_dbapi
    sqlite = engine.url.get_backend_name() == "sqlite"
    armed: list[str] = []

    def refuse_once(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The write's outcome, after its save (the lease's renewal before it passes).
        if armed == ["saving"] and "UPDATE wiki_write" in statement and "revision" in statement:
            armed.append("fired")
            raise dbapi.OperationalError(
                "database is locked" if sqlite else "server closed the connection unexpectedly"
            )

    event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        with pytest.raises(DatabaseUnavailable):
            run_write(app, write_id, before_save=lambda _write: armed.append("saving"))
    finally:
        event.remove(engine, "before_cursor_execute", refuse_once)
    waiting = row(app, write_id)
    assert waiting.status == "queued" and "database went away" in waiting.message
    assert armed == ["saving", "fired"]

    assert run_write(app, write_id) == "done"
    done = row(app, write_id)
    assert "recovered" in done.message
    assert [r["revid"] for r in revisions_of(meta, title)] == [done.revision]


def test_a_protected_page_fails_with_the_reason_and_an_admin_retries(app, meta):
    title = page_title("Protected")
    meta.create(title, "Kept.\n")
    meta.post(action="protect", title=title, protections="edit=sysop", expiry="1 day", reason="t")
    write_id = queue(app, title, Op.ADD_LINE, "* Alice was here")

    assert run_write(app, write_id) == "failed"
    failed = row(app, write_id)
    assert "protected" in failed.message
    assert meta.text(title) == "Kept."

    client = app.extensions["alice"]
    listed = client.get("/admin/wiki-writes?status=failed").get_data(as_text=True)
    assert f'id="wiki-write-{write_id}"' in listed and "protected" in listed
    meta.post(action="protect", title=title, protections="edit=all", reason="t")
    with client.session_transaction() as s:
        token = s.setdefault("csrf", "t")
    response = client.post(f"/admin/wiki-writes/{write_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    retried = row(app, write_id)
    assert retried.status == "done", retried.message
    assert meta.text(title) == "Kept.\n* Alice was here"
    assert meta.latest(title)["user"] == "Alice"


def test_a_deleted_page_fails_clearly(app, meta):
    title = page_title("Deleted")
    meta.create(title, "== Talk ==\nHi.\n")

    def delete(write: WikiWrite) -> None:
        meta.post(action="delete", title=title, reason="writes test")

    write_id = queue(app, title, Op.APPEND_TO_SECTION, "Bye.", section="Talk")
    assert run_write(app, write_id, before_save=delete) == "failed"
    assert "deleted after it was read" in row(app, write_id).message


def test_revoked_token_pauses_until_the_volunteer_logs_in_again(app, meta, oauth_provider):
    carol = app.test_client()
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    title = page_title("Revoked")
    write_id = queue(app, title, Op.ADD_LINE, "* Carol", user="Carol Example")
    oauth_provider.revoke("Carol Example")

    assert run_write(app, write_id) == "paused"
    paused = row(app, write_id)
    assert "log in" in paused.message and "Carol Example" in paused.message
    assert not revisions_of(meta, title)

    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    assert row(app, write_id).status == "done"
    assert meta.text(title) == "* Carol"
    assert meta.latest(title)["user"] == "Carol Example"


def test_oauth2_writes(tmp_path, database_url, oauth_provider, meta):
    app = make_desk(tmp_path, database_url, oauth_provider, version="2")
    try:
        title = page_title("OAuth 2")
        write_id = queue(app, title, Op.NEW_SECTION, "Hi. ~~~~", section="Hello")
        assert run_write(app, write_id) == "done", row(app, write_id).message
        assert meta.latest(title)["user"] == "Alice"
    finally:
        app.extensions["db_engine"].dispose()


def test_unreachable_wiki_queues_the_write_again(app, meta):
    from wikibridge_sandbox.family import write_family_file

    reachable = dict(app.config["WIKIS"])
    family = f"gone{secrets.token_hex(3)}"
    path = write_family_file(
        Path(app.instance_path) / f"{family}_family.py", family, {"meta": ("127.0.0.1:9", "/meta")}
    )
    app.config["PYWIKIBOT_FAMILY_FILES"] = {
        **app.config["PYWIKIBOT_FAMILY_FILES"],
        family: str(path),
    }
    app.config["WIKIS"] = {
        **app.config["WIKIS"],
        "meta": {
            **app.config["WIKIS"]["meta"],
            "family": family,
            "api_url": "http://127.0.0.1:9/meta/api.php",
        },
    }
    title = page_title("Unreachable")
    write_id = queue(app, title, Op.ADD_LINE, "* x")
    with pywikibot_config(max_retries=0, retry_wait=0), pytest.raises(WikiUnavailable):
        run_write(app, write_id)
    waiting = row(app, write_id)
    assert waiting.status == "queued" and "did not answer" in waiting.message
    assert waiting.lease_owner is None

    # The wiki is back; the periodic sweep hands a write that waited long
    # enough to a worker (the in-memory job queue runs it at once).
    app.config["WIKIS"] = reachable
    with new_session(app) as db:
        db.execute(
            update(WikiWrite)
            .where(WikiWrite.id == write_id)
            .values(changed_at=utcnow() - lease_of(app))
        )
        db.commit()
    with app.app_context():
        jobs_of(app).wiki_sweep()
    assert row(app, write_id).status == "done"
    assert meta.text(title) == "* x"


def test_refused_bot_login_stops_for_an_admin(app, meta):
    app.config["BOT_USERNAME"] = "NoSuchBot@wikibridge"
    app.config["BOT_PASSWORD"] = "not-a-bot-password"
    title = page_title("Bot refused")
    write_id = queue(app, title, Op.ADD_LINE, "* x", user=None)
    assert run_write(app, write_id) == "stopped"
    stopped = row(app, write_id)
    assert "bot" in stopped.message and "login" in stopped.message
    assert not revisions_of(meta, title)


def test_section_comments(app, meta):
    title = page_title("Comments")
    write_id = queue(
        app,
        title,
        Op.NEW_SECTION,
        f"Applicant: Dave ~~~~\n{desk_marker('application:1')}",
        section="Application: Dave",
    )
    assert run_write(app, write_id) == "done"
    meta.post(
        action="edit",
        title=title,
        appendtext="\n* Support. ~~~~\n* Unsigned remark.",
        summary="writes test",
    )

    comments = section_comments(app, "meta", title, "Application: Dave")

    admin = str(meta.get(action="query", meta="userinfo")["query"]["userinfo"]["name"])
    assert [(c.author, c.text) for c in comments] == [
        (admin, "Support."),
        ("", "Unsigned remark."),
    ]
    assert comments[0].signed_at is not None
    with pytest.raises(ReadFailed) as missing_section:
        section_comments(app, "meta", title, "Application: Zoe")
    assert missing_section.value.reason == "no-section"
    with pytest.raises(ReadFailed) as missing_page:
        section_comments(app, "meta", page_title("Never"), "Any")
    assert missing_page.value.reason == "no-page"
    app.config["WIKIS"] = {
        **app.config["WIKIS"],
        "meta": {**app.config["WIKIS"]["meta"], "api_url": "http://127.0.0.1:9/meta/api.php"},
    }
    with pytest.raises(ReadFailed) as away:
        section_comments(app, "meta", title, "Application: Dave")
    assert away.value.reason == "unreachable" and "did not answer" in away.value.message


def test_command_line_lists_and_retries(app, meta):
    from wikibridge.wiki.cli import wiki_cli

    title = page_title("Cli")
    meta.create(title, "Kept.\n")
    meta.post(action="protect", title=title, protections="edit=sysop", expiry="1 day", reason="t")
    purpose = f"cli:{secrets.token_hex(3)}"
    write_id = queue(app, title, Op.ADD_LINE, "* y", purpose=purpose)
    assert run_write(app, write_id) == "failed"
    runner = app.test_cli_runner()

    listed = runner.invoke(wiki_cli, ["writes", "--status", "failed", "--purpose", purpose])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.stdout.splitlines()
    fields = line.split("\t")
    assert fields[:5] == [str(write_id), "failed", "meta", title, "add-line"]
    assert "protected" in fields[-1]

    meta.post(action="protect", title=title, protections="edit=all", reason="t")
    retried = runner.invoke(wiki_cli, ["write-retry", str(write_id)])
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.startswith(f"{write_id}\tdone\t")
    assert meta.text(title) == "Kept.\n* y"


def test_command_line_publishes_the_public_page_as_the_bot(app, meta, oauth_provider):
    from tickets.recruiting_settings import RecruitingSettings, save_settings
    from wikibridge.cli import cli

    title = page_title("Volunteer with us")
    with new_session(app) as db:
        save_settings(
            db, RecruitingSettings(public_page=title, how_to_apply="Log in, then apply."), "Alice"
        )
        db.commit()

    result = app.test_cli_runner().invoke(cli, ["recruiting", "publish"])

    assert result.exit_code == 0, result.output
    assert "\tdone\t" in result.stdout
    text = meta.text(title)
    assert "== Where help is wanted ==" in text and "Log in, then apply." in text
    assert "http://127.0.0.1:5999/volunteer" in text
    assert meta.latest(title)["user"] == oauth_provider.sandbox.bot.username
