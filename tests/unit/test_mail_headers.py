"""Header values read without the header registry are the registry's, character for character."""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets import mail_headers

# Pieces that values are made of: plain words, every character the address
# and encoded-word grammars treat specially, encoded words good and broken,
# white space and line breaks.
PIECES = [
    "John",
    "Doe",
    "é",
    "\xff",
    '"',
    "\\",
    ",",
    ";",
    ":",
    ".",
    "@",
    "<",
    ">",
    "(",
    ")",
    "[",
    "]",
    " ",
    "  ",
    "\t",
    "\r\n ",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1d",
    "\x01",
    "=",
    "?",
    "=?",
    "?=",
    "'",
    "_",
    "-",
    "=?utf-8?q?=C3=A9?=",
    "=?utf-8?b?w6k=?=",
    "=?iso-8859-1?q?caf=E9?=",
    "=?bogus?q?x?=",
    "=?utf-8?q?a_b?=",
    "=?utf-8?Q?=ZZ?=",
    "=?utf-8?B?w6?=",
    "=?utf-8*en?q?x?=",
    "=?unknown-8bit?q?=FF?=",
    "=?utf-16?b?2AA=?=",
    "=?utf-8?x?y?=",
    "=?UTF-8?Q??=",
    "=?utf-8?q?=?=",
    "=?utf-8?q?=4?=",
    "=?utf-8?q?=41?=",
    "=?ascii?q?=FF?=",
    "=?gb2312?b?1tA=?=",
    "a@b.c",
    "user.name@example.org",
    "<a@b>",
    "<>",
    '""',
    '"a b"',
    '"a, b"',
    '"a\\"b"',
    "text/plain",
    "multipart/mixed",
    "; charset=",
    "; name*=",
    "utf-8",
    "*0",
    "%",
    "'en'",
    "attachment",
    "; filename=",
]
PLAIN = [
    "Anna <user0@example.net>",
    "info@wikimedia.org",
    '"Doe, John" <j@x.org>',
    '"John Doe" <a@b.c>',
    '"" <a@b.c>',
    '" x " <a@b.c>',
    'John "Q" Doe <a@b.c>',
    "John\t\tDoe<a@b.c>",
    "  a@b.c  ",
    "<a@b.c>",
    "John <a@b.c>, Jane <c@d.e>",
    "a@b.c,d@e.f",
    "O'Brien <o@b.c>",
    "=?utf-8?q?Sch=C3=B6n?= ist es",
    "Re: =?utf-8?b?6Kix?= =?utf-8?b?5Y+v?=",
    "a =?utf-8?q?b?= =?utf-8?q?c?= d",
    "=?utf-8?q?a?=  \t =?utf-8?q?b?=",
    "=?utf-8?q?a?=\r\n =?utf-8?q?b?=",
    "<bench-0-f9c0fa1b1bf1@corpus.example.net>",
    "Re: a plain subject ",
    'text/plain; charset="utf-8"',
    "text/plain; charset=utf-8; format=flowed",
    "text/plain;charset=utf-8",
    'multipart/alternative; boundary="----=_Part_1_2.3"',
    'application/pdf; name="report 1.pdf"',
    "Text/HTML",
    'attachment; filename="p1.jpg"',
    "inline;filename=x.png; size=12",
]
READERS: list[tuple[str, Callable[[object], str | None]]] = [
    ("Subject", mail_headers.unstructured),
    ("References", mail_headers.unstructured),
    ("Delivered-To", mail_headers.unstructured),
    ("Message-ID", mail_headers.message_id),
    ("From", mail_headers.addresses),
    ("To", mail_headers.addresses),
    ("Cc", mail_headers.addresses),
    ("Content-Type", mail_headers.content_type),
    ("Content-Disposition", mail_headers.content_disposition),
]


def registry(name: str, value: str) -> str | None:
    """What ``email.policy.default`` reads (``None``: it cannot read it)."""
    try:
        return str(email.policy.default.header_fetch_parse(name, value))
    except Exception:  # noqa: BLE001 - then the caller reads it the registry's way
        return None


def check(value: str) -> None:
    for name, read in READERS:
        quick = read(value)
        if quick is not None:
            assert quick == registry(name, value), (name, value)
    disposition = mail_headers.content_disposition(value)
    if disposition is not None:
        header = email.policy.default.header_fetch_parse("Content-Disposition", value)
        assert disposition.content_disposition == header.content_disposition
    specs = mail_headers.address_specs(value)
    if specs is not None:
        # getaddresses finds them in the value as it came (Delivered-To, read
        # as unstructured) and in the registry's value of an address header.
        for text in (value.replace("\r", "").replace("\n", ""), registry("To", value)):
            assert text is not None
            assert [a for _, a in email.utils.getaddresses([text]) if a] == specs, value


@pytest.mark.parametrize("value", PLAIN)
def test_plain_values_are_read_without_the_registry(value):
    check(value)
    assert any(read(value) is not None for _, read in READERS)


def test_the_common_ones_take_the_short_way():
    assert mail_headers.addresses("Anna <anna@example.org>") == "Anna <anna@example.org>"
    assert mail_headers.addresses('"Doe, J" <j@x.org>, k@y.org') == '"Doe, J" <j@x.org>, k@y.org'
    assert mail_headers.addresses('"John Doe" <j@x.org>') == "John Doe <j@x.org>"
    assert mail_headers.unstructured("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_ok?=") == "café ok"
    assert mail_headers.message_id("<a.b@c.d>") == "<a.b@c.d>"
    assert mail_headers.content_type("text/plain;charset=utf-8") == 'text/plain; charset="utf-8"'
    assert mail_headers.content_type("text/plain; name*=utf-8''x") is None
    # Left to the registry: comments, groups, 8-bit bytes, broken encoded words.
    assert mail_headers.addresses("a@b.c (Anna)") is None
    assert mail_headers.addresses("team: a@b.c;") is None
    assert mail_headers.unstructured("caf\udce9") is None
    assert mail_headers.unstructured("=?utf-8?q?a?=b") is None


@given(st.lists(st.sampled_from(PIECES + PLAIN), min_size=1, max_size=8).map("".join))
@settings(max_examples=3000, deadline=None)
def test_any_value_read_the_short_way_is_the_registrys(value):
    check(value)


mime_words = st.sampled_from(
    ["text", "plain", "attachment", "x-y", "utf-8", "p1.jpg", "A", "=", ""]
)
mime_values = st.one_of(
    st.lists(mime_words, min_size=1, max_size=3).map("".join),
    st.lists(st.sampled_from([*PIECES[:40], "a b", ";", "/"]), max_size=4).map(
        lambda parts: '"' + "".join(parts) + '"'
    ),
)
mime_parameters = st.tuples(
    st.sampled_from(["; ", ";", " ; ", ";  ", "; \r\n "]),
    st.sampled_from(["charset", "name", "filename", "NAME", "size", "name*", "name*0", "b"]),
    st.sampled_from(["=", " = ", "= "]),
    mime_values,
).map("".join)


@given(
    st.sampled_from(
        ["text/plain", "multipart/mixed", "attachment", "inline", "Text/HTML", "a/b/c"]
    ),
    st.lists(mime_parameters, max_size=4).map("".join),
    st.sampled_from(["", ";", " ", "(c)"]),
)
@settings(max_examples=2000, deadline=None)
def test_mime_headers_read_the_short_way_are_the_registrys(head, parameters, tail):
    check(head + parameters + tail)
