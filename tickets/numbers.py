"""Ticket numbers exactly as Znuny's DateChecksum generator makes them.

A number is ``YYYYMMDD`` + a two-digit system id + a daily counter of at least
five digits + one check digit.  Wikimedia's wikis already cite hundreds of
thousands of such numbers, so ours must be interchangeable with them.
"""

from __future__ import annotations

import datetime as dt
import re

_NUMBER_RE = re.compile(r"^\d{16,}$")
#: Numbers cited on the wikis start with a year; anything outside this range is
#: a typo or a different kind of id (Wikimedia's own sanity bounds).
LOWEST = 1980000000000000
HIGHEST = 3000000000000000


def check_digit(digits: str) -> int:
    """Return the DateChecksum check digit for ``digits``.

    Digits are weighted 1, 2, 1, 2, … from the left and summed; the check digit
    is 10 minus the sum modulo 10, where 10 becomes 1.
    """
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(digits))
    digit = 10 - total % 10
    return 1 if digit == 10 else digit


def format_number(day: dt.date, system_id: str, counter: int) -> str:
    """Build the ticket number for the ``counter``-th ticket of ``day``."""
    if not (len(system_id) == 2 and system_id.isdigit()):
        raise ValueError(f"system id must be two digits, not {system_id!r}")
    if counter < 1:
        raise ValueError("the daily counter starts at 1")
    body = f"{day:%Y%m%d}{system_id}{counter:05d}"
    return body + str(check_digit(body))


def is_valid(number: str) -> bool:
    """Tell whether ``number`` is a well-formed ticket number with a correct check digit.

    Swapping two different neighbouring digits changes the check digit (unless
    Znuny's "10 becomes 1" rule makes both 1), and so do most single mistyped
    digits (not those off by 5 in a position weighted 2).
    """
    number = number.strip()
    if not _NUMBER_RE.match(number):
        return False
    if not LOWEST <= int(number[:16]) < HIGHEST:
        return False
    try:
        dt.datetime.strptime(number[:8], "%Y%m%d")
    except ValueError:
        return False
    return check_digit(number[:-1]) == int(number[-1])


def day_of(number: str) -> dt.date:
    """Return the day a ticket number was issued."""
    return dt.datetime.strptime(number[:8], "%Y%m%d").date()
