"""Reading what people wrote in a section of a discussion page (an application on Meta).

:func:`section_comments` reads the page anonymously and splits the section
into comments at each signature: a link to a user page, user talk page or
contributions (``[[User:Name|…]]``, ``[[User talk:Name|…]]``,
``[[Special:Contributions/1.2.3.4|…]]``) followed on the same line by a
MediaWiki timestamp (``13:05, 3 December 2026 (UTC)``). The signer is the
user of the last such link before the timestamp. Text after the last
signature is one unsigned comment (author "").

The desk's own posts are left out when they carry the desk's marker, a
hidden comment ``<!-- wikibridge:PURPOSE -->`` (see :func:`desk_marker`)
written as the **last thing of the post**, after its signature if it is
signed: everything from the end of the previous comment up to the marker is
the desk's post.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask

from wikibridge.wiki.reads import ReadError, read_pages
from wikibridge.wiki.sections import sections_headed

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TIMESTAMP = re.compile(
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}), (?P<day>\d{1,2}) (?P<month>"
    + "|".join(_MONTHS)
    + r") (?P<year>\d{4}) \((?P<zone>[A-Za-z]{2,5})\)"
)
_USER_LINK = re.compile(
    r"\[\[\s*:?\s*(?:"
    r"(?:user|user[ _]talk|benutzer(?:in)?|benutzer(?:in)?[ _]diskussion)"
    r"\s*:\s*(?P<name>[^|\]\[#/\n]+)"
    r"|special\s*:\s*contrib(?:ution)?s\s*/\s*(?P<address>[^|\]\[\n]+)"
    r")(?:[|#/][^\]\n]*)?\]\]",
    re.IGNORECASE,
)
_MARKER = re.compile(r"<!--\s*wikibridge:[^\n]*?-->")
#: Most characters between two links of one signature ("]] (" and the like).
_SIGNATURE_GAP = 12


class ReadFailed(Exception):
    """The section could not be read; ``reason`` is "unreachable", "no-page" or "no-section"."""

    def __init__(self, message: str, reason: str = "unreachable") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class Comment:
    """One comment in a section: who signed it, its wikitext, and when."""

    author: str
    text: str
    signed_at: dt.datetime | None


def desk_marker(purpose: str) -> str:
    """The hidden comment that ends a post of the desk, so its readers skip it."""
    cleaned = " ".join(purpose.replace("--", "-").replace(">", "").split())
    return f"<!-- wikibridge:{cleaned} -->"


def _user_name(link: re.Match[str]) -> str:
    name = (link.group("name") or link.group("address") or "").replace("_", " ")
    name = " ".join(name.split())
    return name[:1].upper() + name[1:]


def _signed_at(stamp: re.Match[str]) -> dt.datetime | None:
    if stamp.group("zone").upper() != "UTC":
        return None  # a local time zone's offset is not in the signature
    try:
        return dt.datetime(
            int(stamp.group("year")),
            _MONTHS.index(stamp.group("month")) + 1,
            int(stamp.group("day")),
            int(stamp.group("hour")),
            int(stamp.group("minute")),
            tzinfo=dt.UTC,
        )
    except ValueError:
        return None


def _trimmed(text: str) -> str:
    """A comment's wikitext without indentation, or a dash before its signature."""
    text = text.strip()
    text = re.sub(r"^[:*#]+\s*", "", text)
    text = re.sub(r"\s*(?:--|—|–)\s*$", "", text)
    return text.strip()


@dataclass(frozen=True)
class _End:
    """Where something ends a post: a signature's timestamp or the desk's marker."""

    start: int
    end: int
    author: str = ""
    signature_start: int = 0
    signed_at: dt.datetime | None = None
    desk: bool = False


def _signature(body: str, stamp: re.Match[str]) -> _End | None:
    line_start = body.rfind("\n", 0, stamp.start()) + 1
    links = list(_USER_LINK.finditer(body, line_start, stamp.start()))
    if not links:
        return None  # a date in the text, not a signature
    last = links[-1]
    author = _user_name(last)
    start = last.start()
    for link in reversed(links[:-1]):
        if _user_name(link) != author or start - link.end() > _SIGNATURE_GAP:
            break
        start = link.start()
    return _End(
        start=stamp.start(),
        end=stamp.end(),
        author=author,
        signature_start=start,
        signed_at=_signed_at(stamp),
    )


def comments_in(body: str) -> list[Comment]:
    """The comments in a section's text, the desk's marked posts left out."""
    ends = [e for e in (_signature(body, s) for s in _TIMESTAMP.finditer(body)) if e is not None]
    ends += [_End(start=m.start(), end=m.end(), desk=True) for m in _MARKER.finditer(body)]
    ends.sort(key=lambda e: e.end)
    out: list[tuple[int, Comment]] = []
    position = 0
    for end in ends:
        if end.start < position:
            continue  # inside what an earlier end already took
        if end.desk:
            # A marker right after a signature: that signed post was the desk's.
            if out and not body[position : end.start].strip() and out[-1][0] == position:
                out.pop()
        else:
            text = _trimmed(body[position : end.signature_start])
            out.append((end.end, Comment(end.author, text, end.signed_at)))
        position = end.end
    rest = _trimmed(body[position:])
    if rest:
        out.append((len(body), Comment("", rest, None)))
    return [comment for _, comment in out]


def section_comments(app: Flask, wiki: str, title: str, section: str) -> list[Comment]:
    """What others wrote in the section headed ``section`` of ``title`` on ``wiki``.

    Reads anonymously with a short timeout. With several sections of that
    heading, the last one counts (where a new section of the desk would be).

    :raises ReadFailed: the wiki did not answer ("unreachable"), the page
        does not exist ("no-page") or has no such section ("no-section").
    """
    conf: dict[str, Any] = app.config["WIKIS"][wiki]
    try:
        snap = read_pages(conf, [title])[title]
    except ReadError as exc:
        raise ReadFailed(
            f"{wiki} did not answer, so the comments could not be read ({exc})"
        ) from exc
    if not snap.exists:
        raise ReadFailed(f"the page {title} does not exist on {wiki}", "no-page")
    found = sections_headed(snap.text, section)
    if not found:
        raise ReadFailed(
            f'the page {title} on {wiki} has no section headed "{section}"', "no-section"
        )
    return comments_in(found[-1].body(snap.text))
