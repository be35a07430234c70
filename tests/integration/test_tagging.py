"""Permission tagging of files in bulk, against the sandbox wiki.

Batches run here (``create_batch`` + ``run_batch``) as a volunteer who logged
in through the sandbox OAuth provider, or through the web routes with the
in-memory job queue; every effect is checked through the wiki's own api.php.
Titles are fresh per run, and every wiki-wide switch is undone in ``finally``:
others use the same sandbox at the same time.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.helpers import new_ticket
from tests.integration.tagging_helpers import (
    NO_PERMISSION,
    Wiki,
    action_ids,
    batch_row,
    counting_requests,
    history,
    link,
    login_id,
    new_batch,
    outcomes,
    pywikibot_config,
    tag_now,
    unique,
)
from tests.integration.test_login import desk, log_in, password_of
from tickets.models import WikiBatch, utcnow
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of
from wikibridge.wiki.batches import LEASE, WikiUnavailable, run_batch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wiki(sandbox: Any) -> Iterator[Wiki]:
    """The sandbox Commons, as its admin."""
    admin = Wiki(sandbox.commons.api_url, sandbox.admin.username, sandbox.admin.password)
    yield admin
    admin.close()


@pytest.fixture
def app(tmp_path: Path, database_url: str, oauth_provider: Any) -> Iterator[Flask]:
    """A desk on the sandbox, with Alice (a head) logged in on ``app.alice``."""
    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    assert log_in(client, oauth_provider, "Alice").status_code == 302
    app.extensions["alice"] = client
    app.config["WIKI_PUT_THROTTLE"] = 0
    yield app
    app.extensions["db_engine"].dispose()


def alice(app: Flask) -> Any:
    """Alice's browser on the desk (logged in through the provider)."""
    return app.extensions["alice"]


def csrf(client: Any) -> str:
    with client.session_transaction() as s:
        return str(s.setdefault("csrf", "t"))


def ticket_tag(number: str) -> str:
    return f"{{{{PermissionTicket|id={number}}}}}"


def page_text(body: str = "A test file.", tag: str = "") -> str:
    return f"== Summary ==\n{body}\n{tag}\n[[Category:Tagging tests]]\n"


def test_tag_six_files_as_alice(app, wiki, oauth_provider):
    texts = [page_text(tag=NO_PERMISSION if n % 2 else "") for n in range(6)]
    titles = wiki.files("Tag six", texts)
    before = {t: wiki.latest(t)["revid"] for t in titles}
    number = new_ticket(app)
    with counting_requests() as sent:
        status, pages, _batch = tag_now(app, number, titles, "Alice", login_id(app, "Alice"))
    assert status == "done"
    assert {p.status for p in pages.values()} == {"done"}, pages
    for title in titles:
        revision = wiki.latest(title)
        text = revision["slots"]["main"]["content"]
        assert ticket_tag(number) in text
        assert "No permission since" not in text
        assert revision["user"] == "Alice"
        assert number in revision["comment"]
        assert pages[title].revision == revision["revid"]
        assert pages[title].base_revision == before[title]
        change = wiki.recent_change(revision["revid"])
        assert "bot" not in change or change["bot"] is False
    # One read of all six, one edit each; the login and a token take a few more.
    # (pywikibot reads siteinfo and paraminfo once per process: not counted.)
    counted = [r for r in sent if "meta=siteinfo" not in r and "action=paraminfo" not in r]
    assert len(counted) <= len(titles) + 4, "\n".join(sent)
    assert sum("prop=revisions" in r for r in sent) == 1, "\n".join(sent)
    assert sum("action=edit" in r for r in sent) == len(titles)
    entries = history(app, number, "wiki-confirm")
    assert sorted(e["page"] for e in entries) == sorted(titles)
    assert {e["status"] for e in entries} == {"done"}


def test_tagging_again_skips_and_other_ticket_conflicts(app, wiki):
    titles = wiki.files("Again", [page_text(tag=NO_PERMISSION), page_text()])
    number = new_ticket(app)
    login = login_id(app, "Alice")
    status, pages, _ = tag_now(app, number, titles, "Alice", login)
    assert status == "done" and {p.status for p in pages.values()} == {"done"}, pages
    after = {t: wiki.latest(t)["revid"] for t in titles}
    other = wiki.files("Other ticket", [page_text(tag=ticket_tag("2026010110000099"))])
    other_revision = wiki.latest(other[0])["revid"]

    status, pages, _ = tag_now(app, number, [*titles, *other], "Alice", login)

    assert status == "done"
    for title in titles:
        assert pages[title].status == "skipped", pages[title]
        assert wiki.latest(title)["revid"] == after[title]
    assert pages[other[0]].status == "conflict"
    assert "2026010110000099" in pages[other[0]].message
    assert wiki.latest(other[0])["revid"] == other_revision
    assert number not in wiki.text(other[0])


def test_licence_and_pending(app, wiki):
    confirm, pending = wiki.files("Licence", [page_text(), page_text(tag=NO_PERMISSION)])
    number = new_ticket(app)
    login = login_id(app, "Alice")

    status, pages, _ = tag_now(app, number, [confirm], "Alice", login, licence="CC-BY-SA-4.0")
    assert status == "done" and pages[confirm].status == "done", pages
    text = wiki.text(confirm)
    assert ticket_tag(number) in text and "{{Cc-by-sa-4.0}}" in text

    status, pages, _ = tag_now(app, number, [pending], "Alice", login, kind="pending")
    assert status == "done" and pages[pending].status == "done", pages
    text = wiki.text(pending)
    today = dt.datetime.now(dt.UTC).date()
    mark = (
        f"{{{{Permission pending|id={number}|day={today.day}|month={today:%B}|year={today.year}}}}}"
    )
    assert mark in text
    assert "No permission since" not in text and "PermissionTicket" not in text
    assert wiki.latest(pending)["user"] == "Alice"


def test_edit_conflict_is_retried_once(app, wiki):
    (title,) = wiki.files("Conflict", [page_text(tag=NO_PERMISSION)])
    other = "Rewritten meanwhile by someone else.\n[[Category:Tagging tests]]\n"
    edits: list[str] = []

    def concurrent_edit(action: Any) -> None:
        edits.append(action.link.title)
        wiki.create(action.link.title, other)

    number = new_ticket(app)
    # MediaWiki 1.39 merges away (loses) a concurrent edit made in the same second
    # as the base revision, baserevid or not: let the clock move on first.
    time.sleep(1.1)
    status, pages, _ = tag_now(
        app, number, [title], "Alice", login_id(app, "Alice"), before_edit=concurrent_edit
    )

    assert edits == [title]
    assert status == "done" and pages[title].status == "done", pages
    revisions = wiki.revisions(title)
    assert [r["user"] for r in revisions[:2]] == ["Alice", wiki_admin(wiki)]
    text = revisions[0]["slots"]["main"]["content"]
    assert "Rewritten meanwhile by someone else." in text and ticket_tag(number) in text
    assert pages[title].base_revision == revisions[1]["revid"]


def wiki_admin(wiki: Wiki) -> str:
    return str(wiki.get(action="query", meta="userinfo")["query"]["userinfo"]["name"])


def test_pages_that_cannot_be_tagged_fail_clearly(app, wiki):
    protected, deleted, target = wiki.files("Unfit", [page_text(), page_text(), page_text()])
    wiki.post(
        action="protect", title=protected, protections="edit=sysop", expiry="1 day", reason="t"
    )
    wiki.post(action="delete", title=deleted, reason="tagging test")
    redirect = f"File:{unique('Redirect')}.png"
    wiki.create(redirect, f"#REDIRECT [[{target}]]\n")
    article = f"User:Alice/{unique('Not a file')}"
    wiki.create(article, page_text())
    missing = f"File:{unique('Never created')}.png"
    titles = [protected, deleted, redirect, article, missing]
    before = {t: [r["revid"] for r in wiki.revisions(t)] for t in titles}

    status, pages, _ = tag_now(app, new_ticket(app), titles, "Alice", login_id(app, "Alice"))

    assert status == "done"
    assert {t: p.status for t, p in pages.items()} == dict.fromkeys(titles, "failed"), pages
    assert "the page is protected" in pages[protected].message
    assert "does not exist" in pages[deleted].message
    assert "does not exist" in pages[missing].message
    assert "redirect" in pages[redirect].message
    assert "not a file description page" in pages[article].message
    assert {t: [r["revid"] for r in wiki.revisions(t)] for t in titles} == before


def test_partially_blocked_volunteer_fails_on_those_pages(app, wiki, oauth_provider):
    # A sitewide block stops the whole batch (tests/integration/test_blocks.py);
    # a block from some pages only is the wiki's to refuse, page by page.
    carol = app.test_client()
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    blocked, free = wiki.files("Blocked", [page_text(tag=NO_PERMISSION)] * 2)
    before = wiki.latest(blocked)["revid"]
    number = new_ticket(app)
    wiki.post(
        action="block",
        user="Carol Example",
        expiry="10 minutes",
        reason="tagging test",
        partial="1",
        pagerestrictions=blocked,
        allowusertalk="1",
    )
    try:
        status, pages, _ = tag_now(
            app, number, [blocked, free], "Carol Example", login_id(app, "Carol Example")
        )
    finally:
        wiki.post(action="unblock", user="Carol Example", reason="tagging test over")
    assert status == "done"
    assert pages[blocked].status == "failed", pages
    assert "blocked" in pages[blocked].message
    assert wiki.latest(blocked)["revid"] == before
    assert pages[free].status == "done", pages


def test_abuse_filter_refusal_names_the_filter(app, wiki, oauth_provider):
    from tickets.access import ALL_RIGHTS, grant, volunteer_named
    from tickets.queues import queue_by_name
    from wikibridge.db import new_session
    from wikibridge_sandbox.seed import PERMISSION_FILTER_DESCRIPTION

    with new_session(app) as db:
        queue = queue_by_name(db, "Permissions")
        assert queue is not None
        grant(db, volunteer_named(db, "Bob"), queue, ALL_RIGHTS, "test")
        db.commit()
    bob = app.test_client()
    assert log_in(bob, oauth_provider, "Bob").status_code == 302
    (title,) = wiki.files("Filtered", [page_text(tag=NO_PERMISSION)])
    before = wiki.latest(title)["revid"]

    status, pages, _ = tag_now(app, new_ticket(app), [title], "Bob", login_id(app, "Bob"))

    assert status == "done"
    assert pages[title].status == "failed", pages
    assert PERMISSION_FILTER_DESCRIPTION in pages[title].message
    assert wiki.latest(title)["revid"] == before


def test_undo_reverts_as_the_volunteer(app, wiki):
    originals = [page_text("First.", NO_PERMISSION), page_text("Second.", NO_PERMISSION)]
    kept, edited = wiki.files("Undo", originals)
    number = new_ticket(app)
    login = login_id(app, "Alice")
    status, pages, batch = tag_now(app, number, [kept, edited], "Alice", login)
    assert status == "done" and {p.status for p in pages.values()} == {"done"}, pages
    wiki.create(edited, wiki.text(edited) + "Later note.\n")
    later = wiki.latest(edited)
    ids = action_ids(app, batch)

    status, undone, _ = tag_now(
        app, number, [], "Alice", login, kind="undo", undo_of=[ids[kept], ids[edited]]
    )

    assert status == "done"
    assert undone[kept].status == "done", undone
    latest = wiki.latest(kept)
    assert latest["user"] == "Alice"
    assert latest["slots"]["main"]["content"].rstrip() == originals[0].rstrip()
    assert undone[edited].status == "failed"
    assert "changed since" in undone[edited].message
    assert str(later["revid"]) in undone[edited].message
    assert wiki.latest(edited)["revid"] == later["revid"]


def test_bot_edits_carry_the_bot_flag_and_the_volunteer(app, wiki, oauth_provider):
    titles = wiki.files("Bot", [page_text(tag=NO_PERMISSION), page_text()])
    number = new_ticket(app)

    status, pages, _ = tag_now(app, number, titles, "Alice", None, as_bot=True)

    assert status == "done" and {p.status for p in pages.values()} == {"done"}, pages
    for title in titles:
        latest = wiki.latest(title)
        assert latest["user"] == oauth_provider.sandbox.bot.username
        assert "requested by Alice" in latest["comment"] and number in latest["comment"]
        assert ticket_tag(number) in latest["slots"]["main"]["content"]
        assert wiki.recent_change(latest["revid"]).get("bot") is True


def revisions_by(wiki: Wiki, title: str, user: str) -> int:
    return sum(r["user"] == user for r in wiki.revisions(title))


def test_revoked_token_pauses_until_the_volunteer_logs_in_again(app, wiki, oauth_provider):
    carol = app.test_client()
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    titles = wiki.files("Revoked", [page_text(tag=NO_PERMISSION)] * 3)
    before = {t: wiki.latest(t)["revid"] for t in titles}
    number = new_ticket(app)
    oauth_provider.revoke("Carol Example")

    status, pages, batch = tag_now(
        app, number, titles, "Carol Example", login_id(app, "Carol Example")
    )

    assert status == "paused"
    assert {p.status for p in pages.values()} == {"needs-login"}, pages
    assert all("log in again" in p.message for p in pages.values())
    assert {t: wiki.latest(t)["revid"] for t in titles} == before
    assert [e["message"] for e in history(app, number, "wiki-paused")] == [pages[titles[0]].message]
    progress = carol.get(f"/tickets/{number}/wiki/progress.json").get_json()
    assert progress["batches"][0]["status"] == "paused" and progress["left"] == 0
    # Logging in again resumes the batch (the in-memory job queue runs it at once).
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    assert batch_row(app, batch)[0] == "done"
    assert {p.status for p in outcomes(app, batch).values()} == {"done"}
    for title in titles:
        assert revisions_by(wiki, title, "Carol Example") == 1
        assert ticket_tag(number) in wiki.text(title)


def test_rate_limited_edits_wait_and_complete(app, wiki, sandbox, monkeypatch):
    from pywikibot.data.api import Request

    titles = wiki.files("Rate", [page_text(tag=NO_PERMISSION)] * 4)
    number = new_ticket(app)
    login = login_id(app, "Alice")
    commons = sandbox.commons
    # Seen by pywikibot's handler of the wiki's "ratelimited" answer (it waits
    # and tries again): proof the limit was hit, where a stopwatch would guess.
    refused: list[str] = []
    handler = Request._ratelimited

    def counting(request: Any) -> None:
        refused.append(request.action)
        handler(request)

    monkeypatch.setattr(Request, "_ratelimited", counting)
    # Only plain users: admins and bots (others' seeding) keep noratelimit.
    commons.rate_limit(2, 3, groups=("user",))
    try:
        with pywikibot_config(retry_max=2):  # short waits, several tries
            status, pages, _ = tag_now(app, number, titles, "Alice", login)
    finally:
        (commons.switches_dir / "ratelimit").unlink(missing_ok=True)
        commons.reset_rate_limit_counters()
    assert status == "done"
    assert {p.status for p in pages.values()} == {"done"}, pages
    assert refused, "four edits at two per three seconds were never refused"
    assert set(refused) == {"edit"}, refused
    for title in titles:
        assert revisions_by(wiki, title, "Alice") == 1


def test_maxlag_waits_then_gives_up_without_losing_pages(app, wiki, sandbox):
    titles = wiki.files("Lag", [page_text(tag=NO_PERMISSION)] * 2)
    number = new_ticket(app)
    login = login_id(app, "Alice")
    commons = sandbox.commons
    lag_switch = commons.switches_dir / "maxlag"
    try:
        # A short lag: the page read (maxlag 30) sees it, the first edit (maxlag 5)
        # is refused once; pywikibot waits and tries again.
        commons.simulate_lag(6, 2)
        with pywikibot_config(retry_max=1):  # wait 1 s, not the Retry-After's 5
            status, pages, _ = tag_now(app, number, titles[:1], "Alice", login)
        # The switch is gone once both lagged answers were given: the edit was
        # refused once and sent again (it is done).
        assert not lag_switch.exists(), "the lagged requests were not sent"
        assert status == "done" and pages[titles[0]].status == "done", pages

        # A long lag, and no retries left: the batch goes back to the queue.
        commons.simulate_lag(6, 100)
        batch = new_batch(app, number, titles[1:], "confirm", "Alice", login)
        with pywikibot_config(max_retries=0), pytest.raises(WikiUnavailable):
            run_batch(app, batch)
        status, message = batch_row(app, batch)
        assert status == "queued" and "did not answer" in message
        assert {p.status for p in outcomes(app, batch).values()} <= {"queued", "running"}
        assert "PermissionTicket" not in wiki.text(titles[1])
    finally:
        lag_switch.unlink(missing_ok=True)
    # The periodic sweep hands a batch that waited long enough back to a worker
    # (the in-memory job queue runs it at once).
    with new_session(app) as db:
        db.execute(
            update(WikiBatch).where(WikiBatch.id == batch).values(changed_at=utcnow() - LEASE)
        )
        db.commit()
    with app.app_context():
        jobs_of(app).wiki_sweep()
    assert batch_row(app, batch)[0] == "done"
    assert {p.status for p in outcomes(app, batch).values()} == {"done"}
    for title in titles:
        assert revisions_by(wiki, title, "Alice") == 1


def test_unreachable_wiki_requeues_the_batch(app, wiki, sandbox):
    from wikibridge_sandbox.family import write_family_file

    family = f"gone{secrets.token_hex(3)}"
    path = write_family_file(
        Path(app.instance_path) / f"{family}_family.py",
        family,
        {"commons": ("127.0.0.1:9", "/commons")},
    )
    app.config["PYWIKIBOT_FAMILY_FILES"] = {
        **app.config["PYWIKIBOT_FAMILY_FILES"],
        family: str(path),
    }
    app.config["WIKIS"] = {
        **app.config["WIKIS"],
        "commons": {
            **app.config["WIKIS"]["commons"],
            "family": family,
            "api_url": "http://127.0.0.1:9/commons/api.php",
        },
    }
    (title,) = wiki.files("Unreachable", [page_text(tag=NO_PERMISSION)])
    batch = new_batch(app, new_ticket(app), [title], "confirm", "Alice", login_id(app, "Alice"))
    with pywikibot_config(max_retries=0, retry_wait=0), pytest.raises(WikiUnavailable):
        run_batch(app, batch)
    status, message = batch_row(app, batch)
    assert status == "queued" and "did not answer" in message
    assert outcomes(app, batch)[title].status in ("queued", "running")


def test_settings_that_disagree_with_the_family_stop_the_batch(app, wiki, monkeypatch):
    # A worker has nobody to answer a password prompt: end it at once instead of
    # waiting on the developer's terminal.
    def no_terminal(prompt: str = "") -> str:
        raise EOFError("nobody can answer a password prompt")

    monkeypatch.setattr("getpass.getpass", no_terminal)
    app.config["WIKIS"] = {
        **app.config["WIKIS"],
        "commons": {
            **app.config["WIKIS"]["commons"],
            "api_url": "http://127.0.0.1:9/commons/api.php",
        },
    }
    (title,) = wiki.files("Moved wiki", [page_text(tag=NO_PERMISSION)])
    batch = new_batch(app, new_ticket(app), [title], "confirm", "Alice", login_id(app, "Alice"))
    try:
        with pywikibot_config(max_retries=0, retry_wait=0):
            assert run_batch(app, batch) == "stopped"
    finally:
        assert wiki.latest(title)["user"] != "Alice"
    status, message = batch_row(app, batch)
    assert status == "stopped" and "make them agree" in message
    assert outcomes(app, batch)[title].status == "queued"  # kept for a resume


def test_refused_bot_login_is_reported(app, wiki):
    # Another name than the real bot: its login cookie (pywikibot keeps one) cannot help.
    app.config["BOT_USERNAME"] = "NoSuchBot@wikibridge"
    app.config["BOT_PASSWORD"] = "not-a-bot-password"
    (title,) = wiki.files("Bot refused", [page_text(tag=NO_PERMISSION)])
    before = wiki.latest(title)["revid"]
    batch = new_batch(app, new_ticket(app), [title], "confirm", "Alice", None, as_bot=True)

    result = run_batch(app, batch)

    status, message = batch_row(app, batch)
    assert result == status == "stopped"
    assert "bot" in message and "login" in message
    assert outcomes(app, batch)[title].status != "running"
    assert wiki.latest(title)["revid"] == before


def test_link_pages_stores_their_state_and_bulk_links(app, wiki):
    from wikibridge_sandbox.seed import MUSEUM_CATEGORY, MUSEUM_FILES, UPLOADER

    waiting, cited = wiki.files(
        "State", [page_text(tag=NO_PERMISSION), page_text(tag=ticket_tag("2026010110000042"))]
    )
    client = alice(app)
    number = new_ticket(app)
    response = client.post(
        f"/tickets/{number}/links",
        data={"csrf_token": csrf(client), "page": f"{waiting}\n{cited}"},
    )
    assert response.status_code == 302
    states = link_states(app, number)
    assert states[waiting]["exists"] is True and states[waiting]["no_permission"]
    assert states[waiting]["tickets"] == []
    assert states[cited]["tickets"] == ["2026010110000042"]
    assert not states[cited]["no_permission"]

    museum = {sample.title for sample in MUSEUM_FILES}
    for source, name in (("category", MUSEUM_CATEGORY), ("uploads", UPLOADER)):
        bulk = new_ticket(app)
        response = client.post(
            f"/tickets/{bulk}/links/bulk",
            data={"csrf_token": csrf(client), "source": source, "name": name},
        )
        assert response.status_code == 302
        states = link_states(app, bulk)
        assert museum <= set(states), (source, sorted(states))
        assert all(states[title]["exists"] for title in museum)


def link_states(app: Flask, number: str) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from tickets.models import PageLink, Ticket
    from wikibridge.db import new_session

    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        links = db.scalars(select(PageLink).where(PageLink.ticket_id == ticket.id)).all()
        assert all(link.checked_at is not None for link in links)
        return {link.title: dict(link.state or {}) for link in links}


def test_preview_then_save_through_the_web(app, wiki):
    (title,) = wiki.files("Web", [page_text(tag=NO_PERMISSION)])
    before = wiki.latest(title)["revid"]
    client = alice(app)
    number = new_ticket(app)
    (link_id,) = link(app, number, [title])
    form = {"csrf_token": csrf(client), "link": str(link_id), "kind": "confirm"}

    preview = client.post(f"/tickets/{number}/wiki/preview", data=form)

    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert f"+{{{{PermissionTicket|id={number}}}}}" in html
    assert "-{{No permission since|day=1|month=November|year=2026}}" in html
    assert wiki.latest(title)["revid"] == before

    saved = client.post(f"/tickets/{number}/wiki/batches", data=form)

    assert saved.status_code == 302
    latest = wiki.latest(title)
    assert latest["user"] == "Alice" and ticket_tag(number) in latest["slots"]["main"]["content"]
    progress = client.get(f"/tickets/{number}/wiki/progress.json").get_json()
    (batch,) = progress["batches"]
    assert batch["status"] == "done" and batch["done"] == 1 and progress["left"] == 0
    assert batch["pages"][0]["revision"] == latest["revid"]

    undo = client.post(
        f"/tickets/{number}/wiki/batches/{batch['id']}/undo", data={"csrf_token": csrf(client)}
    )

    assert undo.status_code == 302
    reverted = wiki.latest(title)
    text = reverted["slots"]["main"]["content"]
    assert reverted["user"] == "Alice" and "No permission since" in text
    assert "PermissionTicket" not in text


def test_command_line_tags_as_the_bot(app, wiki, oauth_provider):
    from wikibridge.wiki.cli import wiki_cli

    titles = wiki.files("Cli", [page_text(tag=NO_PERMISSION), page_text()])
    runner = app.test_cli_runner()
    number = new_ticket(app)

    result = runner.invoke(wiki_cli, ["tag", number, *titles])

    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert sorted(line[:2] for line in lines) == sorted([t, "done"] for t in titles)
    for title in titles:
        latest = wiki.latest(title)
        assert latest["user"] == oauth_provider.sandbox.bot.username
        assert ticket_tag(number) in latest["slots"]["main"]["content"]

    (fresh,) = wiki.files("Cli dry", [page_text(tag=NO_PERMISSION)])
    before = wiki.latest(fresh)["revid"]
    dry = runner.invoke(wiki_cli, ["tag", number, fresh, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith(f"{fresh}\tedit\t")
    assert f"  + {{{{PermissionTicket|id={number}}}}}" in dry.stdout
    assert "  - {{No permission since" in dry.stdout
    assert wiki.latest(fresh)["revid"] == before
    assert link_states_or_none(app, number, fresh) is None

    (mine,) = wiki.files("Cli user", [page_text(tag=NO_PERMISSION)])
    as_alice = runner.invoke(wiki_cli, ["tag", number, mine, "--user", "Alice"])
    assert as_alice.exit_code == 0, as_alice.output
    assert as_alice.stdout.startswith(f"{mine}\tdone\t")
    assert wiki.latest(mine)["user"] == "Alice"

    missing = f"File:{unique('Cli missing')}.png"
    failing = runner.invoke(wiki_cli, ["tag", number, fresh, missing])
    assert failing.exit_code == 1, failing.output
    rows = {line.split("\t")[0]: line.split("\t") for line in failing.stdout.splitlines()}
    assert rows[fresh][1] == "done"
    assert rows[missing][1] == "failed" and "does not exist" in rows[missing][2]


def test_command_line_dry_run_checks_the_ticket(app, wiki):
    from wikibridge.wiki.cli import wiki_cli

    (title,) = wiki.files("Cli no ticket", [page_text(tag=NO_PERMISSION)])
    runner = app.test_cli_runner()
    real = runner.invoke(wiki_cli, ["tag", "2099010110999999", title])
    assert real.exit_code != 0 and "no ticket" in real.output

    dry = runner.invoke(wiki_cli, ["tag", "2099010110999999", title, "--dry-run"])

    assert dry.exit_code != 0 and "no ticket" in dry.output


def link_states_or_none(app: Flask, number: str, title: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from tickets.models import PageLink, Ticket
    from wikibridge.db import new_session

    with new_session(app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        found = db.scalars(
            select(PageLink).where(PageLink.ticket_id == ticket.id, PageLink.title == title)
        ).first()
        return None if found is None else dict(found.state or {})


def test_undo_updates_the_page_state(app, wiki):
    (title,) = wiki.files("Undo state", [page_text(tag=NO_PERMISSION)])
    number = new_ticket(app)
    login = login_id(app, "Alice")
    status, _pages, batch = tag_now(app, number, [title], "Alice", login)
    assert status == "done"
    assert link_states(app, number)[title]["tickets"] == [number]

    status, undone, _ = tag_now(
        app, number, [], "Alice", login, kind="undo", undo_of=[action_ids(app, batch)[title]]
    )

    assert status == "done" and undone[title].status == "done", undone
    assert "PermissionTicket" not in wiki.text(title)
    state = link_states(app, number)[title]
    assert state["revision"] == wiki.latest(title)["revid"]
    assert state["tickets"] == [] and state["no_permission"]


def test_oauth2_volunteer_tags_under_their_name(tmp_path, database_url, oauth_provider, wiki):
    app = desk(tmp_path, database_url, oauth_provider, "2")
    client = app.test_client()
    assert log_in(client, oauth_provider, "Alice").status_code == 302
    (title,) = wiki.files("OAuth2", [page_text(tag=NO_PERMISSION)])
    number = new_ticket(app)

    status, pages, _ = tag_now(app, number, [title], "Alice", login_id(app, "Alice"))

    assert status == "done" and pages[title].status == "done", pages
    latest = wiki.latest(title)
    assert latest["user"] == "Alice" and ticket_tag(number) in latest["slots"]["main"]["content"]
    app.extensions["db_engine"].dispose()


def test_killed_worker_leaves_nothing_undone_or_done_twice(
    tmp_path, database_url, oauth_provider, wiki
):
    """kill -9 the worker mid-batch; once its lease runs out, a resume finishes the rest."""
    from sqlalchemy import update

    from tests.conftest import make_test_app
    from tests.live import live_desk
    from tickets.models import PageAction, WikiBatch, utcnow
    from wikibridge.db import new_session
    from wikibridge.wiki.plans import summary
    from wikibridge_sandbox.appconfig import app_settings
    from wikibridge_sandbox.seed import AdminSession

    titles = wiki.files("Crash", [page_text(tag=NO_PERMISSION)] * 6)
    before = {t: wiki.latest(t)["revid"] for t in titles}
    key = "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA="  # make_test_app's
    env = {"WIKIBRIDGE_TOKEN_ENCRYPTION_KEY": key, "WIKIBRIDGE_WIKI_PUT_THROTTLE": "0.5"}
    with live_desk(tmp_path / "live", database_url, oauth_provider, extra_env=env) as live:
        # The web side runs here, on the same database and job queue as the worker.
        settings = app_settings(
            oauth_provider.sandbox, oauth_provider.url, oauth_provider.consumers
        )
        app = make_test_app(
            tmp_path,
            database_url,
            SERVER_NAME="127.0.0.1:5999",
            JOBS_URL=live.env["WIKIBRIDGE_JOBS_URL"],
            JOBS_NAME=live.env["WIKIBRIDGE_JOBS_NAME"],
            WORKER_IN_PROCESS=False,
            **settings,
        )
        client = app.test_client()
        assert log_in(client, oauth_provider, "Alice").status_code == 302
        number = new_ticket(app)
        links = link(app, number, titles)
        response = client.post(
            f"/tickets/{number}/wiki/batches",
            data={"csrf_token": csrf(client), "link": [str(i) for i in links], "kind": "confirm"},
        )
        assert response.status_code == 302
        with new_session(app) as db:
            batch = db.scalars(select(WikiBatch)).one().id
        worker = live.processes[1]
        deadline = time.monotonic() + 30
        while not any(p.status == "done" for p in outcomes(app, batch).values()):
            assert time.monotonic() < deadline, (tmp_path / "live" / "worker.log").read_text()
            time.sleep(0.05)
        worker.kill()
        worker.wait(10)
        left = [p for p in outcomes(app, batch).values() if p.status not in ("done",)]
        assert left, "the worker finished before it was killed"
        assert batch_row(app, batch)[0] == "running"
        # Its lease holds for a while: nobody else may take the batch meanwhile.
        assert run_batch(app, batch) == "busy"
        # The worst moment to die: a page saved on the wiki, its outcome not yet recorded.
        saved_unrecorded = left[-1].title
        with new_session(app) as db:
            db.execute(
                update(PageAction)
                .where(PageAction.id == action_ids(app, batch)[saved_unrecorded])
                .values(status="running")
            )
            db.commit()
        with AdminSession(oauth_provider.sandbox.commons.api_url) as as_alice:
            as_alice.login("Alice", password_of(oauth_provider, "Alice"))
            as_alice.edit(
                saved_unrecorded,
                wiki.text(saved_unrecorded).replace(NO_PERMISSION, ticket_tag(number)),
                summary("confirm", number, "Alice", False),
            )
        with new_session(app) as db:
            db.execute(
                update(WikiBatch).where(WikiBatch.id == batch).values(lease_until=utcnow() - LEASE)
            )
            db.commit()
        live.env["WIKIBRIDGE_WIKI_PUT_THROTTLE"] = "0"
        resumed = live.command("wiki", "resume", str(batch))
        assert resumed.returncode == 0, resumed.stderr.decode()
    assert batch_row(app, batch)[0] == "done"
    pages = outcomes(app, batch)
    assert {p.status for p in pages.values()} == {"done"}
    assert "recovered" in pages[saved_unrecorded].message
    assert f"{saved_unrecorded}\tdone\t" in resumed.stdout.decode()
    for title in titles:
        revisions = wiki.revisions(title)
        newer = [r for r in revisions if r["revid"] > before[title]]
        assert [r["user"] for r in newer] == ["Alice"], (title, newer)
        assert ticket_tag(number) in newer[0]["slots"]["main"]["content"]
    app.extensions["db_engine"].dispose()


def test_an_edit_the_wiki_saved_before_its_retry_is_done_not_skipped(app, wiki, oauth_provider):
    """A wiki that times out: pywikibot sends the edit again, the wiki had saved the first.

    The retry finds nothing to change ("nochange"); the page is tagged by our
    edit, so it is "done" with that revision, not "skipped" (found by
    ``bench/faults.py``, the sandbox Commons frozen for 50 s mid-batch).
    """
    from wikibridge.wiki.plans import summary, template_names
    from wikibridge.wiki.wikitext import confirm_permission
    from wikibridge_sandbox.seed import AdminSession

    (title,) = wiki.files("Saved before retry", [page_text(tag=NO_PERMISSION)])
    before = wiki.latest(title)["revid"]
    number = new_ticket(app)

    def first_try_saved_late(action: Any) -> None:
        # What the timed-out first request did on the wiki: the batch's own edit.
        text = confirm_permission(wiki.text(title), number, template_names(app.config)).text
        with AdminSession(oauth_provider.sandbox.commons.api_url) as as_alice:
            as_alice.login("Alice", password_of(oauth_provider, "Alice"))
            as_alice.edit(title, text, summary("confirm", number, "Alice", False))

    status, pages, _ = tag_now(
        app, number, [title], "Alice", login_id(app, "Alice"), before_edit=first_try_saved_late
    )

    assert status == "done"
    newer = [r for r in wiki.revisions(title) if r["revid"] > before]
    assert [r["user"] for r in newer] == ["Alice"], newer
    assert pages[title].status == "done", pages
    assert pages[title].revision == newer[0]["revid"]
    assert [e["status"] for e in history(app, number, "wiki-confirm")] == ["done"]
    state = link_states(app, number)[title]
    assert state["tickets"] == [number] and state["revision"] == newer[0]["revid"]


def test_more_than_fifty_pages_are_read_fifty_at_a_time(app, wiki):
    first, last = wiki.files("Chunk", [page_text(tag=NO_PERMISSION)] * 2)
    missing = [f"File:{unique('Chunk missing')}.png" for _ in range(53)]
    # The second page is linked as typed by hand: the wiki answers under its own spelling.
    typed = "File:" + last.removeprefix("File:").replace(" ", "_")
    titles = [first, *missing, typed]
    number = new_ticket(app)

    with counting_requests() as sent:
        status, pages, _ = tag_now(app, number, titles, "Alice", login_id(app, "Alice"))

    assert status == "done"
    assert pages[first].status == "done" and pages[typed].status == "done", pages
    assert all(pages[t].status == "failed" for t in missing)
    assert sum("prop=revisions" in r for r in sent) == 2, "\n".join(sent)
    assert sum("action=edit" in r for r in sent) == 2
    for title in (first, last):
        assert wiki.latest(title)["user"] == "Alice" and ticket_tag(number) in wiki.text(title)


def test_page_deleted_while_the_batch_runs(app, wiki):
    (title,) = wiki.files("Vanishing", [page_text(tag=NO_PERMISSION)])

    def delete(action: Any) -> None:
        wiki.post(action="delete", title=action.link.title, reason="deleted meanwhile")

    status, pages, _ = tag_now(
        app, new_ticket(app), [title], "Alice", login_id(app, "Alice"), before_edit=delete
    )

    assert status == "done"
    assert pages[title].status == "failed" and "does not exist" in pages[title].message, pages
    assert wiki.revisions(title) == []


def test_token_revoked_mid_batch_keeps_what_was_done(app, wiki, oauth_provider):
    carol = app.test_client()
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    titles = wiki.files("Revoked midway", [page_text(tag=NO_PERMISSION)] * 3)
    number = new_ticket(app)
    seen: list[str] = []

    def revoke_at_the_second(action: Any) -> None:
        seen.append(action.link.title)
        if len(seen) == 2:
            oauth_provider.revoke("Carol Example")

    status, pages, batch = tag_now(
        app,
        number,
        titles,
        "Carol Example",
        login_id(app, "Carol Example"),
        before_edit=revoke_at_the_second,
    )

    assert status == "paused"
    assert [pages[t].status for t in titles] == ["done", "needs-login", "needs-login"], pages
    assert revisions_by(wiki, titles[0], "Carol Example") == 1
    assert all(revisions_by(wiki, t, "Carol Example") == 0 for t in titles[1:])
    assert log_in(carol, oauth_provider, "Carol Example").status_code == 302
    assert {p.status for p in outcomes(app, batch).values()} == {"done"}
    for title in titles:
        assert revisions_by(wiki, title, "Carol Example") == 1
