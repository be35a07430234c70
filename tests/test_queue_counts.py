"""The counters per queue and state stay equal to a fresh count, whatever changes a ticket."""

from __future__ import annotations

import random

from flask import Flask
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from tickets.listing import CLOSED, open_counts, state_counts
from tickets.models import Queue, State, Ticket
from wikibridge.db import new_session

STATES = [s.value for s in State]


def counted(db: Session) -> dict[tuple[int, str], int]:
    """Tickets per (queue, state), counted from the tickets themselves."""
    rows = db.execute(
        select(Ticket.queue_id, Ticket.state, func.count()).group_by(Ticket.queue_id, Ticket.state)
    )
    return {(queue_id, state): n for queue_id, state, n in rows}


def test_counts_equal_a_fresh_count_after_random_changes(app: Flask):
    rng = random.Random(14)
    with new_session(app) as db:
        queues = list(db.scalars(select(Queue.id).order_by(Queue.id)))[:6]
        serial = 0

        def number() -> str:
            nonlocal serial
            serial += 1
            return f"20260101{serial:08d}"

        for round_ in range(40):
            ids = list(db.scalars(select(Ticket.id)))
            action = rng.choice(["orm add", "bulk insert", "orm change", "bulk update", "raw sql"])
            if action == "orm add" or not ids:
                for _ in range(rng.randint(1, 5)):
                    db.add(
                        Ticket(
                            number=number(), queue_id=rng.choice(queues), state=rng.choice(STATES)
                        )
                    )
            elif action == "bulk insert":
                db.execute(
                    insert(Ticket),
                    [
                        {"number": number(), "queue_id": rng.choice(queues), "state": "new"}
                        for _ in range(rng.randint(1, 20))
                    ],
                )
            elif action == "orm change":
                for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(rng.sample(ids, 3)))):
                    if rng.random() < 0.5:
                        ticket.queue_id = rng.choice(queues)
                    if rng.random() < 0.5:
                        ticket.state = rng.choice(STATES)
                    ticket.title = f"round {round_}"  # a change that moves no count
            elif action == "bulk update":
                db.execute(
                    update(Ticket)
                    .where(Ticket.id.in_(rng.sample(ids, min(len(ids), 10))))
                    .values(state=rng.choice(STATES), queue_id=rng.choice(queues))
                )
            else:  # what another program or an operator's SQL would do
                db.execute(
                    text("UPDATE ticket SET state = :s WHERE id % 7 = :r"),
                    {"s": rng.choice(STATES), "r": rng.randrange(7)},
                )
            # A quarter of the rounds are rolled back: the counters go back with the tickets.
            if rng.random() < 0.25:
                db.rollback()
            else:
                db.commit()
            fresh = counted(db)
            assert {k: v for k, v in state_counts(db).items() if v} == fresh, action
        assert sum(fresh.values()) > 50


def test_a_deleted_ticket_leaves_the_counts(app: Flask):
    with new_session(app) as db:
        queue = db.scalars(select(Queue.id).order_by(Queue.id)).first()
        assert queue is not None
        db.add_all(
            Ticket(number=f"2026010100000{n:03d}", queue_id=queue, state="open") for n in range(3)
        )
        db.commit()
        assert open_counts(db) == {queue: 3}
        db.execute(delete(Ticket).where(Ticket.number == "2026010100000001"))
        db.commit()
        assert open_counts(db) == {queue: 2} and state_counts(db) == counted(db)


def test_open_counts_leave_out_every_closed_state(app: Flask):
    with new_session(app) as db:
        queue = db.scalars(select(Queue.id).order_by(Queue.id)).first()
        assert queue is not None
        for n, state in enumerate(STATES):
            db.add(Ticket(number=f"2026010100000{n:03d}", queue_id=queue, state=state))
        db.commit()
        assert open_counts(db) == {queue: len([s for s in STATES if s not in CLOSED])}
