"""Importing tickets known from an older system, so the audit can tell them from forgeries."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.references import KnownTicket, WikiReference

_TRUE = {"1", "true", "yes", "y", "confirmed", "t"}
_FALSE = {"", "0", "false", "no", "n", "f", "unconfirmed"}


class KnownTicketError(ValueError):
    """The file cannot be imported at all (no header, no number column)."""


@dataclass
class Imported:
    """What an import did, and the rows it refused with why."""

    added: int = 0
    updated: int = 0
    refused: int = 0
    problems: list[str] = field(default_factory=list)


def _flag(value: str) -> bool | None:
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def import_known(session: Session, lines: Iterable[str], source: str = "") -> Imported:
    """Add or update known tickets from CSV ``lines`` (header: number, id, queue, confirmed).

    Rows that cannot be read are counted and explained, never half-imported.
    References citing an old id that now maps to a number learn that number.
    """
    reader = csv.DictReader(lines)
    columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    if "number" not in columns:
        raise KnownTicketError("the first row must name the columns, with at least 'number'")
    outcome = Imported()
    seen_ids: dict[str, str] = {}
    for row in reader:
        line = reader.line_num

        def cell(name: str, row: dict[str, str | None] = row) -> str:
            return (row.get(columns.get(name, "")) or "").strip()

        number, old_id = cell("number"), cell("id") or None
        confirmed = _flag(cell("confirmed"))
        problem = None
        if not number.isdigit():
            problem = f"line {line}: the number {number!r} is not digits"
        elif old_id is not None and not old_id.isdigit():
            problem = f"line {line}: the id {old_id!r} is not digits"
        elif confirmed is None:
            problem = f"line {line}: 'confirmed' must be yes or no, not {cell('confirmed')!r}"
        elif old_id is not None and seen_ids.get(old_id, number) != number:
            problem = f"line {line}: the id {old_id} was given to {seen_ids[old_id]} already"
        if problem:
            outcome.refused += 1
            outcome.problems.append(problem)
            continue
        if old_id is not None:
            seen_ids[old_id] = number
        known = session.get(KnownTicket, number)
        if known is None:
            known = KnownTicket(number=number)
            session.add(known)
            outcome.added += 1
        else:
            outcome.updated += 1
        known.old_id = old_id or known.old_id
        known.queue = cell("queue") or known.queue or ""
        known.permission_confirmed = bool(confirmed)
        known.imported_from = source[:255]
        session.flush()
    for old_id, number in seen_ids.items():
        session.execute(
            update(WikiReference)
            .where(WikiReference.is_id, WikiReference.ticket == old_id)
            .values(number=number)
        )
    return outcome


def known_numbers(session: Session, numbers: Iterable[str]) -> dict[str, KnownTicket]:
    """The known tickets among ``numbers``."""
    wanted = list(set(numbers))
    if not wanted:
        return {}
    rows = session.scalars(select(KnownTicket).where(KnownTicket.number.in_(wanted)))
    return {row.number: row for row in rows}
