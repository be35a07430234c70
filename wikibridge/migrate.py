"""Running the Alembic migrations from ``wikibridge db``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from tickets.queues import default_tree, ensure_queues

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head", sql: bool = False) -> None:
    """Bring the database schema up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision, sql=sql)


def seed_queues(session: Session) -> int:
    """Create the routing spec's default queues that are missing; return how many."""
    created = ensure_queues(session, default_tree())
    session.commit()
    return len(created)
