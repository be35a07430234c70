"""Helpers shared by tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from flask import Flask
from flask.testing import FlaskClient

from tickets.access import grant, parse_rights, volunteer_named
from tickets.queues import queue_by_name
from wikibridge import sessions
from wikibridge.crypto import TokenBox
from wikibridge.db import new_session
from wikibridge.mail.store import store_message


def log_in(
    app: Flask,
    client: FlaskClient,
    username: str = "Alice",
    role: str = "admin",
    grants: dict[str, str] | None = None,
) -> str:
    """Log ``username`` in without a wiki (for tests of pages, not of OAuth).

    :param role: ``volunteer``, ``admin`` or ``head``.
    :param grants: queue name -> rights (``read,answer`` or ``all``) for a volunteer.
    """
    with new_session(app) as db:
        volunteer = volunteer_named(db, username)
        volunteer.role = role
        for queue_name, rights in (grants or {}).items():
            queue = queue_by_name(db, queue_name)
            assert queue is not None, queue_name
            grant(db, volunteer, queue, parse_rights(rights), "test")
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
