"""Demo data: tickets for trying the desk out, and no access unless asked for."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select

from tests.test_cli import run, settings
from tickets.access import QueueGrant
from tickets.models import Ticket
from tickets.training import HeldGrant, PracticeTicket, TrainingSample


def _count(database_url: str, model: type) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return int(count or 0)


def test_demo_load_grants_nobody_anything(tmp_path, database_url):
    env = settings(tmp_path, database_url)
    assert run(["db", "upgrade"], env).returncode == 0
    result = run(["demo", "load"], env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 4
    assert _count(database_url, Ticket) == 4
    assert _count(database_url, QueueGrant) == 0
    assert _count(database_url, PracticeTicket) == 0
    assert _count(database_url, TrainingSample) == 3  # samples, but nobody in training
    assert b"granted nobody any access" in result.stderr


def test_demo_grants_the_sample_volunteers_only_when_asked_and_says_so(tmp_path, database_url):
    env = settings(tmp_path, database_url)
    run(["db", "upgrade"], env)
    result = run(["demo", "load", "--grant-sample-volunteers"], env)
    assert result.returncode == 0, result.stderr
    said = result.stderr.decode()
    assert "granted Carol Example: " in said and " on Permissions" in said
    assert "granted Bob: " in said and " on Info" in said
    # Bob is the demo trainee: Training and three practice tickets, Permissions held.
    assert "granted Bob: training, practice tickets " in said
    assert "granted Bob: Permissions open after 2 reviewed training answers" in said
    assert _count(database_url, QueueGrant) == 4
    assert _count(database_url, PracticeTicket) == 3 and _count(database_url, HeldGrant) == 1
    again = run(["demo", "load", "--grant-sample-volunteers"], env)
    assert "granted nothing" in again.stderr.decode()
    assert _count(database_url, QueueGrant) == 4 and _count(database_url, Ticket) == 4 + 3
    assert _count(database_url, TrainingSample) == 3


def test_demo_load_adds_sample_applications_once(tmp_path, database_url):
    from tickets.applications import Application

    env = settings(tmp_path, database_url)
    run(["db", "upgrade"], env)
    assert run(["demo", "load"], env).returncode == 0
    assert run(["demo", "load"], env).returncode == 0
    assert _count(database_url, Application) == 2
    assert _count(database_url, QueueGrant) == 0
