"""Storing one incoming message, the same way whichever door it came through.

Flask-free on purpose: ``wikibridge mail deliver`` runs once per message and
starts faster without it (see :mod:`wikibridge.mail.pipe`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tickets.intake import Delivery, begin_write, deliver
from tickets.language import LanguageDetector
from tickets.policies import active_policy

if TYPE_CHECKING:
    from flask import Flask


@functools.lru_cache(maxsize=8)
def detector_for(languages: tuple[str, ...]) -> LanguageDetector:
    """One detector per set of languages and process (its model loads on first use)."""
    return LanguageDetector(languages)


def store_with(
    make_session: Callable[[], Session],
    config: Mapping[str, Any],
    raw: bytes,
    queue: str | None = None,
) -> Delivery:
    """Store ``raw`` durably through sessions from ``make_session``; return where it went.

    Returns only after the commit, so a caller may acknowledge the message
    (exit 0, answer 250, flag it on the IMAP server) once this returns; any
    exception means nothing was stored and the message must be kept.
    """
    with make_session() as db:
        begin_write(db)
        policy = active_policy(db, config["MAIL_DOMAIN"])
        result = deliver(
            db,
            raw,
            policy=policy,
            detector=detector_for(policy.languages),
            system_id=config["SYSTEM_ID"],
            forced_queue=queue,
        )
        db.commit()
        return result


def store_message(app: Flask, raw: bytes, queue: str | None = None) -> Delivery:
    """Store ``raw`` with ``app``'s database and settings (see :func:`store_with`)."""
    return store_with(app.extensions["db_sessionmaker"], app.config, raw, queue)
