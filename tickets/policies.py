"""Versions of the routing policy in the database: one active, none ever lost."""

from __future__ import annotations

import json

from tickets.routing import Policy
from tickets.sql import Db, as_db

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # Only saving and listing versions need them; the mail pipe reads the
    # active policy without SQLAlchemy.
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from tickets.models import RoutingPolicy

ACTIVE = "SELECT document FROM routing_policy WHERE active ORDER BY id DESC LIMIT 1"


def active_policy(session: Session | Connection | Db, domain: str | None = None) -> Policy:
    """The active policy; the spec's default (on ``domain``) when none was saved."""
    document: Any = as_db(session).scalar(ACTIVE)
    if document is not None:
        if isinstance(document, str | bytes):  # psycopg reads JSON itself, sqlite3 does not
            document = json.loads(document)
        return Policy.from_document(document)
    return Policy(domain=domain.lower()) if domain else Policy()


def activate(session: Session, policy: Policy, actor: str, note: str = "") -> RoutingPolicy:
    """Save ``policy`` as a new version and make it the active one."""
    from sqlalchemy import update

    from tickets.models import RoutingPolicy

    session.execute(update(RoutingPolicy).where(RoutingPolicy.active).values(active=False))
    row = RoutingPolicy(document=policy.to_document(), active=True, created_by=actor, note=note)
    session.add(row)
    session.flush()
    return row


def history(session: Session) -> list[RoutingPolicy]:
    """Every saved version, newest first."""
    from sqlalchemy import select

    from tickets.models import RoutingPolicy

    return list(session.scalars(select(RoutingPolicy).order_by(RoutingPolicy.id.desc())))
