"""``wikibridge wiki``: tag files from the command line, with a progress bar."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

wiki_cli = AppGroup("wiki", help="Act on the wikis for tickets.")

#: Exit codes: every page ended well; some page failed; the batch waits (login, wiki away).
EXIT_OK, EXIT_FAILED, EXIT_LATER = 0, 1, 75


def _volunteer_login(db: Any, username: str) -> str:
    """The id of ``username``'s most recent live login (its OAuth token edits)."""
    from tickets.models import utcnow
    from wikibridge.sessions import LoginSession

    row = db.scalars(
        select(LoginSession)
        .where(
            LoginSession.username == username,
            LoginSession.credentials.is_not(None),
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > utcnow(),
        )
        .order_by(LoginSession.created_at.desc())
    ).first()
    if row is None:
        raise click.ClickException(
            f"{username} has no live login: they must log in to the desk first"
        )
    return str(row.id)


@wiki_cli.command("tag")
@click.argument("ticket")
@click.argument("titles", nargs=-1, required=True)
@click.option("--wiki", "wiki_name", help="Wiki of the titles (default: the first configured).")
@click.option("--pending", is_flag=True, help="Mark the files pending instead of confirmed.")
@click.option(
    "--licence", default="", help="Licence to add with the permission, e.g. CC-BY-SA-4.0."
)
@click.option("--user", help="Edit as this volunteer (their live login), not as the bot.")
@click.option("--dry-run", is_flag=True, help="Show each page's change; save nothing.")
def tag(
    ticket: str,
    titles: tuple[str, ...],
    wiki_name: str | None,
    pending: bool,
    licence: str,
    user: str | None,
    dry_run: bool,
) -> None:
    """Tag TITLE... (titles or addresses; "-" reads them from standard input) with TICKET.

    Prints one line per page, "TITLE<TAB>STATUS<TAB>MESSAGE", and a progress
    bar on standard error. Exits 0 when every page ended well, 1 when some
    failed, 75 when the batch must wait (login needed, wiki away).
    """
    from tickets.tickets import ticket_by_number
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import create_batch
    from wikibridge.wiki.credentials import bot_configured
    from wikibridge.wiki.plans import CONFIRM, PENDING
    from wikibridge.wiki.titles import TitleError, page_from_input

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    wikis: dict[str, Any] = app.config["WIKIS"]
    wiki_name = wiki_name or next(iter(wikis))
    if wiki_name not in wikis:
        raise click.BadParameter(f"not a configured wiki: {wiki_name}", param_hint="--wiki")
    if titles == ("-",):
        titles = tuple(line.strip() for line in sys.stdin if line.strip())
    pages: list[tuple[str, str]] = []
    for text in titles:
        try:
            pages.append(page_from_input(text, wikis, wiki_name))
        except TitleError as exc:
            raise click.BadParameter(str(exc), param_hint="TITLE") from exc
    kind = PENDING if pending else CONFIRM
    with new_session(app) as db:
        found = ticket_by_number(db, ticket)
        if found is None:
            raise click.ClickException(f"no ticket {ticket}")
        if dry_run:
            _dry_run(app, found.number, pages, kind, licence)
            return
        if user is None and not bot_configured(app.config):
            raise click.UsageError("no bot account is configured: name a volunteer with --user")
        login_id = _volunteer_login(db, user) if user else None
        links = [_link_for(db, found, wiki, title) for wiki, title in pages]
        batches = create_batch(
            db,
            found,
            links,
            kind,
            user or "command line",
            login_id,
            as_bot=user is None,
            licence=licence,
        )
        db.commit()
        ids = [b.id for b in batches]
    sys.exit(_run_with_bar(app, ids, len(pages)))


@wiki_cli.command("resume")
@click.argument("batch_id", type=int)
def resume(batch_id: int) -> None:
    """Run what is left of batch BATCH_ID here (one a worker left behind)."""
    from tickets.models import WikiBatch
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import FINAL

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        if batch is None:
            raise click.ClickException(f"no batch {batch_id}")
        left = sum(a.status not in FINAL for a in batch.actions)
        if batch.status == "paused":
            raise click.ClickException(
                f"batch {batch_id} waits for {batch.requested_by} to log in again"
            )
        if batch.status in ("done", "cancelled"):
            raise click.ClickException(f"batch {batch_id} is {batch.status}: nothing to resume")
        if batch.status == "stopped":
            batch.status, batch.message = "queued", "resumed from the command line"
            db.commit()
    sys.exit(_run_with_bar(app, [batch_id], left))


@wiki_cli.command("cancel")
@click.argument("batch_id", type=int)
@click.option("--by", "username", default="admin", show_default=True, help="Who cancels (history).")
def cancel_command(batch_id: int, username: str) -> None:
    """Give up the pages batch BATCH_ID has left; edits already made stay.

    Only a waiting batch (queued, paused, stopped) is cancelled; a running
    one is refused (exit 1).
    """
    from tickets.models import WikiBatch
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import cancel

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session(app) as db:
        if db.get(WikiBatch, batch_id) is None:
            raise click.ClickException(f"no batch {batch_id}")
        cancelled = cancel(db, batch_id, username)
    if cancelled is None:
        raise click.ClickException(f"batch {batch_id} is running: cancel it once it waits")
    click.echo(f"batch {batch_id}: {cancelled} page(s) cancelled")


#: What ``wiki batches`` can filter on: every state of a batch.
BATCH_STATUSES = ("queued", "running", "paused", "stopped", "done", "cancelled")


@wiki_cli.command("batches")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(BATCH_STATUSES),
    help="Only batches in this state (repeatable); default: all but done.",
)
@click.option("--ticket", "number", help="Only the batches of this ticket.")
@click.option("--limit", default=100, show_default=True, help="At most this many, newest first.")
def batches(statuses: tuple[str, ...], number: str | None, limit: int) -> None:
    """List wiki batches, one per line, for an admin to see what waits.

    Columns, tab-separated: batch id, ticket, wiki, kind, status, requested by,
    pages finished/total, last change (UTC), message. A "stopped" batch waits
    for ``wikibridge wiki resume``; a "paused" one for its volunteer's login; a
    "cancelled" one had its pages left given up.
    """
    from tickets.models import Ticket, WikiBatch
    from wikibridge.db import new_session
    from wikibridge.wiki.batches import progress

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    query = select(WikiBatch).order_by(WikiBatch.id.desc()).limit(limit)
    shown = statuses or tuple(s for s in BATCH_STATUSES if s != "done")
    query = query.where(WikiBatch.status.in_(shown))
    with new_session(app) as db:
        if number is not None:
            ticket_id = db.scalars(select(Ticket.id).where(Ticket.number == number)).first()
            if ticket_id is None:
                raise click.ClickException(f"no ticket {number}")
            query = query.where(WikiBatch.ticket_id == ticket_id)
        for batch in db.scalars(query):
            counts = progress(batch)
            message = " ".join(batch.message.split())
            click.echo(
                f"{batch.id}\t{batch.ticket.number}\t{batch.wiki}\t{batch.kind}\t"
                f"{batch.status}\t{'bot for ' if batch.as_bot else ''}{batch.requested_by}\t"
                f"{counts.total - counts.left}/{counts.total}\t"
                f"{batch.changed_at:%Y-%m-%d %H:%M}\t{message}"
            )


@wiki_cli.command("writes")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(
        ("queued", "running", "paused", "stopped", "failed", "done", "unchanged", "cancelled")
    ),
    help="Only writes in this state (repeatable); default: those that wait or failed.",
)
@click.option("--purpose", help='Only the writes of this purpose, e.g. "application:12".')
@click.option("--limit", default=500, show_default=True, help="At most this many, newest first.")
def writes(statuses: tuple[str, ...], purpose: str | None, limit: int) -> None:
    """List page writes (sections, lines, pages), one per line.

    Columns, tab-separated: write id, status, wiki, page, op, section,
    purpose, requested by ("bot for NAME" for the bot), attempts, revision,
    last change (UTC), message. A "stopped" or "failed" write waits for
    ``wikibridge wiki write-retry``; a "paused" one for its volunteer's login.
    """
    from tickets.wiki_writes import UNSETTLED, listing
    from wikibridge.db import new_session

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session(app) as db:
        for write in listing(db, statuses or UNSETTLED, purpose, limit):
            message = " ".join(write.message.split())
            who = f"{'bot for ' if write.as_bot else ''}{write.requested_by}"
            click.echo(
                f"{write.id}\t{write.status}\t{write.wiki}\t{write.title}\t{write.op}\t"
                f"{write.section}\t{write.purpose}\t{who}\t{write.attempts}\t"
                f"{write.revision or ''}\t{write.changed_at:%Y-%m-%d %H:%M}\t{message}"
            )


@wiki_cli.command("write-retry")
@click.argument("write_id", type=int)
@click.option("--by", "username", default="admin", show_default=True, help="Who retries.")
def write_retry(write_id: int, username: str) -> None:
    """Queue write WRITE_ID again (paused, stopped or failed) and make it here.

    Prints "ID<TAB>STATUS<TAB>MESSAGE". Exits 0 when the write is done or
    was already there, 1 when it failed or stopped again, 75 when it must
    wait (its volunteer's login, an earlier write, the wiki away).
    """
    from tickets.wiki_writes import RETRYABLE, SUCCEEDED, WikiWrite, retry_write
    from wikibridge.db import new_session
    from wikibridge.wiki.faults import WikiUnavailable
    from wikibridge.wiki.writes import run_write

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session(app) as db:
        write = db.get(WikiWrite, write_id)
        if write is None:
            raise click.ClickException(f"no write {write_id}")
        if write.status in RETRYABLE:
            retry_write(db, write_id, username)
        elif write.status != "queued":
            raise click.ClickException(f"write {write_id} is {write.status}: nothing to retry")
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


def _link_for(db: Any, ticket: Any, wiki: str, title: str) -> Any:
    from tickets.models import PageLink

    link = db.scalars(
        select(PageLink).where(
            PageLink.ticket_id == ticket.id, PageLink.wiki == wiki, PageLink.title == title
        )
    ).first()
    if link is None:
        link = PageLink(ticket=ticket, wiki=wiki, title=title, linked_by="command line")
        db.add(link)
    return link


def _run_with_bar(app: Any, batch_ids: list[int], total: int) -> int:
    from wikibridge.wiki.batches import WikiUnavailable, run_batch

    outcomes: list[str] = []
    code = EXIT_OK
    with click.progressbar(
        length=total,
        label="Editing",
        file=sys.stderr,
        show_pos=True,
        item_show_func=lambda title: title,
    ) as bar:

        def on_page(action: Any) -> None:
            outcomes.append(action.status)
            click.echo(f"{action.link.title}\t{action.status}\t{action.message}")
            bar.update(1, action.link.title)

        for batch_id in batch_ids:
            try:
                status = run_batch(app, batch_id, on_page=on_page)
            except WikiUnavailable as exc:
                click.echo(f"batch {batch_id}: {exc}", err=True)
                return EXIT_LATER
            if status == "paused":
                click.echo(f"batch {batch_id} paused: the volunteer must log in again", err=True)
                code = EXIT_LATER
            elif status == "stopped":
                click.echo(f"batch {batch_id} stopped: {_message_of(app, batch_id)}", err=True)
                code = EXIT_LATER
            elif status == "busy":
                click.echo(f"batch {batch_id} is being run by a worker", err=True)
                code = EXIT_LATER
            elif status == "lost":
                click.echo(
                    f"batch {batch_id} was taken over by another runner (this one waited "
                    "too long); it finishes the pages left",
                    err=True,
                )
                code = EXIT_LATER
    if code == EXIT_OK and any(o in ("failed", "conflict") for o in outcomes):
        code = EXIT_FAILED
    counts = {o: outcomes.count(o) for o in dict.fromkeys(outcomes)}
    click.echo(", ".join(f"{n} {o}" for o, n in counts.items()) or "nothing to do", err=True)
    return code


def _message_of(app: Any, batch_id: int) -> str:
    """The batch's message, on one line."""
    from tickets.models import WikiBatch
    from wikibridge.db import new_session

    with new_session(app) as db:
        batch = db.get(WikiBatch, batch_id)
        return " ".join(batch.message.split()) if batch is not None else ""


def _dry_run(app: Any, number: str, pages: list[tuple[str, str]], kind: str, licence: str) -> None:
    from tickets.models import utcnow
    from wikibridge.wiki.diff import line_diff
    from wikibridge.wiki.plans import plan_edit, template_names
    from wikibridge.wiki.reads import ReadError, read_pages

    names = template_names(app.config)
    for wiki in dict.fromkeys(w for w, _t in pages):
        titles = [t for w, t in pages if w == wiki]
        try:
            snaps = read_pages(app.config["WIKIS"][wiki], titles)
        except ReadError as exc:
            raise click.ClickException(str(exc)) from exc
        for title in titles:
            plan = plan_edit(
                kind, snaps[title], number, names, licence=licence, today=utcnow().date()
            )
            click.echo(f"{title}\t{plan.verdict}\t{plan.message}")
            for line in line_diff(snaps[title].text, plan.text) if plan.text else []:
                mark = {"added": "+", "removed": "-", "gap": "@@", "context": " "}[line.kind]
                click.echo(f"  {mark} {line.text}")
