"""``wikibridge volunteers`` writes the access log like the web pages; ``wikibridge recruiting``.

Write jobs are queued, not run; the one write ``recruiting publish`` makes at
once stops here, the test wiki being none pywikibot can edit (the sandbox
run is in tests/integration/test_wiki_writes.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from tickets.access import grant, grants_of, parse_rights, volunteer_named
from tickets.access_changes import AccessChange
from tickets.models import utcnow
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings, save_settings
from tickets.wiki_writes import WikiWrite
from wikibridge.cli import cli
from wikibridge.db import new_session

from .conftest import make_test_app

BOT = {"BOT_USERNAME": "DeskBot@desk", "BOT_PASSWORD": "secret"}


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued, not run."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


@pytest.fixture
def bot_app(tmp_path, database_url) -> Flask:
    """The same, with a bot account configured."""
    return make_test_app(
        tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3", **BOT
    )


def audit(app: Flask) -> list[tuple[str, str, str, dict]]:
    with new_session(app) as db:
        return [
            (c.actor, c.username, c.kind, c.detail)
            for c in db.scalars(select(AccessChange).order_by(AccessChange.id))
        ]


def make(app: Flask, name: str, role: str, grants: dict[str, str] | None = None) -> None:
    with new_session(app) as db:
        volunteer = volunteer_named(db, name)
        volunteer.role = role
        for queue, rights in (grants or {}).items():
            found = queue_by_name(db, queue)
            assert found is not None
            grant(db, volunteer, found, parse_rights(rights), "test")
        db.commit()


def writes(app: Flask) -> list[WikiWrite]:
    with new_session(app) as db:
        found = list(db.scalars(select(WikiWrite).order_by(WikiWrite.id)))
        db.expunge_all()
        return found


# volunteers ---------------------------------------------------------------------------


def test_grant_to_an_applicant_makes_a_volunteer_and_is_audited(app: Flask):
    make(app, "Apu", "applicant")
    result = app.test_cli_runner().invoke(
        cli, ["volunteers", "grant", "Apu", "Info", "read,note", "--by", "Ada"]
    )
    assert result.exit_code == 0, result.output
    with new_session(app) as db:
        apu = volunteer_named(db, "Apu")
        assert apu.role == "volunteer"
        assert [g.queue.name for g in grants_of(db, apu)] == ["Info"]
    assert audit(app) == [
        ("Ada", "Apu", "grant", {"queue": "Info", "rights": ["note", "read"]}),
        ("Ada", "Apu", "role", {"old": "applicant", "new": "volunteer"}),
    ]


def test_grant_to_a_volunteer_keeps_the_role(app: Flask):
    make(app, "Rita", "volunteer", {"Permissions": "read"})
    result = app.test_cli_runner().invoke(cli, ["volunteers", "grant", "Rita", "Info"])
    assert result.exit_code == 0, result.output
    assert [(a, k) for a, _, k, _ in audit(app)] == [("cli", "grant")]


def test_role_is_audited(app: Flask):
    make(app, "Rita", "volunteer", {"Info": "read"})
    result = app.test_cli_runner().invoke(cli, ["volunteers", "role", "Rita", "admin"])
    assert result.exit_code == 0, result.output
    assert audit(app) == [("cli", "Rita", "role", {"old": "volunteer", "new": "admin"})]


def test_revoke_is_audited_and_without_a_bot_says_the_meta_list_waits(app: Flask):
    make(app, "Rita", "volunteer", {"Info": "read", "Permissions": "read"})
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["volunteers", "revoke", "Rita", "Info"])
    assert first.exit_code == 0, first.output
    assert "no bot" not in first.output
    last = runner.invoke(cli, ["volunteers", "revoke", "Rita", "Permissions"])
    assert last.exit_code == 0, last.output
    assert "take their line off the volunteer list on Meta by hand" in last.stderr
    assert [(k, d) for _, _, k, d in audit(app)] == [
        ("revoke", {"queue": "Info"}),
        ("revoke", {"queue": "Permissions"}),
    ]
    assert writes(app) == []
    # Nothing left to revoke: nothing audited.
    assert runner.invoke(cli, ["volunteers", "revoke", "Rita", "Info"]).exit_code == 0
    assert len(audit(app)) == 2


def test_revoke_of_the_last_queue_takes_the_line_off_meta_as_the_bot(bot_app: Flask):
    make(bot_app, "Rita", "volunteer", {"Info": "read"})
    result = bot_app.test_cli_runner().invoke(cli, ["volunteers", "revoke", "Rita", "Info"])
    assert result.exit_code == 0, result.output
    (removal,) = writes(bot_app)
    assert (removal.op, removal.title, removal.text) == (
        "remove-line",
        "VRT/Volunteers",
        "* [[User:Rita|Rita]] — Info",
    )
    assert removal.as_bot and removal.requested_by == "cli"
    assert f"write {removal.id} queued" in result.output


# recruiting publish ----------------------------------------------------------------------


def test_publish_refuses_without_a_bot(app: Flask):
    result = app.test_cli_runner().invoke(cli, ["recruiting", "publish"])
    assert result.exit_code == 1
    assert "no bot is configured" in result.output
    assert "cannot edit as an administrator" in result.output
    assert writes(app) == []


def test_publish_requests_the_page_from_the_settings_in_force(bot_app: Flask):
    runner = bot_app.test_cli_runner()
    # A new installation: the defaults.
    result = runner.invoke(cli, ["recruiting", "publish"])
    # The test wiki is not one pywikibot can edit: the write stops, and says why.
    assert result.exit_code == 1, result.output
    (first,) = writes(bot_app)
    assert result.output.startswith(f"{first.id}\tstopped\t")
    assert "an admin must fix the settings" in result.output
    assert (first.op, first.title, first.purpose) == (
        "replace-page",
        "VRT/Volunteer with us",
        "settings:defaults",
    )
    assert first.as_bot and first.login_session_id is None
    assert "http://wikibridge.test/volunteer" in first.text
    with new_session(bot_app) as db:
        version = save_settings(
            db, RecruitingSettings(public_page="VRT/Join us", how_to_apply="Write to us."), "Ada"
        )
        db.commit()
        version_id = version.id
    bot_app.config["DESK_URL"] = "https://desk.example.org"
    assert runner.invoke(cli, ["recruiting", "publish"]).exit_code == 1
    second = writes(bot_app)[-1]
    assert (second.title, second.purpose) == ("VRT/Join us", f"settings:{version_id}")
    assert "Write to us." in second.text
    assert "https://desk.example.org/volunteer" in second.text


# recruiting inactive ---------------------------------------------------------------------


def test_inactive_prints_tab_separated_lines(app: Flask):
    now = utcnow()
    make(app, "Gone Away", "volunteer", {"Info": "read", "Permissions": "read"})
    make(app, "Half Away", "admin")
    make(app, "Busy Bee", "volunteer", {"Info": "read"})
    make(app, "Apu", "applicant")
    with new_session(app) as db:
        volunteer_named(db, "Gone Away").last_login_at = now - dt.timedelta(days=200)
        volunteer_named(db, "Half Away").last_login_at = now - dt.timedelta(days=40)
        volunteer_named(db, "Busy Bee").last_login_at = now
        db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["recruiting", "inactive"])
    assert result.exit_code == 0, result.output
    gone = (now - dt.timedelta(days=200)).strftime("%Y-%m-%d")
    # The default setting: 90 days.
    assert result.output.splitlines() == [f"Gone Away\tvolunteer\t{gone}\tInfo,Permissions"]
    shorter = runner.invoke(cli, ["recruiting", "inactive", "--days", "30"])
    half = (now - dt.timedelta(days=40)).strftime("%Y-%m-%d")
    assert shorter.output.splitlines() == [
        f"Gone Away\tvolunteer\t{gone}\tInfo,Permissions",
        f"Half Away\tadmin\t{half}\t-",
    ]
    assert runner.invoke(cli, ["recruiting", "inactive", "--days", "-1"]).exit_code == 2
