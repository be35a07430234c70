"""Names and addresses the customer wrote, made fit for a one-line header field."""

from __future__ import annotations

import base64

import pytest

from tickets.recipients import display_name, field_problem, one_line_addresses

QUOTED = 'Say "hi"'


def _word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def test_display_name_decodes_and_keeps_one_line():
    assert display_name(_word("Eve\r\nBcc: spy@evil.example")) == "Eve Bcc: spy@evil.example"
    assert display_name("=?iso-8859-1?q?J=F6rg?=") == "Jörg"
    assert display_name("=?x-unknown?q?abc?=") == "=?x-unknown?q?abc?="
    assert display_name("Plain  Name") == "Plain Name"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("jane@example.net", "jane@example.net"),
        ("Jane Doe <jane@example.net>", "Jane Doe <jane@example.net>"),
        (
            f"{_word('Eve' + chr(13) + chr(10) + 'Bcc: x@y.z')} <eve@example.net>",
            '"Eve Bcc: x@y.z" <eve@example.net>',
        ),
        (
            '"Doe, Jane" <jane@example.net>, bob@example.org',
            '"Doe, Jane" <jane@example.net>, bob@example.org',
        ),
        (_word(QUOTED) + " <q@example.net>", '"Say \\"hi\\"" <q@example.net>'),
    ],
)
def test_one_line_addresses(written: str, expected: str):
    made = one_line_addresses(written)
    assert made == expected
    assert field_problem(made, addresses=True, required=True) is None
