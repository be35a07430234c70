"""A guard: no code path of the service hard-deletes stored data.

A month of tickets was once lost to a stray DELETE; the cheapest defence is
to never write one.  Sessions, tokens and locks are forgotten by updating
their rows, not by deleting them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = [
    re.compile(r"\.delete\("),  # session.delete(obj), query.delete()
    re.compile(r"\bdelete\(\s*[A-Z]\w*\s*\)"),  # sqlalchemy delete(Model)
    re.compile(r"DELETE\s+FROM", re.IGNORECASE),
    re.compile(r"TRUNCATE", re.IGNORECASE),
    re.compile(r"DROP\s+TABLE", re.IGNORECASE),
]
# The sandbox wikis and their OAuth provider are test infrastructure with
# their own throwaway databases; migrations' downgrade steps drop what they
# created.
EXEMPT = ("sandbox/wikibridge_sandbox/", "wikibridge/migrations/")
# The single exception: archiving removes old closed tickets, only after
# writing them to a file and reading that back (``wikibridge archive``).
ARCHIVE = "wikibridge/backup/archive.py"


def test_no_hard_deletes_in_the_service():
    offenders = []
    for package in ("tickets", "wikibridge", "oauth"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EXEMPT) or rel == ARCHIVE:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if any(p.search(line) for p in PATTERNS):
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def test_the_archive_is_the_one_exception_and_deletes_only_after_verifying():
    source = (ROOT / ARCHIVE).read_text()
    assert source.index("reader.verify()") < source.index("_remove_table(conn, table, keys)")
