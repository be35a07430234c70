"""The migrations build exactly the schema the models describe."""

from alembic import command

from wikibridge.migrate import alembic_config


def test_models_and_migrations_agree(database_url):
    # database_url is already upgraded to head; autogenerate must find nothing.
    command.check(alembic_config(database_url))
