"""Sanitising HTML mail: nothing active survives, and the work is bounded."""

from __future__ import annotations

import bisect
import re

import nh3
import pytest

from tickets.html import MAX_DEPTH, STRAY_LIMIT, escape_stray_brackets, limit_depth, sanitise

DATA_LINKS = [
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="  data:text/html,x">x</a>',
    '<a href="\tDaTa:text/html,x">x</a>',
    '<a href="da\tta:text/html,x">x</a>',
    '<a href="da\nta:text/html,x">x</a>',
    '<a href="da&#x74;a:text/html,x">x</a>',
    '<a href="da&#9;ta:text/html,x">x</a>',
    '<a href="data&colon;text/html,x">x</a>',
    '<a href="&#x64;&#x61;&#x74;&#x61;&#x3a;text/html,x">x</a>',
    '<a href="&#100ata:text/html,x">x</a>',
    "<a href=data:text/html,x>x</a>",
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<img src="DaTa:image/svg+xml,<svg onload=alert(1)>">',
    '<img src=" data:image/gif;base64,R0lGOD">',
    '<img srcset="data:image/png;base64,iVBORw0KGgo= 1x">',
    '<blockquote cite="data:text/html,x">q</blockquote>',
]


@pytest.mark.parametrize("markup", DATA_LINKS)
def test_data_urls_are_removed(markup):
    clean = sanitise(f"<p>before {markup} after</p>")
    assert not re.search(r"data\s*:", clean, re.IGNORECASE), clean
    assert "before" in clean and "after" in clean


def test_ordinary_links_stay():
    clean = sanitise(
        '<a href="https://commons.wikimedia.org/wiki/File:X.jpg">file</a>'
        '<a href="mailto:a@example.org">mail</a><img src="cid:part1@example.org">'
    )
    assert 'href="https://commons.wikimedia.org/wiki/File:X.jpg"' in clean
    assert 'href="mailto:a@example.org"' in clean
    assert 'src="cid:part1@example.org"' in clean


def _depth(markup: str) -> int:
    depth = deepest = 0
    for closing, _name in re.findall(r"<(/?)(div|span|b)\b[^>]*>", markup):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


def test_deep_nesting_is_cut_before_the_sanitiser(monkeypatch):
    seen: list[str] = []
    real = nh3.clean

    def spy(markup: str, **kwargs: object) -> str:
        seen.append(markup)
        # Never hand the real sanitiser the unbounded input: its time grows
        # with the square of the nesting depth.
        return real(markup, **kwargs) if _depth(markup) <= MAX_DEPTH else ""  # type: ignore[arg-type]

    monkeypatch.setattr(nh3, "clean", spy)
    n = 100_000
    clean = sanitise("<html><body>" + "<div>" * n + "Hello deep" + "</div>" * n + "</body></html>")
    assert len(seen) == 1 and _depth(seen[0]) <= MAX_DEPTH
    assert "Hello deep" in clean


def test_limit_depth_keeps_shallow_markup_as_it_is():
    markup = (
        '<table><tr><td><div class="x"><p>one<p>two<br>three</div></td></tr></table>'
        "<ul><li>a<li>b</ul><!-- note --><b>bold</b> &amp; text"
    )
    assert limit_depth(markup) == markup


def test_limit_depth_drops_only_what_is_too_deep():
    markup = "<div>" * 10 + "<span>x</span>" + "</div>" * 10 + "<p>after</p>"
    cut = limit_depth(markup, max_depth=4)
    assert cut == "<div>" * 4 + "x" + "</div>" * 4 + "<p>after</p>"


def test_unclosed_paragraphs_do_not_count_as_nesting():
    markup = "<div>" + "<p>para" * 1000 + "</div>"
    assert limit_depth(markup, max_depth=4) == markup


# Unterminated tags, comments and declarations: Python's html.parser (3.11)
# rescans from each of them, and html5ever compares every attribute of a tag
# with every other; 120 KB of "<a " took five minutes to turn into text.
STRAY = {
    "unclosed start tags": "<a " * 40_000,
    "unclosed end tags": "</a" * 40_000,
    "unclosed declarations": "<![" * 40_000,
    "unclosed comments": "<!--x" * 40_000,
    "brackets in text": "x<y " * 40_000,
    "a tag of many attributes": "<a " + " ".join(f"a{i}" for i in range(40_000)) + ">",
}


def _unterminated(markup: str) -> int:
    """'<' that open no tag closed before the next '<' (what the parsers rescan from)."""
    opens = [m.start() for m in re.finditer("<", markup)]
    closes = [m.start() for m in re.finditer(">", markup)]
    count = 0
    for n, i in enumerate(opens):
        k = bisect.bisect_left(closes, i)
        gt = closes[k] if k < len(closes) else None
        lt = opens[n + 1] if n + 1 < len(opens) else None
        if gt is None or (lt is not None and lt < gt) or gt - i > 8192:
            count += 1
    return count


@pytest.mark.parametrize("name", list(STRAY))
def test_stray_brackets_are_escaped(name):
    markup = "<p>start</p>" + STRAY[name] + "<p>end</p>"
    fixed = escape_stray_brackets(markup)
    assert _unterminated(fixed) == 0
    assert fixed.startswith("<p>start</p>") and fixed.endswith("<p>end</p>")


def test_a_few_stray_brackets_leave_the_markup_alone():
    markup = '<p>1 < 2 and <a title="x<y" href="https://example.org">a link</a></p>'
    assert escape_stray_brackets(markup) == markup


@pytest.mark.parametrize("name", list(STRAY))
def test_the_parsers_get_no_stray_brackets(name, monkeypatch):
    from email.message import EmailMessage

    from tickets import mail

    given: list[str] = []
    real_text, real_clean = mail.html_to_text, nh3.clean

    def text_spy(markup: str) -> str:
        given.append(markup)
        return real_text(markup) if _unterminated(markup) <= STRAY_LIMIT else ""

    def clean_spy(markup: str, **kwargs: object) -> str:
        given.append(markup)
        return real_clean(markup, **kwargs) if _unterminated(markup) <= STRAY_LIMIT else ""  # type: ignore[arg-type]

    monkeypatch.setattr(mail, "html_to_text", text_spy)
    monkeypatch.setattr(nh3, "clean", clean_spy)
    msg = EmailMessage()
    msg["Subject"] = "stray"
    msg.set_content("<p>Hello there</p>" + STRAY[name], subtype="html")
    parsed = mail.parse(msg.as_bytes())
    assert parsed.html is not None
    clean = sanitise(parsed.html)
    assert len(given) == 2 and all(_unterminated(g) <= STRAY_LIMIT for g in given)
    assert parsed.body.startswith("Hello there") and "Hello there" in clean
