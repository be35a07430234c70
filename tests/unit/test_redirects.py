"""The ``next`` of a login: only paths of this site, as a browser would resolve them."""

from __future__ import annotations

import pytest

from wikibridge.web.redirects import same_site_path


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/queues", "/queues"),
        ("/queues/Permissions?state=open&page=2", "/queues/Permissions?state=open&page=2"),
        ("/tickets/2016060210016939#article-3", "/tickets/2016060210016939#article-3"),
        ("/search?q=a%20b", "/search?q=a%20b"),
        ("/queues/Info::de", "/queues/Info::de"),
        ("/tickets/ä", "/tickets/ä"),
        ("/a/./b", "/a/./b"),
        # Tabs and line breaks vanish in the browser, so they go here too.
        ("/que\tues", "/queues"),
        (" /queues ", "/queues"),
        ("/queues\x0b", "/queues"),
        ("/queues\r\nSet-Cookie: a=b", "/queuesSet-Cookie: a=b"),
        ("/./evil.example", "/./evil.example"),  # resolves to /evil.example, here
    ],
)
def test_same_site_paths_pass(target: str, path: str) -> None:
    assert same_site_path(target) == path


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "queues",
        "//evil.example/phish",
        "///evil.example/phish",
        "/\t/evil.example/phish",  # the probe's /%09/evil.example/phish, as received
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
        "/\\evil.example/phish",
        "\\\\evil.example",
        "\\/evil.example",
        "/\\/evil.example",
        " //evil.example",
        "\x00//evil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/%5c%5cevil.example",
        "/%09/evil.example",
        "/%0d%0a/evil.example",
        "/%252F/evil.example",
        "/%25252F%25252Fevil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/.//evil.example",
        "/..//evil.example",
        "/%2e%2e//evil.example",
        "/queues\x7f/x",
        "/queues\x0b/x",
    ],
)
def test_other_sites_and_tricks_refused(target: str | None) -> None:
    assert same_site_path(target) is None
