"""The mail pipe reads database URLs exactly as SQLAlchemy does, or leaves them to it.

``mail deliver`` connects with sqlite3 or psycopg alone
(:func:`wikibridge.engine.connect_driver`); a URL it read differently from
the web would store mail in another database.
"""

from __future__ import annotations

import pytest
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import make_url

from wikibridge.engine import POSTGRESQL_OPTIONS, postgresql_params, sqlite_file


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/wikibridge",
        "postgresql+psycopg://desk:p%40ss/word@db.example/wiki%20bridge?sslmode=require",
        "postgresql+psycopg://desk:secret@db.example/wikibridge?application_name=mail",
        "postgresql+psycopg:///wikibridge?host=/var/run/postgresql",
        "postgresql+psycopg://[::1]:5433/wikibridge",
        "postgresql+psycopg://desk@/wikibridge",
        "postgresql+psycopg://db.example",
        "postgresql+psycopg://desk:@db.example/wikibridge",
    ],
)
def test_postgresql_parameters_are_sqlalchemys(url):
    _args, expected = PGDialect_psycopg().create_connect_args(make_url(url))
    # make_engine's connect_args add the durable commits.
    assert postgresql_params(url) == {**expected, "options": POSTGRESQL_OPTIONS}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://desk@db.example/wikibridge",  # SQLAlchemy's default driver, psycopg2
        "postgresql+psycopg2://desk@db.example/wikibridge",
        "postgresql+psycopg://desk@db.example:port/wikibridge",
        "postgresql+psycopg:///wikibridge?host=a:5432&host=b:5432",  # several hosts
        "mysql://desk@db.example/wikibridge",
    ],
)
def test_other_urls_are_left_to_sqlalchemy(url):
    assert postgresql_params(url) is None


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////srv/wikibridge/wikibridge.sqlite3", "/srv/wikibridge/wikibridge.sqlite3"),
        ("sqlite:///instance/wiki%20bridge.sqlite3", "instance/wiki bridge.sqlite3"),
        ("sqlite+pysqlite:////srv/desk.db", "/srv/desk.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:desk.db?mode=ro&uri=true", None),
        ("sqlite:////srv/desk.db?timeout=30", None),
        ("postgresql+psycopg://desk@db.example/wikibridge", None),
    ],
)
def test_sqlite_files_are_sqlalchemys(url, path):
    assert sqlite_file(url) == path
    if path is not None:
        assert make_url(url).database == path
