"""Making HTML mail safe to show: no script, no event handlers, no active content."""

from __future__ import annotations

import nh3

# Remote images stay in the markup (a volunteer may ask to load them); the
# page's Content-Security-Policy keeps the browser from fetching them unasked.
_URL_SCHEMES = {"http", "https", "mailto", "cid", "data"}


def sanitise(html: str) -> str:
    """Return ``html`` with everything that could run or track removed."""
    return nh3.clean(html, url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer nofollow")
