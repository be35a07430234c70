"""Where a browser may be sent back to after logging in: paths of this site only.

A ``next`` value is read the way a browser would read it in a ``Location``
header (the WHATWG URL parser): tabs and line breaks vanish, leading and
trailing spaces and control characters are dropped, and ``\\`` counts as
``/``. So ``/\\t/evil.example`` and ``/\\evil.example`` are the scheme-relative
``//evil.example`` they become in the browser, and are refused. Percent-encoded
forms of those characters are checked decoded too: some proxy or framework
along the way may decode them, and a same-site path never needs them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

#: What the WHATWG URL parser removes anywhere in a URL.
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
#: What it strips from both ends ("C0 control or space").
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
#: Control characters left inside: no path of ours has them, and a header must not.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How often encoded text is decoded again (``%252F`` → ``%2F`` → ``/``).
_DECODE_ROUNDS = 3


def _as_browser_reads(target: str) -> str | None:
    """``target`` as a browser resolves it, if that is a path of this site; else None."""
    text = _TAB_OR_NEWLINE.sub("", target).strip(_C0_OR_SPACE)
    if _CONTROL.search(text):
        return None
    text = text.replace("\\", "/")
    # One slash, then anything but a second one: "//host" and "/\host" name another site.
    if not text.startswith("/") or text.startswith("//"):
        return None
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return None
    # Dot segments are resolved by the browser: "/.//evil" must not become "//evil".
    segments: list[str] = []
    for segment in parts.path.split("/")[1:]:
        if segment in (".", "%2e", "%2E"):
            continue
        if segment.lower() in ("..", ".%2e", "%2e.", "%2e%2e"):
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    if segments and segments[0] == "":
        return None
    return text


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site as a browser would resolve it, else None.

    :return: the path as the browser would read it (tabs and line breaks
        removed, ``\\`` as ``/``), safe to put in a ``Location`` header.
    """
    if not target:
        return None
    path = _as_browser_reads(target)
    if path is None:
        return None
    decoded = path
    for _ in range(_DECODE_ROUNDS):
        again = unquote(decoded)
        if again == decoded:
            break
        if _as_browser_reads(again) is None or _TAB_OR_NEWLINE.search(again):
            return None
        decoded = again
    return path
