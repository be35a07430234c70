"""Reading page titles that volunteers type or paste (titles or URLs).

A title is checked with MediaWiki's own rules (``MediaWikiTitleCodec``)
whichever way it came: typed, or taken from a URL and percent-decoded
first. So ``…/wiki/File:A.jpg%7CFile:B.jpg`` is refused like the typed
``File:A.jpg|File:B.jpg``, instead of being stored as a title no wiki has.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

#: Characters MediaWiki never allows in a title (``$wgLegalTitleChars`` lacks them).
FORBIDDEN = "#<>[]|{}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffd]")
#: Percent-encoding left after decoding once: MediaWiki refuses it in a title.
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
#: An HTML character reference (``&amp;``, ``&#124;``): refused by MediaWiki too.
_ENTITY = re.compile(r"&(?:[A-Za-z0-9\x80-\uffff]+|#[0-9]+|#x[0-9A-Fa-f]+);")
_RELATIVE = re.compile(r"^\.\.?(?:/|$)|/\.\.?(?:/|$)")
#: The longest title MediaWiki stores, in UTF-8 bytes (namespace prefix not counted).
MAX_TITLE_BYTES = 255


class TitleProblem(Enum):
    """Why something is not a page title (the web layer words each in the reader's language)."""

    EMPTY = "empty"
    FORBIDDEN_CHARACTER = "forbidden character"
    CONTROL_CHARACTER = "control character"
    PERCENT_ENCODING = "percent-encoding"
    HTML_ENTITY = "HTML entity"
    RELATIVE_PATH = "relative path"
    TILDES = "tildes"
    TOO_LONG = "too long"
    FOREIGN_URL = "not one of our wikis"


class TitleError(ValueError):
    """What was typed is not a page of a configured wiki.

    :param problem: which rule it broke.
    :param text: what was typed or pasted.
    :param detail: the offending characters, when there are some.
    """

    def __init__(self, message: str, problem: TitleProblem, text: str, detail: str = "") -> None:
        super().__init__(message)
        self.problem = problem
        self.text = text
        self.detail = detail


def _canonical(title: str) -> str:
    title = " ".join(title.replace("_", " ").split())
    if ":" in title:
        ns, _, rest = title.partition(":")
        if ns.lower() in ("file", "image"):
            title = "File:" + rest.strip()[:1].upper() + rest.strip()[1:]
    return title[:1].upper() + title[1:]


def normalise(title: str) -> str:
    """MediaWiki's canonical form: underscores as spaces, first letter upper case."""
    return _canonical(unquote(title))


def check_title(title: str, text: str | None = None) -> str:
    """``title`` (already decoded) in canonical form, if MediaWiki would accept it.

    :param text: what the volunteer gave, for the message (default ``title``).
    :raises TitleError: naming the rule the title breaks.
    """
    given = title if text is None else text
    entity = _ENTITY.search(title)
    if entity:
        # Before the forbidden characters: "&#124;" is an entity, not a "#".
        raise TitleError(
            f"{given!r} is not a valid page title: HTML entities (&…;) may not occur in a title",
            TitleProblem.HTML_ENTITY,
            given,
            entity.group(0),
        )
    forbidden = "".join(dict.fromkeys(c for c in title if c in FORBIDDEN))
    if forbidden:
        raise TitleError(
            f"{given!r} is not a valid page title: {forbidden} may not occur in a title",
            TitleProblem.FORBIDDEN_CHARACTER,
            given,
            forbidden,
        )
    control = _CONTROL.search(title)
    if control:
        raise TitleError(
            f"{given!r} is not a valid page title: it contains the control character "
            f"U+{ord(control.group(0)):04X}",
            TitleProblem.CONTROL_CHARACTER,
            given,
            f"U+{ord(control.group(0)):04X}",
        )
    encoded = _ENCODED.search(title)
    if encoded:
        raise TitleError(
            f"{given!r} is not a valid page title: percent-encoding (%XX) may not occur in a title",
            TitleProblem.PERCENT_ENCODING,
            given,
            encoded.group(0),
        )
    canonical = _canonical(title)
    rest = canonical.partition(":")[2] if canonical.startswith("File:") else canonical
    if not rest.strip(" :"):
        raise TitleError(f"{given!r} names no page", TitleProblem.EMPTY, given)
    if _RELATIVE.search(canonical):
        raise TitleError(
            f"{given!r} is not a valid page title: it is a relative path (./ or ../)",
            TitleProblem.RELATIVE_PATH,
            given,
        )
    if "~~~" in canonical:
        raise TitleError(
            f"{given!r} is not a valid page title: three tildes (~~~) may not occur in a title",
            TitleProblem.TILDES,
            given,
        )
    if len(rest.encode()) > MAX_TITLE_BYTES:
        raise TitleError(
            f"{given!r} is not a valid page title: longer than {MAX_TITLE_BYTES} bytes",
            TitleProblem.TOO_LONG,
            given,
        )
    return canonical


def page_from_input(text: str, wikis: dict[str, dict[str, Any]], default: str) -> tuple[str, str]:
    """Return ``(wiki, title)`` for a title or a URL of one of ``wikis``.

    :raises TitleError: not a page title MediaWiki would accept, or not a
        page of a wiki this desk works with.
    """
    text = text.strip()
    if not text:
        raise TitleError("type a page title or paste its address", TitleProblem.EMPTY, text)
    if not text.lower().startswith(("http://", "https://")):
        # The forbidden characters are checked before decoding too: "%7C" typed
        # is a "|" decoded, but a typed "|" is one already.
        if any(c in text for c in FORBIDDEN):
            check_title(text)
        return default, check_title(unquote(text), text)
    url = urlsplit(text)
    for name, conf in wikis.items():
        article = urlsplit(str(conf.get("article_url", "")))
        api = urlsplit(str(conf.get("api_url", "")))
        if url.netloc not in (article.netloc, api.netloc):
            continue
        if article.path and url.path.startswith(article.path) and len(url.path) > len(article.path):
            return name, check_title(unquote(url.path[len(article.path) :]), text)
        titles = parse_qs(url.query).get("title")
        if titles:
            # parse_qs has decoded it already: decoding again would let "%257C" through.
            return name, check_title(titles[0], text)
    raise TitleError(
        f"{text} is not a page of a wiki this desk works with", TitleProblem.FOREIGN_URL, text
    )
