"""``wikibridge backup``, ``restore`` and ``archive``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from wikibridge.backup.format import BackupError, BackupReader, DamagedBackup

#: Exit code of ``backup --verify`` for a damaged file (usage errors are 2).
DAMAGED = 1


def _engine():  # type: ignore[no-untyped-def]
    return current_app.extensions["db_engine"]


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--verify",
    is_flag=True,
    help="Check FILE (structure, per-table counts and checksums) instead of writing one.",
)
@with_appcontext
def backup_command(file: Path, verify: bool) -> None:
    """Write a consistent backup of the whole desk to FILE, while it runs.

    With --verify, check FILE without restoring it: exit 0 when it is good,
    1 when it is damaged (the message names the table).
    """
    if verify:
        if not file.is_file():
            raise click.UsageError(f"{file} does not exist")
        try:
            with BackupReader(file) as reader:
                counts = reader.verify()
                manifest = reader.manifest
        except DamagedBackup as exc:
            click.echo(f"{file}: damaged: {exc}", err=True)
            raise SystemExit(DAMAGED) from exc
        click.echo(
            f"{file}: good ({manifest.get('kind')} of {manifest.get('created_at')}, "
            f"{manifest.get('dialect')}, schema {manifest.get('alembic_revision')}, "
            f"{len(counts)} tables, {sum(counts.values())} rows, "
            f"{counts.get('ticket', 0)} tickets)"
        )
        return
    from wikibridge.backup.snapshot import take_backup

    try:
        manifest = take_backup(_engine(), file.resolve())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    click.echo(
        f"{file}: {len(rows)} tables, {sum(rows.values())} rows, "
        f"{rows.get('ticket', 0)} tickets (schema {manifest['alembic_revision']})"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file: Path) -> None:
    """Load the backup (or archive) FILE into this installation's empty database.

    The database may be SQLite or PostgreSQL, whichever the backup came from.
    """
    from wikibridge.backup.restore import restore

    try:
        report = restore(file, current_app.config["DATABASE_URL"])
    except DamagedBackup as exc:
        click.echo(f"{file}: damaged, nothing restored: {exc}", err=True)
        raise SystemExit(DAMAGED) from exc
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    upgraded = "" if report.revision == report.head else f", upgraded to {report.head}"
    click.echo(
        f"restored {sum(report.counts.values())} rows in {len(report.counts)} tables "
        f"({report.counts.get('ticket', 0)} tickets) from a {report.source_dialect} backup "
        f"at schema {report.revision}{upgraded}; counts and checksums match"
    )


@click.command("archive")
@click.option(
    "--closed-before",
    "closed_before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Closed tickets unchanged since before this day (UTC), YYYY-MM-DD.",
)
@click.option("--queue", default=None, help="Only this queue and its subqueues.")
@click.option("--dry-run", is_flag=True, help="List what would be archived; change nothing.")
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive file to write (required without --dry-run).",
)
@click.option("--by", default="cli", show_default=True, help="Who to record as archiving.")
@with_appcontext
def archive_command(
    closed_before: dt.datetime, queue: str | None, dry_run: bool, to: Path | None, by: str
) -> None:
    """Move old closed tickets out of the desk into a verified archive file.

    The file is written and checked before anything is removed; it restores
    into an empty desk with `wikibridge restore`.
    """
    from wikibridge import db
    from wikibridge.backup.archive import archive, plan

    before = closed_before.replace(tzinfo=dt.UTC)
    if not dry_run and to is None:
        raise click.UsageError("--to FILE is required (or list with --dry-run)")
    if not dry_run and to is not None and to.exists():
        raise click.UsageError(f"{to} exists already; archives are never overwritten")
    try:
        if dry_run:
            selection = plan(db.session(), before, queue)
        else:
            assert to is not None
            report = archive(_engine(), to.resolve(), before, queue, by)
            selection = report.selection
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    for ticket in selection.tickets:
        click.echo(f"{ticket.number}\t{ticket.queue.name}\t{ticket.state}\t{ticket.title}")
    for ticket, reason in selection.kept:
        click.echo(f"kept {ticket.number}: {reason}", err=True)
    verb = "would be archived" if dry_run else f"archived to {to} and removed"
    click.echo(f"{len(selection.tickets)} tickets {verb}")
