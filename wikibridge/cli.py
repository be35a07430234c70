"""The ``wikibridge`` command: Flask's CLI group plus our areas.

``wikibridge run``, ``routes`` and ``shell`` are Flask's own; ours are grouped
by area: ``db``, ``mail``, ``worker``, ``wiki``, ``volunteers``, ``config``,
``training``, ``recruiting``; ``backup``, ``restore`` and ``archive``
stand alone.
Development tools installed beside it (the sandbox distribution) add theirs
through the ``wikibridge.commands`` entry point group.
"""

from __future__ import annotations

import json
import signal
import threading
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup

from wikibridge import create_app
from wikibridge.backup.cli import archive_command, backup_command, restore_command
from wikibridge.mail.cli import mail_cli, register_transports
from wikibridge.recruiting_cli import recruiting_cli
from wikibridge.training_cli import training_cli
from wikibridge.wiki.cli import wiki_cli
from wikibridge.wiki.reference_cli import references_cli


def _make_app() -> Any:
    return create_app()


#: Entry point group through which other installed distributions add commands.
PLUGIN_GROUP = "wikibridge.commands"


class WikibridgeGroup(FlaskGroup):
    """Flask's command group, plus the commands other installed distributions offer.

    The production install has none; the development distribution in
    ``sandbox/`` adds ``sandbox`` and ``demo``. They are loaded only when
    named (or listed by ``--help``), so ``wikibridge worker`` or ``mail lmtp``
    never import development code, even on a development machine.
    """

    def _plugins(self) -> dict[str, EntryPoint]:
        return {entry.name: entry for entry in entry_points(group=PLUGIN_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Our commands, Flask's, and the plugins' names (not loaded yet)."""
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, loading a plugin's the first time it is named."""
        if cmd_name not in self.commands:
            entry = self._plugins().get(cmd_name)
            if entry is not None:
                self.add_command(entry.load(), cmd_name)
        return super().get_command(ctx, cmd_name)


cli = WikibridgeGroup(
    name="wikibridge",
    create_app=_make_app,
    help="The volunteer response team's help desk, joined to its wikis.",
)

db_cli = AppGroup("db", help="Database schema and seed data.")
config_cli = AppGroup("config", help="Inspect the settings.")
volunteers_cli = AppGroup("volunteers", help="Volunteers, roles and per-queue access.")


@db_cli.command("upgrade")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(sql: bool, revision: str) -> None:
    """Migrate the database to the latest schema and seed the default queues."""
    from wikibridge import db
    from wikibridge.migrate import seed_queues, upgrade

    upgrade(current_app.config["DATABASE_URL"], revision, sql=sql)
    if not sql:
        created = seed_queues(db.session())
        click.echo(f"Database is up to date; {created} default queues created.")


@cli.command("worker")
@click.option("--threads", default=2, show_default=True, help="Jobs run at once.")
def worker(threads: int) -> None:
    """Run background jobs (wiki edits) until stopped with Ctrl-C or SIGTERM."""
    from wikibridge.jobs import jobs_of

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"wikibridge worker: {threads} threads, waiting for jobs")
    jobs_of(app).run_worker(app, threads, stop)


@config_cli.command("show")
def config_show() -> None:
    """Print the effective settings, secrets masked."""
    from wikibridge.config import DEFAULTS, redacted

    shown = {k: v for k, v in current_app.config.items() if k in DEFAULTS}
    click.echo(json.dumps(redacted(shown), indent=2, default=str, sort_keys=True))


@volunteers_cli.command("list")
def volunteers_list() -> None:
    """Every volunteer with role and access."""
    from sqlalchemy import select

    from tickets.access import grants_of
    from tickets.models import Volunteer
    from wikibridge import db

    session = db.session()
    for volunteer in session.scalars(select(Volunteer).order_by(Volunteer.username)):
        access = ", ".join(f"{g.queue.name}={g.rights}" for g in grants_of(session, volunteer))
        click.echo(f"{volunteer.username}\t{volunteer.role}\t{access or '-'}")


@volunteers_cli.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(["volunteer", "admin", "head"]))
@click.option("--by", default="cli", show_default=True, help="Who to record in the access log.")
def volunteers_role(username: str, role: str, by: str) -> None:
    """Make USERNAME a volunteer, an administrator or the head (their sessions end)."""
    from tickets.access import volunteer_named
    from tickets.access_changes import AccessChangeKind, record_change
    from wikibridge import db
    from wikibridge import sessions as login_sessions

    session = db.session()
    volunteer = volunteer_named(session, username)
    old = volunteer.role
    volunteer.role = role
    login_sessions.end_all_for(session, volunteer.id)
    record_change(
        session, actor=by, volunteer=volunteer, kind=AccessChangeKind.ROLE, old=old, new=role
    )
    session.commit()
    click.echo(f"{username} is now {role}")


@volunteers_cli.command("grant")
@click.argument("username")
@click.argument("queue")
@click.argument("rights", default="read,note,answer")
@click.option("--by", default="cli", show_default=True, help="Who to record in the access log.")
def volunteers_grant(username: str, queue: str, rights: str, by: str) -> None:
    """Give USERNAME RIGHTS (read,note,answer,move_into,own or all) on QUEUE and below.

    An applicant given a queue joins the team (role volunteer), as on the
    administrators' page; both steps go into the access log.
    """
    from tickets.access import parse_rights, volunteer_named
    from tickets.access_changes import grant_recorded
    from tickets.queues import queue_by_name
    from wikibridge import db

    session = db.session()
    target = queue_by_name(session, queue)
    if target is None:
        raise click.ClickException(f"no queue {queue!r}")
    try:
        wanted = parse_rights(rights)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    volunteer = volunteer_named(session, username)
    row = grant_recorded(session, volunteer, target, wanted, by)
    session.commit()
    click.echo(f"{username}: {row.rights} on {queue}")


@volunteers_cli.command("revoke")
@click.argument("username")
@click.argument("queue")
@click.option("--by", default="cli", show_default=True, help="Who to record in the access log.")
def volunteers_revoke(username: str, queue: str, by: str) -> None:
    """End USERNAME's access to QUEUE; their open sessions end at once.

    When that was their last queue, their line on the volunteer list on
    Meta is taken off (as the bot; without one, the command says so).
    """
    from tickets.access import grants_of, is_admin, revoke, volunteer_named
    from tickets.access_changes import AccessChangeKind, record_change
    from tickets.queues import queue_by_name
    from tickets.recruiting_settings import current_settings
    from wikibridge import db, recruiting_sync
    from wikibridge import sessions as login_sessions
    from wikibridge.wiki.credentials import bot_configured

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session = db.session()
    target = queue_by_name(session, queue)
    if target is None:
        raise click.ClickException(f"no queue {queue!r}")
    volunteer = volunteer_named(session, username)
    had = [g.queue.name for g in grants_of(session, volunteer)]
    count = revoke(session, volunteer, target, by)
    login_sessions.end_all_for(session, volunteer.id)
    writes: list[int] = []
    left_team = False
    if count:
        record_change(
            session, actor=by, volunteer=volunteer, kind=AccessChangeKind.REVOKE, queue=target.name
        )
        left_team = not grants_of(session, volunteer) and not is_admin(volunteer)
        if left_team and bot_configured(app.config):
            writes = recruiting_sync.membership_ended(
                session,
                volunteer,
                recruiting_sync.listed_queues(session, volunteer, had),
                current_settings(session),
                recruiting_sync.Actor(by, None),
                as_bot=True,
            )
    session.commit()
    recruiting_sync.enqueue(app, writes)
    click.echo(f"{username}: {count} grant(s) on {queue} revoked; sessions ended")
    if writes:
        click.echo(f"{username}: off the volunteer list on Meta (write {writes[0]} queued)")
    elif left_team:
        click.echo(
            f"{username}: no bot is configured; take their line off the volunteer list "
            "on Meta by hand",
            err=True,
        )


cli.add_command(volunteers_cli)
cli.add_command(db_cli)
cli.add_command(mail_cli)
register_transports()
cli.add_command(config_cli)
cli.add_command(wiki_cli)
cli.add_command(references_cli)
cli.add_command(training_cli)
cli.add_command(recruiting_cli)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(archive_command)
