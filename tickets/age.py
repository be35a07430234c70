"""How long ago, the way a help desk shows it."""

from __future__ import annotations

import datetime as dt


def _unit(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def age_parts(since: dt.datetime, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """How old something is, as one or two (number, unit) pairs, the larger first.

    Units are "day", "hour" and "minute": days with hours, hours with
    minutes, or minutes alone; a zero second part is left out.
    """
    now = now or dt.datetime.now(dt.UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return [(days, "day")] + ([(hours, "hour")] if hours else [])
    if hours:
        return [(hours, "hour")] + ([(minutes, "minute")] if minutes else [])
    return [(minutes, "minute")]


def age_text(since: dt.datetime, now: dt.datetime | None = None) -> str:
    """Say how old something is: ``38 minutes``, ``2 hours 5 minutes``, ``3 days 4 hours``."""
    return " ".join(_unit(n, unit) for n, unit in age_parts(since, now))
