"""Finding active content in rendered HTML: scripts, event handlers, script URLs.

The desk's own pages carry scripts only from ``/static/`` (its Content
Security Policy forbids inline ones); anything else that could run in a
browser counts as a finding.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Attributes whose value a browser may follow or run as a URL.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcset"}
)
#: Elements that load or run something on their own.
ACTIVE_ELEMENTS = frozenset({"object", "embed", "applet", "base", "frame", "frameset"})
_SCHEME_NOISE = re.compile(r"[\x00-\x20]+")


def _scheme(value: str) -> str:
    """What a browser would take as the URL's scheme (whitespace and controls dropped)."""
    plain = _SCHEME_NOISE.sub("", value).lower()
    return plain.split(":", 1)[0] if ":" in plain else ""


class _Scanner(HTMLParser):
    def __init__(self, own_frames: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.own_frames = own_frames

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        where = f"<{tag} {' '.join(f'{n}={v!r}' for n, v in attrs)}>"
        if tag == "script" and not values.get("src", "").startswith("/static/"):
            self.findings.append(f"script: {where}")
        if tag in ACTIVE_ELEMENTS and not (tag == "base" and set(values) == {"target"}):
            self.findings.append(f"active element: {where}")
        if tag == "iframe" and not values.get("src", "").startswith(self.own_frames):
            self.findings.append(f"foreign frame: {where}")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.findings.append(f"meta refresh: {where}")
        for name, value in values.items():
            if name.startswith("on"):
                self.findings.append(f"event handler: {where}")
            if name == "srcdoc":
                self.findings.append(f"srcdoc: {where}")
            scheme = _scheme(value) if name in URL_ATTRIBUTES else ""
            # Images from data: URLs are inert (the CSP allows them for the desk's own).
            if scheme in ("javascript", "vbscript") or (scheme == "data" and tag != "img"):
                self.findings.append(f"script URL: {where}")

    handle_startendtag = handle_starttag


def active_content(html: str, own_frames: tuple[str, ...] = ("/tickets/",)) -> list[str]:
    """Every piece of ``html`` that a browser could run, beyond the desk's own scripts."""
    scanner = _Scanner(own_frames)
    scanner.feed(html)
    scanner.close()
    return scanner.findings
