"""Helpers shared by tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from flask import Flask
from flask.testing import FlaskClient

from tickets.models import Volunteer
from wikibridge import sessions
from wikibridge.crypto import TokenBox
from wikibridge.db import new_session
from wikibridge.mail.store import store_message


def log_in(app: Flask, client: FlaskClient, username: str = "Alice") -> str:
    """Log ``username`` in without a wiki (for tests of pages, not of OAuth)."""
    with new_session(app) as db:
        volunteer = Volunteer(username=username, wiki_sub="1")
        db.add(volunteer)
        db.flush()
        token, row = sessions.start(db, dt.timedelta(hours=1))
        row.volunteer_id = volunteer.id
        row.username = username
        row.credentials = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"]).seal(
            {"version": "1", "key": "access-key", "secret": "access-secret"}
        )
        db.commit()
    with client.session_transaction() as s:
        s["sid"] = token
        s["csrf"] = "test-csrf"
    return token


def new_ticket(
    app: Flask,
    subject: str = "Permission for my photo",
    to: str = "permissions@wikimedia.org",
    body: str = "I am the photographer and release it under CC BY-SA 4.0.",
) -> str:
    """Deliver a simple message; return the ticket number."""
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return store_message(app, msg.as_bytes()).number
