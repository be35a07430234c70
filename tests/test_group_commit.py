"""Group commit (LMTP, ``mail import``): one counter bump a batch, one connection kept."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest
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


def tagged(n: int, number: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Writer {n} <w{n}@example.net>"
    msg["To"] = "info@wikimedia.org"
    msg["Subject"] = f"Re: [Ticket#{number}] Question"
    msg["Message-ID"] = f"<tagged-{n}@example.net>"
    msg.set_content(f"Following up, message {n}.\n")
    return msg.as_bytes()


def today_number(app: Flask, counter_value: int) -> str:
    from tickets.clock import utcnow
    from tickets.numbers import format_number

    return format_number(utcnow().date(), str(app.config["SYSTEM_ID"]), counter_value)


def test_a_batch_sees_its_own_tickets_as_the_messages_one_at_a_time_would(app: Flask) -> None:
    """The steps run for the whole batch at once, yet a later message finds an earlier one."""
    from tickets.models import History

    (old,) = written(app, [mail(0)])
    with new_session(app) as db:
        ticket = db.scalars(select(Ticket)).one()
        ticket.state = "closed successful"
        db.commit()
    raws = [
        mail(1),
        tagged(2, today_number(app, 2)),  # names the number message 1 is about to get
        mail(3, reply_to=0),  # both reply to the closed ticket: it reopens once
        mail(4, reply_to=0),
        mail(5, reply_to=3),  # replies to a reply of this very batch
    ]
    one, tag, reopen, again, chained = written(app, raws)
    assert one.number == today_number(app, 2)
    assert (tag.rule, tag.number, tag.created) == ("followup", one.number, True)
    assert [(d.rule, d.number) for d in (reopen, again, chained)] == [("followup", old.number)] * 3
    assert counter(app) == 2
    with new_session(app) as db:
        kinds = db.scalars(
            select(History.kind).where(History.ticket_id == ticket.id).order_by(History.id)
        ).all()
        assert kinds == ["created", "article", "reopened", "article", "article", "article"]
        articles = db.execute(select(Article.id, Article.ticket_id).order_by(Article.id)).all()
        tickets = [t for _, t in articles]
        assert tickets == [ticket.id, tickets[1], tickets[1], ticket.id, ticket.id, ticket.id]


def test_a_number_taken_in_a_batch_sends_it_one_message_at_a_time(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """An archive holding today's next number: the batch is written again, a message a time."""
    written(app, [mail(0)])
    (imported,) = routed(app, [tagged(9, today_number(app, 2))])
    engine = app.extensions["db_engine"]
    policy = PolicyCache(engine, app.config["MAIL_DOMAIN"]).get()
    system_id = str(app.config["SYSTEM_ID"])
    # As `mail import` keeps an archive's number: ticket 2 exists, the counter still says 1.
    kept = Routed(imported.incoming, None, None, today_number(app, 2))
    (stored,) = write_batch(engine, [kept], policy, system_id)
    assert isinstance(stored, Delivery) and stored.number == today_number(app, 2)
    assert counter(app) == 1
    with caplog.at_level(logging.WARNING):
        first, second = written(app, [mail(1), mail(2)])
    assert "is taken" in caplog.text and "one at a time" in caplog.text
    assert [first.number, second.number] == [today_number(app, 3), today_number(app, 4)]
    assert (first.created, second.created) == (True, True)
    assert counter(app) == 4
    with new_session(app) as db:
        assert len(db.scalars(select(Ticket.id)).all()) == 4
