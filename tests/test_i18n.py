"""The interface in English and German: how the language is chosen, and the catalog."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tickets.access import volunteer_named
from wikibridge import CHECKOUT, i18n
from wikibridge.db import new_session

from .helpers import log_in, new_ticket

CATALOG_DIR = i18n.TRANSLATIONS / "de" / "LC_MESSAGES"
#: The templates whose strings are marked; their German must be complete.
MARKED_TEMPLATES = [
    "base.html",
    "login.html",
    "queue.html",
    "zoom.html",
    "_wiki_pages.html",
    "wiki_preview.html",
    "error.html",
    "search.html",
    "news_list.html",
    "answer.html",
    "note.html",
    "admin_volunteers.html",
    "admin_queues.html",
    "admin_templates.html",
    "admin_news.html",
    "admin_training.html",
    "_admin.html",
    "_wiki_writes.html",
    "admin_wiki_writes.html",
    "applicant_refused.html",
    "volunteer.html",
    "apply.html",
    "apply_status.html",
    "admin_applications.html",
    "admin_application.html",
    "admin_recruiting.html",
    "admin_inactivity.html",
    "admin_access_log.html",
]
#: The modules whose flash and error messages are marked.
WEB_MODULES = sorted((Path(CHECKOUT) / "wikibridge" / "web").glob("*.py"))
CSRF = "test-csrf"


@pytest.fixture
def i18n_client(app: Flask) -> FlaskClient:
    """A client of the app with the translations installed (once ``create_app`` does it)."""
    if "babel" not in app.extensions:
        i18n.init_app(app)
    return app.test_client()


def _lang_cookie(response) -> str | None:
    """The value of the ``lang`` cookie the response sets, if any."""
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "lang":
            return rest.split(";", 1)[0]
    return None


def test_english_by_default(i18n_client):
    response = i18n_client.get("/login")
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in with your wiki account" in page
    assert "Accept-Language" in response.headers["Vary"]
    assert _lang_cookie(response) is None


def test_german_by_query_parameter_is_remembered(i18n_client):
    response = i18n_client.get("/login?lang=de")
    page = response.get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden mit deinem Wikikonto" in page
    assert "Log in with your wiki account" not in page
    assert _lang_cookie(response) == "de"
    # The cookie keeps the choice on the next page, without the parameter.
    assert "Anmelden mit deinem Wikikonto" in i18n_client.get("/login").get_data(as_text=True)
    # And a new choice replaces it.
    response = i18n_client.get("/login?lang=en")
    assert "Log in with your wiki account" in response.get_data(as_text=True)
    assert _lang_cookie(response) == "en"


def test_unknown_language_is_ignored(i18n_client):
    response = i18n_client.get("/login?lang=xx")
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert _lang_cookie(response) is None


def test_german_by_accept_language(i18n_client):
    headers = {"Accept-Language": "de-DE,de;q=0.9"}
    page = i18n_client.get("/login", headers=headers).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden mit deinem Wikikonto" in page
    assert "Melde dich mit deinem Wikikonto an." in page
    headers = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    page = i18n_client.get("/login", headers=headers).get_data(as_text=True)
    assert "Log in with your wiki account" in page


def test_volunteer_choice_wins(i18n_client, app):
    log_in(app, i18n_client)
    with new_session(app) as db:
        volunteer_named(db, "Alice").language = "de"
        db.commit()
    page = i18n_client.get("/queues?lang=en", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<html lang="de">' in page
    assert "Alle meine Queues" in page
    assert "Tickets: 0-0 von 0 - Seite:" in page
    assert "Abmelden" in page


def test_ticket_pages_in_german(i18n_client, app):
    log_in(app, i18n_client)
    number = new_ticket(app)
    page = i18n_client.get("/queues?lang=de").get_data(as_text=True)
    assert "Tickets: 1-1 von 1 - Seite:" in page
    assert "<th>Priorität</th>" in page
    zoom = i18n_client.get(f"/tickets/{number}").get_data(as_text=True)
    for label in ["Von", "An", "Betreff", "Erstellt", "Status", "Priorität", "Queue", "Alter"]:
        assert f"<dt>{label}</dt>" in zoom
    assert "Seite verknüpfen" in zoom and "Noch keine Seiten verknüpft." in zoom
    # The ticket's values too; the forms still send the states' own names.
    assert '<dd class="state">neu</dd>' in zoom
    assert "3 normal" in zoom and re.search(r"<dd class=\"age\">\d+ Minuten?</dd>", zoom)
    assert '<option value="closed successful">erfolgreich geschlossen</option>' in zoom
    assert "<td>neu</td>" in page and "3 normal" in page


def test_ticket_values_stay_english_in_english(i18n_client, app):
    log_in(app, i18n_client)
    number = new_ticket(app)
    zoom = i18n_client.get(f"/tickets/{number}").get_data(as_text=True)
    assert '<dd class="state">new</dd>' in zoom
    assert re.search(r"<dd class=\"age\">\d+ minutes?</dd>", zoom)
    assert '<option value="closed successful">closed successful</option>' in zoom


def test_flash_messages_in_german(i18n_client, app):
    log_in(app, i18n_client)
    number = new_ticket(app)
    i18n_client.get("/queues?lang=de")  # the choice is kept in the cookie
    response = i18n_client.post(
        f"/tickets/{number}/take", data={"csrf_token": CSRF}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Das Ticket gehört jetzt dir; es ist für dich gesperrt." in page
    assert "You own this ticket now" not in page
    response = i18n_client.post(
        f"/tickets/{number}/note",
        data={"csrf_token": CSRF, "body": "Looks fine."},
        follow_redirects=True,
    )
    assert "Notiz hinzugefügt." in response.get_data(as_text=True)


def test_flash_messages_in_english_are_unchanged(i18n_client, app):
    log_in(app, i18n_client)
    number = new_ticket(app)
    response = i18n_client.post(
        f"/tickets/{number}/priority", data={"csrf_token": CSRF, "priority": "2"}
    )
    page = i18n_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Priority: 2." in page


def test_note_answer_and_error_pages_in_german(i18n_client, app):
    log_in(app, i18n_client)
    number = new_ticket(app)
    note = i18n_client.get(f"/tickets/{number}/note?lang=de").get_data(as_text=True)
    assert f"Interne Notiz hinzufügen — Ticket#{number}" in note
    assert "Notizen sehen nur Freiwillige; sie werden nie an den Kunden gesendet." in note
    assert "<label>Betreff <input" in note and "Notiz hinzufügen</button>" in note
    phone = i18n_client.get(f"/tickets/{number}/note?kind=phone").get_data(as_text=True)
    assert "Sie haben uns angerufen" in phone and "Telefonat festhalten</button>" in phone
    answer = i18n_client.get(f"/tickets/{number}/answer").get_data(as_text=True)
    assert f"Ticket#{number} beantworten" in answer
    assert "<strong>Leere Antwort</strong>" in answer and "Senden</button>" in answer
    response = i18n_client.get("/tickets/0000000000000000")
    assert response.status_code == 404
    missing = response.get_data(as_text=True)
    assert "<h1>Nicht gefunden</h1>" in missing and "prüfe bitte die Schreibweise" in missing


def test_pagination_line_in_english_is_unchanged(i18n_client, app):
    log_in(app, i18n_client)
    new_ticket(app)
    page = i18n_client.get("/queues").get_data(as_text=True)
    assert '<p class="pagination">Tickets: 1-1 of 1 - Page:\n' in page


def _catalog():
    with (CATALOG_DIR / "messages.po").open("rb") as f:
        return read_po(f)


def test_german_catalog_is_complete():
    catalog = _catalog()
    messages = [m for m in catalog if m.id]
    assert messages
    assert [m.id for m in messages if not m.string] == []
    assert [m.id for m in messages if m.fuzzy] == []
    assert [m.id for m in catalog.obsolete.values()] == []


def test_every_marked_template_string_is_in_the_catalog():
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalog() if m.id}
    for name in MARKED_TEMPLATES:
        for _lineno, message, _comments, _context in extract_from_file(
            "jinja2", str(Path(CHECKOUT) / "templates" / name)
        ):
            msgid = message if isinstance(message, str) else message[0]
            assert msgid in known, f"{name}: {msgid!r} has no German translation"


@pytest.mark.parametrize("module", WEB_MODULES, ids=lambda p: p.name)
def test_every_marked_web_message_is_in_the_catalog(module: Path):
    known = {m.id for m in _catalog() if m.id}
    for _lineno, message, _comments, _context in extract_from_file("python", str(module)):
        msgid = message if isinstance(message, str) else tuple(message)
        assert msgid in known, f"{module.name}: {msgid!r} has no German translation"


def test_compiled_catalog_matches_the_po_file():
    """The committed .mo is what ``pybabel compile`` makes of the .po."""
    with (CATALOG_DIR / "messages.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    expected = {m.id: m.string for m in _catalog() if m.id and not m.fuzzy}
    keys: set[object] = set()
    for msgid, string in expected.items():
        if isinstance(msgid, tuple):  # plural forms: one entry per form
            for n, form in ((1, string[0]), (2, string[1])):
                assert compiled.ngettext(msgid[0], msgid[1], n) == form, f"stale: {msgid!r}"
            keys |= {(msgid[0], 0), (msgid[0], 1)}
        else:
            assert compiled.gettext(msgid) == string, f"messages.mo is stale for {msgid!r}"
            keys.add(msgid)
    assert set(compiled._catalog) - {""} == keys  # type: ignore[attr-defined]
