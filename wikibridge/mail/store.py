"""Storing one incoming message, the same way whichever door it came through.

Flask-free on purpose: ``wikibridge mail deliver`` runs once per message and
starts faster without it (see :mod:`wikibridge.mail.pipe`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tickets.intake import Delivery, is_known, prepare, routing_view, store_incoming
from tickets.language import LanguageDetector
from tickets.policies import active_policy
from tickets.routing import route
from wikibridge.engine import writer_turn

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
    max_bytes: int | None = None,
    envelope_to: Sequence[str] = (),
) -> Delivery:
    """Store ``raw`` durably through sessions from ``make_session``; return where it went.

    Returns only after the commit, so a caller may acknowledge the message
    (exit 0, answer 250, flag it on the IMAP server) once this returns; any
    exception means nothing was stored and the message must be kept.

    Everything but writing happens before the write transaction opens:
    parsing, sanitising, hashing, compressing, reading the routing policy and
    detecting the language.  The writer (one at a time on SQLite) is held
    only for the inserts.  A message over ``max_bytes`` (default: the
    ``MAIL_MAX_BYTES`` setting) is stored unread (see :func:`tickets.intake.prepare`).
    ``envelope_to``, the recipients the MTA named, is kept beside the bytes
    and routes a message whose headers name no known address.
    """
    incoming = prepare(raw, max_bytes or config.get("MAIL_MAX_BYTES"), envelope_to)
    with make_session() as db:
        policy = active_policy(db, config["MAIL_DOMAIN"])
        known = is_known(db, incoming.parsed)
        db.rollback()  # end the read; the language model may load meanwhile
        detector = detector_for(policy.languages)
        # A duplicate or a follow-up (checked again in the transaction) needs no route.
        view = routing_view(incoming.parsed, incoming.envelope_to)
        routed = None if queue or known else route(view, policy, detector)
        with writer_turn(db.get_bind().engine):
            result = store_incoming(
                db,
                incoming,
                policy=policy,
                detector=detector,
                system_id=config["SYSTEM_ID"],
                forced_queue=queue,
                routed=routed,
            )
            db.commit()
        return result


def store_message(
    app: Flask,
    raw: bytes,
    queue: str | None = None,
    max_bytes: int | None = None,
    envelope_to: Sequence[str] = (),
) -> Delivery:
    """Store ``raw`` with ``app``'s database and settings (see :func:`store_with`)."""
    return store_with(
        app.extensions["db_sessionmaker"], app.config, raw, queue, max_bytes, envelope_to
    )
