"""A real sandbox login of someone new: an applicant, with the wiki's facts to check."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.integration.test_login import desk, log_in
from tickets.models import Volunteer
from wikibridge.db import new_session
from wikibridge.sessions import LoginSession
from wikibridge.wiki.user_record import read_user_record

pytestmark = pytest.mark.integration


def test_fresh_account_logs_in_as_applicant_with_its_facts(tmp_path, database_url, oauth_provider):
    app = desk(tmp_path, database_url, oauth_provider)
    client = app.test_client()
    response = log_in(client, oauth_provider, "Bob")
    assert response.status_code == 302
    assert response.headers["Location"] == "/apply"
    with new_session(app) as db:
        bob = db.scalars(select(Volunteer).where(Volunteer.username == "Bob")).one()
        assert bob.role == "applicant"
        row = db.scalars(
            select(LoginSession).where(
                LoginSession.volunteer_id == bob.id, LoginSession.ended_at.is_(None)
            )
        ).one()
        facts = row.identity_facts
    # The identify statement, as the sandbox's provider made it from the wiki.
    assert facts is not None
    assert facts["username"] == "Bob"
    assert isinstance(facts["editcount"], int)
    assert facts["registered"]
    assert facts["blocked"] is False
    assert "user" in facts["groups"]
    # The desk itself stays shut; the form reads the wiki and lists what is unmet
    # (Bob is a sample account with few edits).
    assert client.get("/queues").status_code == 403
    page = client.get("/apply").get_data(as_text=True)
    assert "edits" in page and "more to go" in page


def test_user_record_read_from_the_sandbox_wiki(oauth_provider):
    meta = oauth_provider.sandbox.wikis["meta"]
    mallory = read_user_record(meta.api_url, "Mallory")
    assert mallory.exists and mallory.blocked
    assert any(event.action == "block" for event in mallory.blocks)
    bob = read_user_record(meta.api_url, "Bob")
    assert bob.exists and not bob.blocked and bob.registered is not None
    assert not read_user_record(meta.api_url, "Nobody Of That Name").exists
