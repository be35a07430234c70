"""Suggesting the file pages a mail is about, from its text.

Senders name their files in many ways: a title (``File:Harbour.jpg``, or with
their wiki's own prefix, ``Datei:``, ``Fichier:``…), a link to the page, a link
to the image itself on upload.wikimedia.org, or just the name their camera gave
it (``IMG_1234.JPG``).  All of them become ``(wiki, "File:…")`` pairs that a
volunteer confirms before anything is done with them.

URLs are read first and then blanked out (keeping every offset), so that the
title inside a link is not found a second time, wrongly decoded, by the
patterns for plain titles and names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from wikibridge.wiki.titles import TitleError, normalise, page_from_input

EXTENSIONS: tuple[str, ...] = (
    *("jpg", "jpeg", "png", "gif", "svg", "tif", "tiff", "webp", "pdf"),
    *("ogg", "ogv", "webm", "mp3", "wav", "flac", "djvu", "stl"),
)
_EXTENSION = r"\.(?:" + "|".join(EXTENSIONS) + r")(?![\w-])(?!\.\w)"
# The file namespace in the languages of the wikis volunteers write from.
_PREFIXES: tuple[str, ...] = (
    *("File", "Image", "Datei", "Fichier", "Archivo", "Immagine", "Bestand", "Plik"),
    *("Arquivo", "Файл"),
)
_PREFIX = "(?:" + "|".join(_PREFIXES) + ")"

_URL = re.compile(r"https?://[^\s<>\"'\[\]{}|]+", re.IGNORECASE)
# File:Name.jpg: a name starts right after the colon and ends at the first
# extension; it stays on one line and holds no character a title cannot.
_TITLE = re.compile(
    r"(?<![\w])"
    + _PREFIX
    + r"\s*:(?P<name>[^\s|\[\]{}<>#/:][^\n|\[\]{}<>#/]{0,200}?"
    + _EXTENSION
    + ")",
    re.IGNORECASE,
)
# IMG_1234.JPG: a name without spaces, not part of a path, an address or an
# inline image reference ("cid:image001.png@01D6…").
_BARE = re.compile(
    r"(?<![\w./:@%-])(?P<name>[A-Za-z0-9][\w.()-]{0,200}?" + _EXTENSION + r")(?!@)",
    re.IGNORECASE,
)
_LOCAL_PREFIX = re.compile(r"^\s*" + _PREFIX + r"\s*:", re.IGNORECASE)
_UPLOAD = re.compile(r"^/wikipedia/commons/(?:thumb/)?[0-9a-f]/[0-9a-f]{2}/(?P<name>[^/]+)")
_TRAILING = ".,;:!?'\""
_INVALID = re.compile(r"[<>\[\]{}|#\n]")


def _file_title(name_or_title: str) -> str | None:
    """``File:…`` in canonical form for a title with any file prefix, or a bare name."""
    rest = _LOCAL_PREFIX.sub("", name_or_title, count=1)
    title = normalise("File:" + rest)
    if title == "File:" or _INVALID.search(title) or len(title.encode()) > 255:
        return None
    return title


def _trim(url: str) -> str:
    """A URL without the punctuation of the sentence around it."""
    while url:
        # A ")" closes the sentence's parenthesis unless the URL opened one.
        unbalanced = url.endswith(")") and url.count(")") > url.count("(")
        if url[-1] in _TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _desktop(url: str) -> str:
    """The desktop URL for a mobile one: commons.m.wikimedia.org -> commons.wikimedia.org."""
    parts = urlsplit(url)
    labels = parts.netloc.split(".")
    if len(labels) > 2 and labels[1].lower() == "m":
        labels.pop(1)
    return urlunsplit((parts.scheme, ".".join(labels), parts.path, parts.query, parts.fragment))


def _from_url(
    url: str, wikis: dict[str, dict[str, Any]], default_wiki: str
) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.netloc.lower() == "upload.wikimedia.org":
        match = _UPLOAD.match(parts.path)
        if match is None or "commons" not in wikis:
            return None
        title = _file_title(unquote(match.group("name")))
        return ("commons", title) if title else None
    try:
        wiki, title = page_from_input(_desktop(url), wikis, default_wiki)
    except (TitleError, ValueError):
        return None
    if not _LOCAL_PREFIX.match(title):
        return None
    file_title = _file_title(title)
    return (wiki, file_title) if file_title else None


def _found(
    text: str, wikis: dict[str, dict[str, Any]], default_wiki: str
) -> Iterator[tuple[int, str, str]]:
    """``(offset, wiki, title)`` for every file named in ``text``, in no order."""
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        page = _from_url(url, wikis, default_wiki)
        if page is not None:
            yield match.start(), *page
    # Blank what was read (offsets stay) so it is not read again below.
    text = _URL.sub(lambda m: " " * len(m.group(0)), text)
    for match in _TITLE.finditer(text):
        title = _file_title(match.group(0))
        if title:
            yield match.start(), default_wiki, title
    text = _TITLE.sub(lambda m: " " * len(m.group(0)), text)
    for match in _BARE.finditer(text):
        title = _file_title(match.group("name"))
        if title:
            yield match.start(), default_wiki, title


def suggest_pages(
    text: str, wikis: dict[str, dict[str, Any]], default_wiki: str, limit: int = 100
) -> list[tuple[str, str]]:
    """File pages named in a mail's text, as ``(wiki, title)`` pairs.

    :param text: the mail's text (quoted replies included: harmless).
    :param wikis: the ``WIKIS`` setting (name -> ``article_url``, ``api_url``…).
    :param default_wiki: the wiki of titles and bare file names.
    :param limit: at most this many pairs, the first ones named.
    :return: pairs in order of first appearance, each once; titles in
        canonical form (``File:Harbour at dawn.jpg``).
    """
    if not isinstance(text, str) or limit <= 0:
        return []
    pages: list[tuple[str, str]] = []
    for _, wiki, title in sorted(_found(text, wikis, default_wiki), key=lambda f: f[0]):
        if (wiki, title) not in pages:
            pages.append((wiki, title))
            if len(pages) >= limit:
                break
    return pages
