"""Storing one incoming message, the same way whichever door it came through."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tickets.intake import Delivery, deliver
from tickets.routing import Policy
from wikibridge.db import new_session


def policy_for(config: Any) -> Policy:
    """The routing policy the settings describe."""
    return Policy(domain=config["MAIL_DOMAIN"])


def store_message(app: Flask, raw: bytes, queue: str | None = None) -> Delivery:
    """Store ``raw`` durably and return where it went.

    Returns only after the commit, so a caller may acknowledge the message
    (exit 0, answer 250, flag it on the IMAP server) once this returns; any
    exception means nothing was stored and the message must be kept.
    """
    with new_session(app) as db:
        result = deliver(
            db,
            raw,
            policy=policy_for(app.config),
            system_id=app.config["SYSTEM_ID"],
            forced_queue=queue,
        )
        db.commit()
        return result
