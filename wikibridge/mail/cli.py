"""``wikibridge mail …``: the ways in, and the tools to understand the routing."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from wikibridge.mail.pipe import first_line

mail_cli = AppGroup("mail", help="Mail intake and routing.")
policy_cli = AppGroup("policy", help="The routing policy: show, try, switch on, history.")
mail_cli.add_command(policy_cli)


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@mail_cli.command("deliver", with_appcontext=False)
@click.option("--queue", "queue", default=None, help="Put a new ticket in this queue.")
def deliver_command(queue: str | None) -> None:
    """Store one RFC 822 message from standard input; print its ticket number.

    Exits 0 once the message is durably stored and 75 (EX_TEMPFAIL) when it
    could not be stored, so the mail system delivers it again later.  A
    message over MAIL_MAX_BYTES is stored unread, its raw bytes kept (exit 0,
    and a line on standard error says so).
    """
    from wikibridge.mail.pipe import deliver

    # The console script normally takes the fast path in wikibridge.cli.main;
    # this is the same delivery when run through Flask's CLI machinery.
    sys.exit(deliver(sys.stdin.buffer.read(), queue))


def _load_policy_file(path: Path) -> Any:
    from tickets.routing import Policy

    try:
        return Policy.from_document(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


@mail_cli.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Try this policy (JSON, as `mail policy show` prints) instead of the active one.",
)
@click.option("--explain", is_flag=True, help="Add a fourth column: language and reason.")
def classify_command(files: tuple[Path, ...], policy_file: Path | None, explain: bool) -> None:
    """Show where each message would go, storing nothing: FILE<TAB>QUEUE<TAB>RULE."""
    from sqlalchemy.exc import SQLAlchemyError

    from tickets.intake import decide
    from tickets.mail import parse
    from tickets.policies import active_policy
    from tickets.routing import Policy
    from wikibridge.db import new_session
    from wikibridge.mail.store import detector_for

    app = _app()
    with new_session(app) as db:
        session: Any = db
        try:
            policy: Policy = active_policy(db, app.config["MAIL_DOMAIN"])
        except SQLAlchemyError as exc:
            # Without the store, follow-ups and duplicates cannot be seen;
            # the other rules still can.
            click.echo(
                f"warning: database unavailable ({first_line(exc)}); "
                "follow-up and duplicate rules not checked",
                err=True,
            )
            db.rollback()
            session = None
            policy = Policy(domain=app.config["MAIL_DOMAIN"])
        if policy_file is not None:
            policy = _load_policy_file(policy_file)
        detector = detector_for(policy.languages)
        failed = False
        for path in files:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                click.echo(f"{path}: {exc.strerror}", err=True)
                failed = True
                continue
            decision, _ticket = decide(session, parse(raw), policy, detector)
            line = f"{path}\t{decision.queue}\t{decision.rule}"
            if explain:
                line += f"\t{decision.language or '-'}: {decision.reason}"
            click.echo(line)
        db.rollback()
    if failed:
        sys.exit(1)


@mail_cli.command("corrections")
@click.option("--days", type=int, default=None, help="Only the last N days.")
def corrections_command(days: int | None) -> None:
    """Report which routing rule misrouted what, from volunteers' moves."""
    from tickets.moves import correction_report
    from wikibridge.db import new_session

    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days) if days else None
    with new_session(_app()) as db:
        report, moves = correction_report(db, since)
    click.echo(f"{'RULE':<14}{'ROUTED':>8}{'MOVED':>8}{'RATE':>8}")
    for row in report:
        click.echo(f"{row.rule:<14}{row.routed:>8}{row.corrected:>8}{row.rate:>8.1%}")
    if moves:
        click.echo("\nMOVES (rule, from, to, count):")
        for rule, old, new, count in moves:
            click.echo(f"{rule}\t{old}\t{new}\t{count}")


@policy_cli.command("show")
def policy_show() -> None:
    """Print the active policy as JSON (edit it, try it with `classify --policy`)."""
    from tickets.policies import active_policy
    from wikibridge.db import new_session

    app = _app()
    with new_session(app) as db:
        policy = active_policy(db, app.config["MAIL_DOMAIN"])
    click.echo(json.dumps(policy.to_document(), indent=2, ensure_ascii=False))


@policy_cli.command("activate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default="", help="Why (kept with the version).")
@click.option("--by", "actor", default="cli", help="Who is switching it on.")
def policy_activate(file: Path, note: str, actor: str) -> None:
    """Switch on the policy in FILE (the previous versions are kept)."""
    from tickets.policies import activate
    from wikibridge.db import new_session

    policy = _load_policy_file(file)
    with new_session(_app()) as db:
        row = activate(db, policy, actor, note)
        db.commit()
        click.echo(f"routing policy version {row.id} is active")


@policy_cli.command("history")
def policy_history() -> None:
    """List the saved policy versions, newest first."""
    from tickets.policies import history
    from wikibridge.db import new_session

    with new_session(_app()) as db:
        for row in history(db):
            mark = "*" if row.active else " "
            click.echo(
                f"{mark} {row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.created_by}\t{row.note}"
            )


def register_transports() -> None:
    """Add the LMTP and IMAP commands (imported here: the pipe never needs them)."""
    from wikibridge.mail.fetch_command import fetch_command
    from wikibridge.mail.import_command import import_command
    from wikibridge.mail.lmtp import lmtp_command

    mail_cli.add_command(lmtp_command)
    mail_cli.add_command(fetch_command)
    mail_cli.add_command(import_command)
