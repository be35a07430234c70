"""``wikibridge mail import PATH...``: an old archive (mbox files, Maildir folders) in."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

EX_TEMPFAIL = 75  # sysexits.h: some messages were not stored; run again


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def import_command(paths: tuple[Path, ...]) -> None:
    """Store every message of mbox files and Maildir folders, as intake stores mail.

    Routed and threaded like new mail; a subject's [Ticket#N] keeps its old
    number when no ticket here has it.  Running it again stores nothing twice,
    and a run that was stopped resumes.  A progress bar on standard error, a
    summary on standard output; exits 75 when some messages could not be
    stored (run it again to retry them).
    """
    from wikibridge.mail.archive import ArchiveError, count, import_archives

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        total = count(paths)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    with click.progressbar(length=total, label="importing", file=sys.stderr, show_pos=True) as bar:
        report = import_archives(
            app.extensions["db_engine"], app.config, paths, progress=bar.update
        )
    click.echo(report.summary())
    if report.failed:
        sys.exit(EX_TEMPFAIL)
