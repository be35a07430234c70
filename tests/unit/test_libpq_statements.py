"""Statements and values as the pipe's libpq connection sends them (no server needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from wikibridge import libpq


def test_named_parameters_become_numbered_in_order_of_first_use():
    command, names = libpq.numbered("SELECT %(b)s, %(a)s FROM t WHERE x = %(b)s AND y LIKE '10%%'")
    assert command == b"SELECT $1, $2 FROM t WHERE x = $1 AND y LIKE '10%'"
    assert names == ("b", "a")
    assert libpq.numbered("SELECT 1") == (b"SELECT 1", ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (None, 0, 0)),
        (True, (b"t", 16, 0)),
        (False, (b"f", 16, 0)),
        (7, (b"7", 20, 0)),
        ("Grüße", ("Grüße".encode(), 0, 0)),
        (b"\x00\xff", (b"\x00\xff", 17, 1)),
        (memoryview(b"ab"), (b"ab", 17, 1)),
        (0.5, (b"0.5", 701, 0)),
        (dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.UTC), (b"2026-12-05 04:00:00+00:00", 1184, 0)),
        (dt.datetime(2026, 12, 5, 4, 0), (b"2026-12-05 04:00:00", 1114, 0)),
    ],
)
def test_values_are_sent_as_psycopg_sends_them(value, expected):
    assert libpq._encode(value) == expected


def test_text_with_nul_and_unknown_types_are_refused():
    with pytest.raises(libpq.DataError, match="NUL"):
        libpq._encode("a\x00b")
    with pytest.raises(TypeError, match="list"):
        libpq._encode([1])


@pytest.mark.parametrize(
    ("raw", "oid", "expected"),
    [
        (b"42", 23, 42),
        (b"t", 16, True),
        (b"f", 16, False),
        (b"\\x00ff", 17, b"\x00\xff"),
        (b"Gr\xc3\xbc\xc3\x9fe", 1043, "Grüße"),
        (b'{"a": 1}', 114, '{"a": 1}'),
        (b"2026-12-05 04:00:00.5+00", 1184, dt.datetime(2026, 12, 5, 4, 0, 0, 500000, dt.UTC)),
        (b"1.5", 701, 1.5),
    ],
)
def test_columns_are_read_by_their_type(raw, oid, expected):
    assert libpq._decode(raw, oid) == expected


def test_a_column_type_not_known_is_refused():
    with pytest.raises(TypeError, match="OID 1700"):
        libpq._decode(b"1.5", 1700)
