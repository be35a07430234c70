"""``wikibridge recruiting``: the public page on Meta and the inactivity report, for scripts."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

recruiting_cli = AppGroup("recruiting", help="Recruiting: the public page on Meta, inactivity.")

#: Exit codes, as ``wikibridge wiki write-retry``: written; refused; must wait.
EXIT_OK, EXIT_FAILED, EXIT_LATER = 0, 1, 75


@recruiting_cli.command("publish")
@click.option("--by", default="cli", show_default=True, help="Who to record as asking.")
def publish(by: str) -> None:
    """Put the "Volunteer with us" page on Meta from the settings in force, as the bot.

    For a new installation too: the defaults are published when no settings
    were saved yet. Prints "ID<TAB>STATUS<TAB>MESSAGE" of the write. Exits 0
    when the page is written (or was so already), 1 when the wiki refused,
    75 when the write must wait (the wiki away, an earlier write first).
    """
    from sqlalchemy import func, select

    from tickets.recruiting_settings import RecruitingSettingsVersion, current_settings
    from tickets.wiki_writes import SUCCEEDED, WikiWrite
    from wikibridge import recruiting_sync
    from wikibridge.db import new_session
    from wikibridge.wiki.credentials import bot_configured
    from wikibridge.wiki.faults import WikiUnavailable
    from wikibridge.wiki.writes import run_write

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not bot_configured(app.config):
        # An administrator's edit needs their OAuth login, which a command line has not.
        raise click.ClickException(
            "no bot is configured (BOT_USERNAME, BOT_PASSWORD), and the command line "
            "cannot edit as an administrator: configure the bot, or save the settings "
            "at /admin/recruiting to publish the page as yourself"
        )
    desk = str(app.config.get("DESK_URL") or "")
    if not desk and not app.config.get("SERVER_NAME"):
        raise click.ClickException(
            "set DESK_URL (or SERVER_NAME): the page links to the desk's form to apply"
        )
    with new_session(app) as db:
        settings = current_settings(db)
        if settings.meta_wiki not in app.config.get("WIKIS", {}):
            raise click.ClickException(f"the wiki {settings.meta_wiki!r} is not configured")
        version: int | None = db.scalar(select(func.max(RecruitingSettingsVersion.id)))
        with app.test_request_context("/", base_url=desk or None):
            address = recruiting_sync.apply_address(app)
        (write_id,) = recruiting_sync.public_page_requested(
            db, settings, version, recruiting_sync.Actor(by, None), address, as_bot=True
        )
        db.commit()
    try:
        status = run_write(app, write_id)
    except WikiUnavailable:
        status = "queued"
    with new_session(app) as db:
        write = db.get(WikiWrite, write_id)
        assert write is not None
        click.echo(f"{write.id}\t{write.status}\t{' '.join(write.message.split())}")
    if status in SUCCEEDED:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_FAILED if status in ("failed", "stopped") else EXIT_LATER)


@recruiting_cli.command("inactive")
@click.option(
    "--days", type=click.IntRange(min=0), help="Not seen for this many days (default: the setting)."
)
def inactive(days: int | None) -> None:
    """Team members not seen for a while, one per line, longest unseen first.

    Columns, tab-separated: user name, role, last seen (UTC date, or
    "never"), queues (comma-separated, or "-").
    """
    from tickets.inactivity import inactive_volunteers
    from tickets.models import utcnow
    from tickets.recruiting_settings import current_settings
    from wikibridge.db import new_session

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session(app) as db:
        wanted = current_settings(db).inactivity_days if days is None else days
        for entry in inactive_volunteers(db, wanted, utcnow()):
            seen = entry.last_seen
            click.echo(
                f"{entry.volunteer.username}\t{entry.volunteer.role}\t"
                f"{seen.strftime('%Y-%m-%d') if seen else 'never'}\t"
                f"{','.join(entry.queues) or '-'}"
            )
