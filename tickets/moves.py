"""Moving tickets between queues, and learning from it where routing went wrong."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.models import Queue, RoutingCorrection, Ticket
from tickets.tickets import record

#: Rules whose choice a move can correct (follow-ups keep the ticket's queue).
CORRECTABLE = frozenset(
    {"spam", "role", "content", "address-lang", "detected-lang", "fallback", "forced"}
)


def move_ticket(session: Session, ticket: Ticket, queue: Queue, actor: str) -> bool:
    """Move ``ticket`` to ``queue``; return whether anything changed.

    The first move out of the queue the routing chose is recorded as a
    correction of the rule that chose it.
    """
    if ticket.queue_id == queue.id:
        return False
    old = ticket.queue.name
    already = session.scalar(
        select(func.count())
        .select_from(RoutingCorrection)
        .where(RoutingCorrection.ticket_id == ticket.id)
    )
    if not already and ticket.route_rule in CORRECTABLE:
        session.add(
            RoutingCorrection(
                ticket_id=ticket.id,
                rule=ticket.route_rule,
                from_queue=old,
                to_queue=queue.name,
                corrected_by=actor,
            )
        )
    ticket.queue = queue
    record(session, ticket, "moved", actor, old=old, new=queue.name)
    return True


@dataclass(frozen=True)
class RuleReport:
    """How often a rule routed mail, and how often volunteers corrected it."""

    rule: str
    routed: int
    corrected: int

    @property
    def rate(self) -> float:
        """Share of the rule's tickets that were moved."""
        return self.corrected / self.routed if self.routed else 0.0


def correction_report(
    session: Session, since: dt.datetime | None = None
) -> tuple[list[RuleReport], list[tuple[str, str, str, int]]]:
    """Per-rule totals, and the most frequent (rule, from, to) moves."""
    routed_q = select(Ticket.route_rule, func.count()).group_by(Ticket.route_rule)
    moves_q = select(
        RoutingCorrection.rule,
        RoutingCorrection.from_queue,
        RoutingCorrection.to_queue,
        func.count(),
    ).group_by(RoutingCorrection.rule, RoutingCorrection.from_queue, RoutingCorrection.to_queue)
    if since is not None:
        routed_q = routed_q.where(Ticket.created_at >= since)
        moves_q = moves_q.where(RoutingCorrection.created_at >= since)
    routed = {rule: n for rule, n in session.execute(routed_q) if rule}
    moves = [(r, f, t, n) for r, f, t, n in session.execute(moves_q)]
    corrected: dict[str, int] = {}
    for rule, _f, _t, n in moves:
        corrected[rule] = corrected.get(rule, 0) + n
    rules = sorted(set(routed) | set(corrected))
    report = [RuleReport(r, routed.get(r, 0), corrected.get(r, 0)) for r in rules]
    moves.sort(key=lambda m: (-m[3], m[0], m[1], m[2]))
    return report, moves
