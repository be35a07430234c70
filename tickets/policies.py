"""Versions of the routing policy in the database: one active, none ever lost."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.models import RoutingPolicy
from tickets.routing import Policy


def active_policy(session: Session, domain: str | None = None) -> Policy:
    """The active policy; the spec's default (on ``domain``) when none was saved."""
    row = session.scalars(
        select(RoutingPolicy).where(RoutingPolicy.active).order_by(RoutingPolicy.id.desc())
    ).first()
    if row is not None:
        return Policy.from_document(row.document)
    return Policy(domain=domain.lower()) if domain else Policy()


def activate(session: Session, policy: Policy, actor: str, note: str = "") -> RoutingPolicy:
    """Save ``policy`` as a new version and make it the active one."""
    session.execute(update(RoutingPolicy).where(RoutingPolicy.active).values(active=False))
    row = RoutingPolicy(document=policy.to_document(), active=True, created_by=actor, note=note)
    session.add(row)
    session.flush()
    return row


def history(session: Session) -> list[RoutingPolicy]:
    """Every saved version, newest first."""
    return list(session.scalars(select(RoutingPolicy).order_by(RoutingPolicy.id.desc())))
