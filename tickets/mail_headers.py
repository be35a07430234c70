"""Header values as ``email.policy.default`` reads them, without its parser for plain ones.

The standard library's header registry builds a full parse tree for every
value it is asked for; for a sender, a subject and a Message-ID, which differ
in every message, that was half of the time spent parsing a short message.
Most values are plain (``Anna <anna@example.org>``, a subject of ASCII words
and RFC 2047 encoded words, ``<id@host>``), and for those the registry's
answer can be written down directly.  Each function here returns exactly the
string the registry's header object would be (``str(header)``), or ``None``
when the value is anything but plain: then the caller asks the registry.
``tests/unit/test_mail_headers.py`` compares them with the registry on
generated values.
"""

from __future__ import annotations

import re

# The registry's own decoder of encoded words (private, untyped): the same
# bytes become the same text, whatever the charset or the damage.
from email import _encoded_words  # type: ignore[attr-defined]

from tickets.lazy_regex import LazyPattern

# Printable ASCII, space and tab: no control characters, no 8-bit bytes
# (which the parser holds as surrogates), no line breaks once unfolded.
_PLAIN = LazyPattern(r"[\t\x20-\x7e]*")
_WHITESPACE = LazyPattern(r"([ \t]+)")
_HEX = frozenset("0123456789abcdefABCDEF")
# A whole token that is one encoded word the registry reads as one: no "?"
# inside (so its split at "?=" finds the end), no language ("*").
_ENCODED_WORD = LazyPattern(r"=\?[^?*\s]+\?[bBqQ]\?[^?\s]*\?=")

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_ADDR_SPEC = rf"{_DOT_ATOM}@{_DOT_ATOM}"
# A quoted word without backslashes or encoded words; its content is kept as written.
_QUOTED = r'"[\x20-\x21\x23-\x5b\x5d-\x7e]*"'
_WORD = rf"(?:{_ATEXT}|{_QUOTED})"
_MAILBOX = LazyPattern(
    rf"[ \t]*(?:(?P<phrase>{_WORD}(?:[ \t]+{_WORD})*)[ \t]*<(?P<angle>{_ADDR_SPEC})>"
    rf"|(?P<bare>{_ADDR_SPEC}))[ \t]*(?P<comma>,?)"
)
_PHRASE_WORD = LazyPattern(rf"{_ATEXT}|{_QUOTED}")
_MESSAGE_ID = LazyPattern(rf"<{_ADDR_SPEC}>")
# What makes the registry quote a display name (email's SPECIALS).
_SPECIALS = frozenset('()<>@,:;."[]\\')


# A MIME type and parameters without comments, encoded words or RFC 2231
# continuations: ``text/plain; charset=utf-8``, ``multipart/mixed; boundary="b"``.
# (Tokens without "*", "'" and "%", which start RFC 2231's forms.)
_MIME_WORD = r"[!#$&+.^_`{|}~0-9A-Za-z-]+"
_QUOTED_VALUE = r'"([\x20\x21\x23-\x5b\x5d-\x7e]+)"'
_PARAMETER = LazyPattern(rf";[ ]?({_MIME_WORD})=(?:({_MIME_WORD})|{_QUOTED_VALUE})")
_CONTENT_TYPE = LazyPattern(rf"{_MIME_WORD}/{_MIME_WORD}(?:{_PARAMETER.pattern})*")


_DISPOSITION = LazyPattern(rf"{_MIME_WORD}(?:{_PARAMETER.pattern})*")


class Disposition(str):
    """A plain Content-Disposition as the registry's header has it: its text and its type."""

    content_disposition: str


def content_type(value: object) -> str | None:
    """A Content-Type as ``str()`` of the registry's header: every value quoted.

    Read without the registry, a multipart message's Content-Type (its
    boundary makes it unlike any other) costs a tenth of parsing it.
    """
    return _parameterised(value, _CONTENT_TYPE)


def content_disposition(value: object) -> Disposition | None:
    """A Content-Disposition as the registry's header, for what the email package reads of it.

    Its text (``str()``, every value quoted) and ``content_disposition``,
    the type in lower case (all ``EmailMessage.is_attachment`` looks at).
    """
    text = _parameterised(value, _DISPOSITION)
    if text is None:
        return None
    header = Disposition(text)
    header.content_disposition = text.split(";", 1)[0].lower()
    return header


def _parameterised(value: object, head: LazyPattern) -> str | None:
    text = _unfolded(value)
    if text is None or "=?" in text or head.fullmatch(text) is None:
        return None
    start = text.find(";")
    if start < 0:
        return text
    found = list(_PARAMETER.finditer(text, start))
    if len({match.group(1).lower() for match in found}) < len(found):
        return None  # a name twice: the registry keeps one of them
    parameters = "".join(
        f'; {match.group(1)}="{match.group(2) if match.group(2) is not None else match.group(3)}"'
        for match in found
    )
    return text[:start] + parameters


def _unfolded(value: object) -> str | None:
    """The value as the registry sees it (line breaks removed), if plain ASCII."""
    if not isinstance(value, str):
        return None
    value = value.replace("\r", "").replace("\n", "")
    return value if _PLAIN.fullmatch(value) else None


def unstructured(value: object) -> str | None:
    """A Subject, In-Reply-To, References … as ``str()`` of the registry's header.

    Encoded words are decoded by the standard library's own decoder, and
    the white space between two of them is dropped, as the registry does.
    """
    text = _unfolded(value)
    if text is None:
        return None
    if "=?" not in text:
        return text
    parts = _WHITESPACE.split(text)
    out: list[str] = []
    # Token kinds so far, as the registry's parse tree has them.
    encoded_before = False
    for i, part in enumerate(parts):
        if i % 2:  # white space
            out.append(part)
            continue
        if not part:
            continue
        if not part.startswith("=?"):
            if "=?" in part:
                return None  # an encoded word inside a word: the registry splits it
            out.append(part)
            encoded_before = False
            continue
        if _ENCODED_WORD.fullmatch(part) is None:
            return None
        encoded = part[part.index("?", part.index("?", 2) + 1) + 1 : -2]
        if encoded.startswith("=") and not (len(encoded) > 2 and _HEX.issuperset(encoded[1:3])):
            return None  # the registry would not see an encoded word here
        try:
            decoded = _encoded_words.decode(part)[0]
        except Exception:  # noqa: BLE001 - whatever the registry makes of it
            return None
        if encoded_before and i >= 2 and out and parts[i - 1]:
            out[-1] = ""  # white space between encoded words is not text
        out.append(decoded)
        encoded_before = True
    result = "".join(out)
    return result if _is_encodable(result) else None


def _is_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates: the registry replaces them
        return False
    return True


def message_id(value: object) -> str | None:
    """A Message-ID as ``str()`` of the registry's header, when it is one plain ``<id>``."""
    text = _unfolded(value)
    if text is None or _MESSAGE_ID.fullmatch(text) is None:
        return None
    return text


def addresses(value: object) -> str | None:
    """An address header (From, To, Cc) as ``str()`` of the registry's header.

    Plain mailboxes only, separated by commas: ``addr@host`` or ``Name
    <addr@host>``, the name of atoms and quoted words (no comments, groups,
    encoded words or escapes).
    """
    found = _plain_mailboxes(value)
    return None if found is None else ", ".join(_mailbox(match) for match in found)


def address_specs(value: object) -> list[str] | None:
    """The bare addresses of a header of plain mailboxes (see :func:`addresses`).

    What ``email.utils.getaddresses`` finds in the value, and in what
    :func:`addresses` makes of it; ``None`` when the value is not that plain.
    """
    found = _plain_mailboxes(value)
    if found is None:
        return None
    return [match.group("angle") or match.group("bare") for match in found]


def _plain_mailboxes(value: object) -> list[re.Match[str]] | None:
    text = _unfolded(value)
    if text is None or "=?" in text or not text.strip():
        return None
    found: list[re.Match[str]] = []
    pos = 0
    while True:
        match = _MAILBOX.match(text, pos)
        if match is None:
            return None
        pos = match.end()
        found.append(match)
        if not match.group("comma"):
            break
    return found if pos == len(text) else None


def _mailbox(match: re.Match[str]) -> str:
    bare = match.group("bare")
    if bare is not None:
        return bare
    words = _PHRASE_WORD.findall(match.group("phrase"))
    name = " ".join(w[1:-1] if w.startswith('"') else w for w in words)
    address = match.group("angle")
    if not name:
        return address
    if not _SPECIALS.isdisjoint(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"
