"""The checks of an answer's header fields, and reading Reply-To from a message's start."""

from __future__ import annotations

import zlib

import pytest

from tickets.recipients import (
    HEAD_BYTES,
    FieldProblem,
    _head,
    _reply_to,
    field_problem,
    same_addresses,
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("jane@example.net", None),
        ("Jane Doe <jane@example.net>, bob@example.org", None),
        ('"Doe, Jane" <jane@example.net>', None),
        ("jane@example.net\r\nBcc: x@example.org", FieldProblem.LINE_BREAK),
        ("jane@example.net\n", FieldProblem.LINE_BREAK),
        ("jane@example.net\x00", FieldProblem.CONTROL_CHARACTER),
        ("", FieldProblem.EMPTY),
        ("   ", FieldProblem.EMPTY),
        ("jane", FieldProblem.NOT_AN_ADDRESS),
        ("not an address", FieldProblem.NOT_AN_ADDRESS),
        ("jane@example.net an", FieldProblem.NOT_AN_ADDRESS),
        ("a@b;c@d", FieldProblem.NOT_AN_ADDRESS),
        ("<<<a@b", FieldProblem.NOT_AN_ADDRESS),
    ],
)
def test_address_field(value: str, problem: FieldProblem | None) -> None:
    assert field_problem(value, addresses=True, required=True) is problem


def test_subject_field() -> None:
    assert field_problem("Re: [Ticket#1] Hello", addresses=False, required=False) is None
    assert field_problem("", addresses=False, required=False) is None
    assert field_problem("a\rb", addresses=False, required=False) is FieldProblem.LINE_BREAK
    # A tab is allowed in a subject (it folds like a space).
    assert field_problem("a\tb", addresses=False, required=False) is None


def test_head_from_the_start_of_a_compressed_message() -> None:
    raw = b"From: a@b\r\nReply-To: Jane <jane@example.net>\r\n\r\nBody " + b"x" * 100_000
    start = zlib.compress(raw)[:HEAD_BYTES]
    head = _head("zlib", start)
    assert head is not None and _reply_to(head) == "Jane <jane@example.net>"
    assert _head("none", raw[:HEAD_BYTES]) == raw.split(b"\r\n\r\n")[0]


def test_head_not_in_the_start_read() -> None:
    assert _head("none", b"X-A: " + b"a" * HEAD_BYTES) is None


def test_reply_to_folded_and_encoded() -> None:
    head = b"Reply-To: =?utf-8?q?J=C3=A4ne?= <jane@example.net>,\r\n bob@example.org"
    assert _reply_to(head) == "Jäne <jane@example.net>, bob@example.org"
    assert _reply_to(b"From: a@b") == ""


def test_same_addresses() -> None:
    assert same_addresses("Jane <JANE@example.net>", "jane@example.net")
    assert not same_addresses("jane@example.net", "form@example.org")
