"""Intake's SQL text reaches each driver as SQLAlchemy would have sent it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from tickets.sql import pyformat, sqlite_timestamp


def test_named_parameters_become_pyformat_for_psycopg():
    sql = "SELECT name FROM queue WHERE name = :name AND id > :id_2 AND x = 'a::b' AND y LIKE '5%'"
    assert pyformat(sql) == (
        "SELECT name FROM queue WHERE name = %(name)s AND id > %(id_2)s "
        "AND x = 'a::b' AND y LIKE '5%%'"
    )
    assert pyformat("SELECT 1::int, ':00'") == "SELECT 1::int, ':00'"


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2026, 12, 3, 17, 5, 9, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(999, 2, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
    ],
)
def test_sqlite_timestamps_are_written_as_sqlalchemy_writes_them(when):
    process = (
        DateTime(timezone=True).dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    )
    assert process is not None
    assert sqlite_timestamp(when) == process(when)
