"""Alembic environment: the URL comes from wikibridge's settings, not alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

import tickets.access  # registers queue_grant on the metadata
import tickets.access_changes  # registers access_change on the metadata
import tickets.applications  # registers the application tables on the metadata
import tickets.recruiting_settings  # registers recruiting_settings on the metadata
import tickets.references  # registers the reference tables on the metadata
import tickets.training  # registers the training tables on the metadata
import tickets.wiki_writes  # noqa: F401 - registers wiki_write on the metadata
import wikibridge.sessions  # noqa: F401 - registers login_session on the metadata
from tickets.models import Base
from wikibridge.engine import make_engine

config = context.config
target_metadata = Base.metadata

#: Objects made by hand in migrations 0007, 0010, 0012 and 0022 (FTS5 tables and
#: their shadow tables, triggers, expression indexes): the models do not
#: describe them.
HIDDEN_PREFIXES = (
    "article_fts",
    "ticket_fts",
    "ix_article_fts",
    "ix_ticket_fts",
    "ix_ticket_customer",
    "ix_ticket_priority",
    "ticket_search",
    "ix_ticket_search",
)


def include_object(
    _object: object, name: str | None, _type: str, _reflected: bool, _compare_to: object
) -> bool:
    """Leave the hand-made search objects out of autogenerate."""
    return not (name or "").startswith(HIDDEN_PREFIXES)


def run_migrations_offline() -> None:
    """Emit SQL without a database (``wikibridge db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the configured database."""
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        assert url, "no database URL"
        engine = make_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode copies a table and drops the old one; with foreign keys
        # on, dropping a table others refer to fails (0020 copies article).
        # Outside any transaction, or SQLite ignores it; checked afterwards.
        dbapi = connection.connection.dbapi_connection
        dbapi.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        # Beware: a copied ticket or article table loses the full-text triggers
        # of 0007_search on SQLite; a migration that batches those tables must
        # create the triggers again (see 0008 for index-only changes without batch).
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        dbapi.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
