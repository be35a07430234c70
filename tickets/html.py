"""Making HTML mail safe to show: no script, no event handlers, no active content.

The sanitiser (nh3, html5ever underneath) needs time growing with the square
of the nesting depth: a mail of 100,000 nested ``<div>`` took a minute and
more.  No mail client nests that deep, so markup deeper than
:data:`MAX_DEPTH` is cut before sanitising: its tags go, its text stays.
Unterminated tags cost the parsers as much (:func:`escape_stray_brackets`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter

# Remote images stay in the markup (a volunteer may ask to load them); the
# page's Content-Security-Policy keeps the browser from fetching them unasked.
# No "data:": a data URL is a document or an image made by the sender, and
# opened from a link it runs as a page of its own.
_URL_SCHEMES = {"http", "https", "mailto", "cid"}


@functools.cache
def _attributes() -> dict[str, set[str]]:
    # Without "cite" (on blockquote, q, del, ins): an address never shown and
    # never checked against the schemes above.  nh3 is imported on first use:
    # most mail has no HTML part, and ``mail deliver`` imports per message.
    import nh3

    return {tag: set(names) - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}


#: Deepest nesting of elements handed to the sanitiser.  Real mail (Outlook's
#: tables in tables, long quoted threads) stays well under 100.
MAX_DEPTH = 256

#: Elements that never contain anything (no end tag follows them).
VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Elements whose content is text up to their end tag, never markup.
_RAW_TEXT = frozenset(
    ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext")
)
# An open one of these is closed by the next of its group (``<p>a<p>b``,
# ``<li>a<li>b``), so a run of them is no nesting.
_IMPLIED_END = {
    "p": "p",
    "li": "li",
    "dt": "d",
    "dd": "d",
    "option": "option",
    "tr": "tr",
    "td": "cell",
    "th": "cell",
}
# "[^<>]*": an attempt stops at the next "<", so no "<" is scanned from twice.
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][^\s/<>]*)[^<>]*>",
    re.DOTALL,
)

#: Longest tag taken as one (a longer one is text): html5ever compares each
#: attribute of a tag with every other.
MAX_TAG_CHARS = 8192
#: Unterminated "<" left as they are; beyond that many, all are escaped.
STRAY_LIMIT = 32
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!?")


def escape_stray_brackets(markup: str) -> str:
    """``markup`` with every "<" that opens no complete tag or comment written ``&lt;``.

    Python's html.parser (before 3.12.11/3.13.5) rescans the rest of the
    document from each unterminated tag, comment or declaration, and
    html5ever's work on them grows the same way: 120 KB of ``<a `` took five
    minutes to become text.  A "<" counts as a tag's when a ">" closes it
    before the next "<", or as a comment's when ``-->`` follows.  Mail with
    :data:`STRAY_LIMIT` unterminated brackets or fewer keeps them ("1 < 2",
    ``title="a<b"``).  A tag longer than :data:`MAX_TAG_CHARS` always becomes
    text.  One pass: each search starts where the last one ended.
    """
    if markup.count("<") <= STRAY_LIMIT and len(markup) <= MAX_TAG_CHARS:
        return markup
    stray: list[int] = []
    too_long: list[int] = []
    gt = lt = -2  # the next ">" and "<" found so far (-1: none left)
    comment_end = -2
    i = markup.find("<")
    while i != -1:
        if markup.startswith("<!--", i):
            if comment_end != -1 and comment_end < i + 4:
                comment_end = markup.find("-->", i + 4)
            if comment_end != -1:
                i = markup.find("<", comment_end + 3)
                continue
            stray.append(i)
            i = markup.find("<", i + 1)
            continue
        if gt != -1 and gt < i:
            gt = markup.find(">", i)
        if lt != -1 and lt <= i:
            lt = markup.find("<", i + 1)
        if gt == -1 or (lt != -1 and lt < gt) or markup[i + 1 : i + 2] not in _TAG_START:
            stray.append(i)
        elif gt - i > MAX_TAG_CHARS:
            too_long.append(i)
        i = lt
    escaped = sorted(too_long + stray) if len(stray) > STRAY_LIMIT else too_long
    if not escaped:
        return markup
    out = []
    pos = 0
    for i in escaped:
        out.append(markup[pos:i])
        out.append("&lt;")
        pos = i + 1
    out.append(markup[pos:])
    return "".join(out)


def limit_depth(markup: str, max_depth: int = MAX_DEPTH) -> str:
    """``markup`` without the start and end tags of elements nested deeper than ``max_depth``.

    A cheap approximation of the HTML parser's stack of open elements, in one
    pass: void elements do not nest, ``<p>``, ``<li>``, ``<td>`` … close their
    predecessor, and an end tag closes up to its element.  It errs towards
    counting too deep, never too shallow; what it drops is structure only,
    and the result still goes through the sanitiser.
    """
    if markup.count("<") <= max_depth:
        return markup  # cannot nest deeper than it has tags
    out: list[str] = []
    stack: list[str] = []
    dropped: Counter[str] = Counter()
    pos = 0
    for match in _TOKEN.finditer(markup):
        if match.start() < pos:
            continue  # inside a raw-text element skipped below
        name = match.group(2)
        if name is None:  # a comment
            continue
        name = name.lower()
        keep = True
        if match.group(1):  # an end tag
            if dropped[name]:
                dropped[name] -= 1
                keep = False
            elif name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        elif name not in VOID_ELEMENTS:
            group = _IMPLIED_END.get(name)
            if group is not None and stack and _IMPLIED_END.get(stack[-1]) == group:
                stack.pop()
            if len(stack) >= max_depth:
                dropped[name] += 1
                keep = False
            else:
                stack.append(name)
        if not keep:
            out.append(markup[pos : match.start()])
            pos = match.end()
        if name in _RAW_TEXT and not match.group(1):
            end = re.compile(rf"</{re.escape(name)}\b", re.IGNORECASE).search(markup, match.end())
            skip_to = end.start() if end else len(markup)
            if keep:
                out.append(markup[pos:skip_to])
            pos = skip_to  # a dropped element's text goes too: it was never shown
    out.append(markup[pos:])
    return "".join(out)


def sanitise(html: str) -> str:
    """Return ``html`` with everything that could run or track removed."""
    import nh3

    return nh3.clean(
        limit_depth(escape_stray_brackets(html)),
        attributes=_attributes(),
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
