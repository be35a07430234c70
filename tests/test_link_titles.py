"""Linking a page by URL checks the title as strictly as a typed one (issue 10, item 6)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.models import PageLink
from wikibridge.db import new_session

from .helpers import log_in, new_ticket

FORM = {"csrf_token": "test-csrf", "wiki": "commons"}


@pytest.mark.parametrize(
    ("page", "english", "german"),
    [
        (
            "https://commons.wikimedia.org/wiki/File:A.jpg%7CFile:B.jpg",
            "is not a valid page title: | may not occur in a title.",
            "ist kein gültiger Seitentitel: | darf in einem Titel nicht vorkommen.",
        ),
        (
            "https://commons.wikimedia.org/wiki/File:A%5Bx%5D.jpg",
            "is not a valid page title: [ ] may not occur in a title.",
            "ist kein gültiger Seitentitel: [ ] darf in einem Titel nicht vorkommen.",
        ),
        (
            "https://commons.wikimedia.org/wiki/File:A%0AB.jpg",
            "it contains the control character U+000A.",
            "Er enthält das Steuerzeichen U+000A.",
        ),
        (
            "https://commons.wikimedia.org/wiki/File:A%257CB.jpg",
            "percent-encoding (%7C) may not occur in a title.",
            "Prozentkodierung (%7C) darf in einem Titel nicht vorkommen.",
        ),
    ],
)
def test_url_with_forbidden_title_is_refused_with_reason(
    client: FlaskClient, app: Flask, page: str, english: str, german: str
) -> None:
    log_in(app, client)
    number = new_ticket(app)
    response = client.post(f"/tickets/{number}/links", data={**FORM, "page": page})
    assert response.status_code == 302
    assert english in client.get(f"/tickets/{number}").get_data(as_text=True)
    client.post(f"/tickets/{number}/links?lang=de", data={**FORM, "page": page})
    assert german in client.get(f"/tickets/{number}?lang=de").get_data(as_text=True)
    with new_session(app) as db:
        assert db.scalars(select(PageLink)).all() == []


def test_typed_title_with_forbidden_character_is_refused(client: FlaskClient, app: Flask) -> None:
    log_in(app, client)
    number = new_ticket(app)
    client.post(f"/tickets/{number}/links", data={**FORM, "page": "File:A.jpg|File:B.jpg"})
    zoom = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "| may not occur in a title." in zoom
    with new_session(app) as db:
        assert db.scalars(select(PageLink)).all() == []
