"""Rendering an HTML body as the text a reader sees (for :func:`tickets.text.html_to_text`).

Apart from :mod:`tickets.text` so that ``html.parser`` is imported only for
mail that needs it (a process per message: most mail has a plain part).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tickets.html import VOID_ELEMENTS

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
# Quotes and signatures that mail clients mark in their HTML.
_QUOTE_CLASSES = frozenset(
    {"gmail_quote", "gmail_signature", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"}
)
_SPACES = re.compile(r"[ \t\f\v\r\n\u00a0]+")


class TextRenderer(HTMLParser):
    """Collects the visible, unquoted text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # While skipping, the tag that started it and how deep we are in it:
        # counting only that tag keeps unclosed <p> or <li> from confusing us.
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._pre = 0

    def _starts_skip(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _INVISIBLE_TAGS or tag == "blockquote":
            return True
        for name, value in attrs:
            if name == "class" and value and _QUOTE_CLASSES & set(value.split()):
                return True
            if name == "id" and value in ("divRplyFwdMsg", "appendonsend"):
                return True
        return False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag not in VOID_ELEMENTS and self._starts_skip(tag, attrs):
            self._skip_tag, self._skip_depth = tag, 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "pre":
                self._pre += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None and (tag == "br" or tag in _BLOCK_TAGS):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
                    self.parts.append("\n")
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "pre" and self._pre:
                self._pre -= 1

    def handle_data(self, data: str) -> None:
        if self._skip_tag is not None:
            return
        # HTML source line breaks are just spaces; only tags make lines.
        self.parts.append(data if self._pre else _SPACES.sub(" ", data))
