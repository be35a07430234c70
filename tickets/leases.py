"""Leases on rows a worker runs: who holds the row, and until when.

A row that a worker runs (a wiki batch, a wiki write) carries ``status``,
``lease_until`` and ``lease_owner``. A worker takes it with :func:`take`
(queued, or running with a lease run out), proves it is alive with
:func:`extend`, and gives it up with :func:`release`. Every one of these is
a single conditional ``UPDATE``, so two workers never both hold a row, and a
worker whose lease ran out and was taken over finds no row to update
(:class:`LeaseLost`) instead of overwriting the new holder's work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tickets.models import utcnow

#: How long a worker may go without a sign of life before another takes its
#: row over: long enough to outlast one edit's maxlag and rate-limit waits.
LEASE = dt.timedelta(seconds=90)


class LeaseLost(Exception):
    """Another runner holds the row now: this one stops without writing."""


def runner_id() -> str:
    """A name for one run, unique across hosts, processes and threads."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def take(
    db: Session, model: Any, row_id: int, lease: dt.timedelta, owner: str, **values: Any
) -> bool:
    """Take row ``row_id`` of ``model`` for ``owner`` unless another holds a live lease.

    ``values`` are set with the lease (a message to clear, a counter to raise).
    Does not commit.
    """
    now = utcnow()
    result = db.execute(
        update(model)
        .where(
            model.id == row_id,
            or_(
                model.status == "queued",
                (model.status == "running")
                & or_(model.lease_until.is_(None), model.lease_until < now),
            ),
        )
        .values(status="running", lease_until=now + lease, lease_owner=owner, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def extend(db: Session, model: Any, row_id: int, owner: str, lease: dt.timedelta) -> bool:
    """Extend ``owner``'s lease on the row; False if another holds it. Does not commit."""
    result = db.execute(
        update(model)
        .where(model.id == row_id, model.lease_owner == owner)
        .values(lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(db: Session, model: Any, row_id: int, owner: str, **values: Any) -> bool:
    """Give the row up with ``values`` (its new status…) if ``owner`` still holds it.

    Does not commit; False (nothing written) when another runner holds it.
    """
    result = db.execute(
        update(model)
        .where(model.id == row_id, model.lease_owner == owner)
        .values(lease_until=None, lease_owner=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def stalled_ids(db: Session, model: Any, lease: dt.timedelta) -> list[int]:
    """Rows to hand to a worker: queued a lease ago or longer, or running with the lease out.

    A row queued just now has its job on the way; one queued that long ago
    lost it (a worker died, the queue was emptied).
    """
    now = utcnow()
    return list(
        db.scalars(
            select(model.id)
            .where(
                or_(
                    (model.status == "queued") & (model.changed_at < now - lease),
                    (model.status == "running") & (model.lease_until < now),
                )
            )
            .order_by(model.id)
        )
    )


def requeue(db: Session, end: Callable[[str, str], object], why: str) -> None:
    """Give a leased job back as "queued" through ``end``, if the database lets us.

    If it does not (still away), the lease runs out and the sweep hands the
    job to a worker all the same, so nothing more is to be done here.
    """
    try:
        db.rollback()
        end("queued", f"{why}; trying again shortly")
    except (SQLAlchemyError, LeaseLost):
        with contextlib.suppress(SQLAlchemyError):
            db.rollback()
