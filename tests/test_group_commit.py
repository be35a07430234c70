"""Group commit (LMTP, ``mail import``): one counter bump a batch, one connection kept."""

from __future__ import annotations

from email.message import EmailMessage

from flask import Flask
from sqlalchemy import select

from tickets.intake import Delivery
from tickets.intake_rows import hold_numbers, next_number
from tickets.models import Article, Ticket, TicketCounter
from tickets.numbers import is_valid
from wikibridge.db import new_session
from wikibridge.mail.batch import HeldConnection, PolicyCache, Routed, prepare_routed, write_batch


def mail(n: int, reply_to: int | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Writer {n} <w{n}@example.net>"
    msg["To"] = "info@wikimedia.org"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<batch-{n}@example.net>"
    if reply_to is not None:
        msg["In-Reply-To"] = f"<batch-{reply_to}@example.net>"
    msg.set_content(f"Hello, this is message {n}.\n")
    return msg.as_bytes()


def routed(app: Flask, raws: list[bytes]) -> list[Routed]:
    policy = PolicyCache(app.extensions["db_engine"], app.config["MAIL_DOMAIN"]).get()
    return [prepare_routed(raw, policy) for raw in raws]


def written(app: Flask, raws: list[bytes], held: HeldConnection | None = None) -> list[Delivery]:
    engine = app.extensions["db_engine"]
    policy = PolicyCache(engine, app.config["MAIL_DOMAIN"]).get()
    results = write_batch(
        engine, routed(app, raws), policy, str(app.config["SYSTEM_ID"]), held=held
    )
    assert all(isinstance(r, Delivery) for r in results), results
    return [r for r in results if isinstance(r, Delivery)]


def counter(app: Flask) -> int:
    with new_session(app) as db:
        return int(db.scalar(select(TicketCounter.value)) or 0)


def test_a_batch_numbers_its_tickets_in_order_with_one_counter(app: Flask) -> None:
    first = written(app, [mail(0)])
    raws = [mail(1), mail(2, reply_to=1), mail(1), mail(3), mail(4, reply_to=0)]
    one, reply, again, three, old_reply = written(app, raws)
    numbers = [first[0].number, one.number, three.number]
    assert all(is_valid(n) for n in numbers)
    assert [int(n[10:-1]) for n in numbers] == [1, 2, 3]  # no gap, no number twice
    assert counter(app) == 3
    # A reply to a ticket opened earlier in the batch joins it; so does a
    # reply to an older one.  A redelivery in the batch takes no number.
    assert (reply.rule, reply.number, reply.created) == ("followup", one.number, True)
    assert (again.rule, again.number, again.created) == ("duplicate", one.number, False)
    assert (old_reply.rule, old_reply.number) == ("followup", first[0].number)
    with new_session(app) as db:
        assert db.scalar(select(Ticket.number).order_by(Ticket.id.desc())) == three.number
        assert len(db.scalars(select(Article.id)).all()) == 5


def test_a_rolled_back_transaction_gives_its_numbers_back(app: Flask) -> None:
    written(app, [mail(0)])
    engine = app.extensions["db_engine"]
    from wikibridge.mail.batch import _driver_connection

    with _driver_connection(engine) as db:
        db.begin_write()
        hold_numbers(db)
        taken = [next_number(db, str(app.config["SYSTEM_ID"])) for _ in range(3)]
        db.rollback()
    assert [int(n[10:-1]) for n in taken] == [2, 3, 4]
    assert counter(app) == 1
    (delivery,) = written(app, [mail(1)])
    assert delivery.number == taken[0]


def test_a_kept_connection_that_went_away_costs_no_message(app: Flask) -> None:
    engine = app.extensions["db_engine"]
    held = HeldConnection(engine, seconds=3600.0)  # kept however slow the test runs
    try:
        written(app, [mail(0)], held)
        raw = held._raw
        assert raw is not None
        raw.driver_connection.close()  # as a server restart leaves it
        deliveries = written(app, [mail(1), mail(2)], held)
        assert [d.created for d in deliveries] == [True, True]
        assert counter(app) == 3
        written(app, [mail(3)], held)  # a fresh connection is kept again
        assert held._raw is not None and held._raw is not raw
    finally:
        held.close()
