"""Ticket references on the sandbox Commons for the audit to find: good ones, one of each bad.

The good ones cite tickets of the "older system" listed in :data:`KNOWN_TICKETS_CSV`
(imported by ``wikibridge demo load``); each bad one is named by the problem
``wikibridge references audit`` should report for it. Problems that need a
ticket of the desk itself (closed unsuccessful, never linked) are shown by
the test suite with tickets it makes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from tickets.numbers import format_number


def _number(year: int, counter: int) -> str:
    return format_number(dt.date(year, 3, 1), "10", counter)


#: Old tickets: confirmed permissions, and one question in Info.
GOOD = [_number(2014, n) for n in range(1, 7)]
INFO = _number(2013, 9)
OLD_ID = "31337"
UNKNOWN = _number(2012, 4242)
_BAD_CHECK = GOOD[0][:-1] + str((int(GOOD[0][-1]) + 1) % 10)

KNOWN_TICKETS_CSV = "number,id,queue,confirmed\n" + "".join(
    [f"{GOOD[0]},{OLD_ID},Permissions,yes\n"]
    + [f"{n},,Permissions,yes\n" for n in GOOD[1:]]
    + [f"{INFO},,Info,no\n"]
)

_FILE = "A sample file for the reference audit.\n\n== Licensing ==\n{cite}\n{{{{Cc-by-sa-4.0}}}}\n"

#: Page title -> wikitext; the bad ones' titles name their problem.
REFERENCE_PAGES: dict[str, str] = {
    **{
        f"File:Audit sample good {i}.jpg": _FILE.format(cite=f"{{{{PermissionTicket|id={n}}}}}")
        for i, n in enumerate(GOOD, 1)
    },
    "File:Audit sample good old id.jpg": _FILE.format(cite=f"See [[otrs:{OLD_ID}]]."),
    "File:Audit sample malformed.jpg": _FILE.format(cite="{{PermissionTicket|id=2016 06 02}}"),
    "File:Audit sample bad check digit.jpg": _FILE.format(
        cite=f"{{{{PermissionTicket|id={_BAD_CHECK}}}}}"
    ),
    "File:Audit sample unknown number.jpg": _FILE.format(
        cite=f"{{{{PermissionTicket|id={UNKNOWN}}}}}"
    ),
    "File:Audit sample unknown id.jpg": _FILE.format(cite="See [[otrs:999999]]."),
    "File:Audit sample not permission.jpg": _FILE.format(
        cite=f"{{{{PermissionTicket|id={INFO}}}}}"
    ),
}

#: What the audit reports for the samples: (problem, title).
EXPECTED_FINDINGS = {
    ("malformed", "File:Audit sample malformed.jpg"),
    ("malformed", "File:Audit sample bad check digit.jpg"),
    ("unknown-number", "File:Audit sample unknown number.jpg"),
    ("unknown-id", "File:Audit sample unknown id.jpg"),
    ("not-permission", "File:Audit sample not permission.jpg"),
}


#: Wikimedia's interwiki prefixes for tickets: ``ticket:`` takes the number,
#: ``otrs:`` and ``vrts:`` the old system's internal id.
_ZOOM = "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom"
INTERWIKI = {
    "ticket": f"{_ZOOM}&TicketNumber=$1",
    "otrs": f"{_ZOOM}&TicketID=$1",
    "vrts": f"{_ZOOM}&TicketID=$1",
}


def install_interwiki(database: Path) -> None:
    """Add :data:`INTERWIKI` to a wiki's interwiki table (MediaWiki 1.39 has no API for it)."""
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as db, db:
        db.executemany(
            "INSERT OR REPLACE INTO interwiki "
            "(iw_prefix, iw_url, iw_api, iw_wikiid, iw_local, iw_trans) "
            "VALUES (?, ?, '', '', 0, 0)",
            list(INTERWIKI.items()),
        )
