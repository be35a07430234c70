"""Ticket states and priorities, apart from the tables (the mail pipe reads them without).

:mod:`tickets.models` imports SQLAlchemy; the mail pipe stores mail without it
(:mod:`tickets.sql`), so what both need lives here.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """Ticket states, named as in Znuny so volunteers moving over feel at home."""

    NEW = "new"
    OPEN = "open"
    PENDING_REMINDER = "pending reminder"
    PENDING_AUTO_CLOSE = "pending auto close"
    CLOSED_SUCCESSFUL = "closed successful"
    CLOSED_UNSUCCESSFUL = "closed unsuccessful"
    MERGED = "merged"

    @property
    def is_closed(self) -> bool:
        """Closed and merged tickets are out of the working lists."""
        return self in (State.CLOSED_SUCCESSFUL, State.CLOSED_UNSUCCESSFUL, State.MERGED)


PRIORITY_NAMES = {1: "very low", 2: "low", 3: "normal", 4: "high", 5: "very high"}
DEFAULT_PRIORITY = 3


def priority_label(priority: int) -> str:
    """Return Znuny's label for a priority, e.g. ``3 normal``."""
    return f"{priority} {PRIORITY_NAMES.get(priority, '')}".strip()
