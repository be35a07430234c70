"""Sections of a talk-like page, and recognising a post whose signature the wiki expanded.

A section runs from its heading line to the next heading of the same or a
higher level (its subsections belong to it), as MediaWiki's section editing
counts it. Headings are compared with their surrounding spaces and doubled
spaces ignored. Headings inside ``<nowiki>``, ``<pre>`` or comments are not
told apart: the pages the desk writes do not have them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(={1,6})(.+?)\1[ \t]*(?:<!--.*?-->[ \t]*)*$", re.MULTILINE)
#: ``~~~`` (name), ``~~~~`` (name and time), ``~~~~~`` (time): expanded on save.
_SIGNATURE = re.compile(r"~{3,5}")


@dataclass(frozen=True)
class Section:
    """Where a section is in a page's text."""

    heading: str
    level: int
    #: Offset of the heading line's first character.
    start: int
    #: Offset just after the heading line (its newline included).
    body_start: int
    #: Offset where the next section of the same or a higher level starts (or the end).
    end: int

    def body(self, page: str) -> str:
        """The section's text below its heading."""
        return page[self.body_start : self.end]


def normal_heading(heading: str) -> str:
    """A heading as compared: trimmed, inner spaces single, ``_`` kept as written."""
    return " ".join(heading.split())


def sections(page: str) -> list[Section]:
    """Every section of ``page``, in order."""
    found = list(_HEADING.finditer(page))
    out = []
    for n, match in enumerate(found):
        level = len(match.group(1))
        end = len(page)
        for later in found[n + 1 :]:
            if len(later.group(1)) <= level:
                end = later.start()
                break
        body_start = match.end() + 1 if page[match.end() : match.end() + 1] == "\n" else match.end()
        out.append(
            Section(
                heading=normal_heading(match.group(2)),
                level=level,
                start=match.start(),
                body_start=body_start,
                end=end,
            )
        )
    return out


def sections_headed(page: str, heading: str) -> list[Section]:
    """The sections of ``page`` headed ``heading``, in order."""
    wanted = normal_heading(heading)
    return [s for s in sections(page) if s.heading == wanted]


def saved_form(text: str) -> str:
    """``text`` as MediaWiki stores it: ``\\r\\n`` as ``\\n``, trailing spaces of the end gone."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def posted(text: str) -> re.Pattern[str]:
    """A pattern finding ``text`` once saved: each signature mark stands for its expansion.

    A signature expands to one line's worth of links and a date, so the part
    of the text before, between and after the marks must be there as written,
    and each mark matches whatever stands on that line instead.
    """
    parts = _SIGNATURE.split(saved_form(text).strip())
    return re.compile(r"[^\n]+?".join(re.escape(part) for part in parts))
