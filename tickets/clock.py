"""The time every stored timestamp is taken from."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (what every timestamp column stores)."""
    return dt.datetime.now(dt.UTC)
