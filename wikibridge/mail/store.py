"""Storing one incoming message, the same way whichever door it came through.

Neither Flask nor SQLAlchemy is imported here: ``wikibridge mail deliver``
runs once per message and stores through the database driver alone (see
:mod:`wikibridge.mail.pipe`); the web, IMAP and the tools store through
their SQLAlchemy engine (:func:`store_message`), with the same statements.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager

from tickets.intake import Delivery, is_known, prepare, routing_view, store_incoming
from tickets.language import LanguageDetector
from tickets.policies import active_policy
from tickets.routing import route
from tickets.sql import Db

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from flask import Flask


@functools.lru_cache(maxsize=8)
def detector_for(languages: tuple[str, ...]) -> LanguageDetector:
    """One detector per set of languages and process (its model loads on first use)."""
    return LanguageDetector(languages)


def store_on(
    db: Db,
    writer: Callable[[], AbstractContextManager[object]],
    config: Mapping[str, Any],
    raw: bytes,
    queue: str | None = None,
    max_bytes: int | None = None,
    envelope_to: Sequence[str] = (),
) -> Delivery:
    """Store ``raw`` durably through ``db``; return where it went.

    Returns only after the commit, so a caller may acknowledge the message
    (exit 0, answer 250, flag it on the IMAP server) once this returns; any
    exception means nothing was stored and the message must be kept.

    Everything but writing happens before the write transaction opens:
    parsing, sanitising, hashing, compressing, reading the routing policy and
    detecting the language.  The writer (one at a time on SQLite: ``writer()``
    waits for its turn) is held only for the inserts.  A message over
    ``max_bytes`` (default: the ``MAIL_MAX_BYTES`` setting) is stored unread
    (see :func:`tickets.intake.prepare`).  ``envelope_to``, the recipients
    the MTA named, is kept beside the bytes and routes a message whose
    headers name no known address.
    """
    incoming = prepare(raw, max_bytes or config.get("MAIL_MAX_BYTES"), envelope_to)
    try:
        policy = active_policy(db, config["MAIL_DOMAIN"])
        known = is_known(db, incoming.parsed)
    finally:
        db.rollback()  # end the read; the language model may load meanwhile
    detector = detector_for(policy.languages)
    # A duplicate or a follow-up (checked again in the transaction) needs no route.
    view = routing_view(incoming.parsed, incoming.envelope_to)
    routed = None if queue or known else route(view, policy, detector)
    with writer():
        try:
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
        except BaseException:
            db.rollback()
            raise
    return result


def store_message(
    app: Flask,
    raw: bytes,
    queue: str | None = None,
    max_bytes: int | None = None,
    envelope_to: Sequence[str] = (),
) -> Delivery:
    """Store ``raw`` with ``app``'s database and settings (see :func:`store_on`)."""
    from wikibridge.engine import writer_turn

    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        return store_on(
            Db.over(conn),
            lambda: writer_turn(engine),
            app.config,
            raw,
            queue,
            max_bytes,
            envelope_to,
        )
