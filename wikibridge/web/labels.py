"""Ticket values in the reader's language: states, priorities, ages, wiki batch states.

The domain names them in English (Znuny's names, which also go into
history, exports and the command line); the pages show them translated.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_babel import lazy_gettext, ngettext

from tickets.age import age_parts
from tickets.models import PRIORITY_NAMES

_STATES = {
    "new": lazy_gettext("new"),
    "open": lazy_gettext("open"),
    "pending reminder": lazy_gettext("pending reminder"),
    "pending auto close": lazy_gettext("pending auto close"),
    "closed successful": lazy_gettext("closed successful"),
    "closed unsuccessful": lazy_gettext("closed unsuccessful"),
    "merged": lazy_gettext("merged"),
}
_PRIORITIES = {
    1: lazy_gettext("very low"),
    2: lazy_gettext("low"),
    3: lazy_gettext("normal"),
    4: lazy_gettext("high"),
    5: lazy_gettext("very high"),
}
assert set(_PRIORITIES) == set(PRIORITY_NAMES)
#: A wiki batch's states (``wikibridge.wiki.batches.BATCH_STATES``).
_BATCH_STATES = {
    "queued": lazy_gettext("queued"),
    "running": lazy_gettext("running"),
    "paused": lazy_gettext("paused"),
    "stopped": lazy_gettext("stopped"),
    "done": lazy_gettext("done"),
    "cancelled": lazy_gettext("cancelled"),
}


def state_label(state: str) -> str:
    """A ticket state as the reader says it (an unknown one as it is)."""
    return str(_STATES.get(state, state))


def batch_state_label(state: str) -> str:
    """A wiki batch's state as the reader says it (an unknown one as it is)."""
    return str(_BATCH_STATES.get(state, state))


def priority_label(priority: int) -> str:
    """Znuny's label for a priority, e.g. ``3 normal``, translated."""
    name = _PRIORITIES.get(priority)
    return f"{priority} {name}" if name is not None else str(priority)


def age_text(since: dt.datetime, now: dt.datetime | None = None) -> str:
    """How old something is: ``38 minutes``, ``2 hours 5 minutes``, translated."""
    words = {
        "day": lambda n: ngettext("%(num)d day", "%(num)d days", n),
        "hour": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
        "minute": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
    }
    return " ".join(words[unit](n) for n, unit in age_parts(since, now))


def init_app(app: Flask) -> None:
    """Offer ``state_label`` and ``batch_state_label`` to every template."""
    app.jinja_env.filters["state_label"] = state_label
    app.jinja_env.filters["batch_state_label"] = batch_state_label
