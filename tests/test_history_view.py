"""The zoom's history in sentences, in the reader's language."""

from __future__ import annotations

import re

from flask import Flask

from tickets.models import History
from wikibridge.web.history import describe

from .helpers import log_in, new_ticket

FORM = {"csrf_token": "test-csrf"}


def history_lines(html: str) -> list[str]:
    section = html.split('<section class="history">', 1)[1].split("</section>", 1)[0]
    items = section.split("<li>")[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip() for li in items]


def test_what_happened_reads_as_sentences(client, app: Flask):
    log_in(app, client)
    number = new_ticket(app)
    other = new_ticket(app, subject="Another one")
    client.post(f"/tickets/{number}/take", data=FORM)
    client.post(f"/tickets/{number}/priority", data={**FORM, "priority": "4"})
    client.post(f"/tickets/{number}/state", data={**FORM, "state": "open"})
    client.post(f"/tickets/{number}/move", data={**FORM, "queue": "Info"})
    client.post(f"/tickets/{number}/note", data={**FORM, "body": "Checked."})
    client.post(f"/tickets/{number}/link", data={**FORM, "other": other})
    lines = history_lines(client.get(f"/tickets/{number}").get_data(as_text=True))
    said = " | ".join(lines)
    assert "system: created in Permissions" in said
    assert "system: mail received" in said
    assert "Alice: took the ticket (locked)" in said
    assert "Alice: priority 3 normal → 4 high" in said
    assert "Alice: state new → open" in said
    assert "Alice: moved from Permissions to Info" in said
    assert "Alice: added an internal note" in said
    assert f"Alice: linked with ticket {other}" in said

    german = client.get(f"/tickets/{number}?lang=de").get_data(as_text=True)
    assert "Alice: Status neu → offen" in " | ".join(history_lines(german))


def test_unknown_kinds_and_missing_facts_show_the_kind(app: Flask):
    with app.test_request_context():
        assert describe(History(kind="something new", actor="x", detail={})) == "something new"
        assert describe(History(kind="moved", actor="x", detail={})) == "moved"
        assert describe(History(kind="priority", actor="x", detail={"old": "?", "new": 2})) == (
            "priority"
        )


def test_wiki_entries_say_how_many_pages(app: Flask):
    with app.test_request_context():
        one = History(kind="wiki-requested", actor="x", detail={"pages": 1})
        many = History(kind="wiki-requested", actor="x", detail={"pages": 5})
        assert describe(one) == "asked for a wiki edit"
        assert describe(many) == "asked for wiki edits on 5 pages"
