"""Shared fixtures: the app on SQLite or PostgreSQL, and the real services.

``WIKIBRIDGE_TEST_DATABASE=postgresql`` runs the suite on a throwaway
PostgreSQL database made for this run (``make test`` runs both).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tickets.models import Base
from wikibridge import create_app
from wikibridge.migrate import seed_queues, upgrade

pytest_plugins = ["tests.sandbox_fixtures", "tests.oauth_fixtures", "tests.dovecot"]

PG_ADMIN_URL = os.environ.get(
    "WIKIBRIDGE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _database_kind() -> str:
    return os.environ.get("WIKIBRIDGE_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    """A PostgreSQL database for this run, migrated once, dropped at the end."""
    if _database_kind() != "postgresql":
        yield None
        return
    name = f"wikibridge_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _empty_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, pg_database_url: str | None) -> str:
    """A migrated, empty database for one test (with the default queues)."""
    if pg_database_url:
        _empty_pg(pg_database_url)
        return pg_database_url
    url = f"sqlite:///{tmp_path / 'wikibridge.sqlite3'}"
    upgrade(url)
    return url


def make_test_app(tmp_path: Path, database_url: str, **overrides: Any) -> Flask:
    """An app on ``database_url`` with test settings and seeded queues."""
    settings: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "JOBS_URL": "memory",
        "SECRET_KEY": "test-secret",
        "TOKEN_ENCRYPTION_KEY": "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA=",
        "SERVER_NAME": "wikibridge.test",
        # Pages are read where nothing answers: no test reaches Wikimedia by accident.
        "WIKIS": {
            name: {
                "family": name,
                "code": name,
                "api_url": "http://127.0.0.1:9/w/api.php",
                "article_url": f"https://{name}.wikimedia.org/wiki/",
            }
            for name in ("commons", "meta")
        },
    }
    settings.update(overrides)
    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app(settings)
    with app.app_context():
        from wikibridge import db

        seed_queues(db.session())
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """The app on a fresh database."""
    app = make_test_app(tmp_path, database_url)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()
