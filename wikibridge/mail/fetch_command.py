"""``wikibridge mail fetch``: take new mail from the IMAP mailboxes now (cron, systemd, people)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from wikibridge.mail.imap import FetchReport, MailboxSettingsError, fetch_mailbox, mailboxes

EX_TEMPFAIL = 75  # sysexits.h: try again later (cron and systemd timers will)
EX_CONFIG = 78  # sysexits.h: the settings are wrong; retrying will not help


@click.command("fetch")
@click.option("--mailbox", "only", metavar="NAME", default=None, help="Fetch only this mailbox.")
@with_appcontext
def fetch_command(only: str | None) -> None:
    """Store new mail from the mailboxes in IMAP_MAILBOXES; one line per mailbox.

    Exits 0 when every mailbox was read and every message stored, 75
    (EX_TEMPFAIL) when a mailbox could not be read or a message not stored, so
    the next run retries (those messages stay on the server), and 78 when the
    settings are wrong.
    """
    try:
        boxes = mailboxes(current_app.config)
    except MailboxSettingsError as exc:
        click.echo(f"wikibridge: {exc}", err=True)
        sys.exit(EX_CONFIG)
    if only is not None:
        boxes = [box for box in boxes if box.name == only]
        if not boxes:
            known = ", ".join(b.name for b in mailboxes(current_app.config)) or "none"
            raise click.BadParameter(f"no mailbox named {only!r} (configured: {known})")
    if not boxes:
        click.echo("No IMAP mailboxes configured (IMAP_MAILBOXES); nothing to fetch.", err=True)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    reports: list[FetchReport] = []
    for box in boxes:
        report = fetch_mailbox(app, box)
        reports.append(report)
        click.echo(report.summary())
    if not all(report.ok for report in reports):
        sys.exit(EX_TEMPFAIL)
