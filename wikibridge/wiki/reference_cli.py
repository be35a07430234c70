"""``wikibridge references``: find the pages that cite tickets, and import known old tickets."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

references_cli = AppGroup("references", help="Which wiki pages cite which ticket.")
known_cli = AppGroup("known", help="Tickets of an older system, known to be real.")
references_cli.add_command(known_cli)


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _wikis(app: Flask, chosen: tuple[str, ...]) -> list[str]:
    wikis: dict[str, Any] = app.config["WIKIS"]
    for name in chosen:
        if name not in wikis:
            raise click.BadParameter(f"not a configured wiki: {name}", param_hint="--wiki")
    return list(chosen or wikis)


@contextmanager
def _bar(label: str) -> Iterator[Any]:
    """A progress bar on standard error that learns its length as the scan goes."""
    bar: Any = None
    shown = 0

    def report(progress: Any) -> None:
        nonlocal bar, shown
        if bar is None and progress.total:
            bar = click.progressbar(
                length=progress.total, label=label, file=sys.stderr, show_pos=True
            )
            bar.__enter__()
        if bar is not None:
            handled = progress.done + progress.skipped
            step = min(handled, progress.total or handled) - shown
            if step > 0:
                bar.update(step)
                shown += step
        else:
            click.echo(f"{label}: {progress.done} pages read", err=True)

    try:
        yield report
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _summary(progress: Any) -> str:
    recorded = progress.recorded
    return (
        f"{progress.wiki}\t{progress.what}\t{progress.done} pages\t{progress.requests} requests\t"
        f"{recorded.added} added\t{recorded.gone} gone\t{recorded.kept} unchanged"
    )


def _each_wiki(wikis: tuple[str, ...], what: str, work: Any) -> None:
    """Run ``work(app, wiki, report)`` for each chosen wiki, a bar each; exit 75 if one failed."""
    from wikibridge.wiki.reference_scan import ScanError

    app = _app()
    failed = False
    for wiki in _wikis(app, wikis):
        try:
            with _bar(f"{what} {wiki}") as report:
                progress = work(app, wiki, report)
        except ScanError as exc:
            click.echo(f"{wiki}: {exc}; run the {what} again to resume", err=True)
            failed = True
            continue
        click.echo(_summary(progress))
    if failed:
        sys.exit(75)


@references_cli.command("scan")
@click.option("--wiki", "wikis", multiple=True, help="Only this wiki (default: every one).")
@click.option("--restart", is_flag=True, help="Start over instead of resuming a scan.")
def scan_command(wikis: tuple[str, ...], restart: bool) -> None:
    """Read every page citing a ticket; resumes where a killed scan stopped.

    Prints per wiki: WIKI, "scan", pages read, requests, references added,
    gone and unchanged (tab-separated).
    """
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.reference_scan import scan
    from wikibridge.wiki.references import names_from_settings

    def work(app: Flask, wiki: str, report: Any) -> Any:
        return scan(
            site_for(app.config["WIKIS"][wiki]),
            wiki,
            names_from_settings(app.config),
            app.extensions["db_sessionmaker"],
            url_patterns=app.config["REFERENCE_URL_PATTERNS"],
            report=report,
            restart=restart,
        )

    _each_wiki(wikis, "scan", work)


@references_cli.command("sync")
@click.option("--wiki", "wikis", multiple=True, help="Only this wiki (default: every one).")
def sync_command(wikis: tuple[str, ...]) -> None:
    """Follow recent changes since the last sync (or the last scan's start)."""
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.reference_scan import sync
    from wikibridge.wiki.references import names_from_settings

    def work(app: Flask, wiki: str, report: Any) -> Any:
        return sync(
            site_for(app.config["WIKIS"][wiki]),
            wiki,
            names_from_settings(app.config),
            app.extensions["db_sessionmaker"],
            report=report,
        )

    _each_wiki(wikis, "sync", work)


@references_cli.command("of")
@click.argument("ticket")
def of_command(ticket: str) -> None:
    """The pages citing TICKET now: WIKI<TAB>TITLE<TAB>KIND<TAB>REVISION<TAB>FIRST SEEN."""
    from tickets.references import live_references_of_ticket
    from wikibridge.db import new_session

    with new_session(_app()) as db:
        for row in live_references_of_ticket(db, ticket.strip()):
            click.echo(
                f"{row.wiki}\t{row.title}\t{row.kind}\t{row.revision}\t{row.first_seen:%Y-%m-%d}"
            )


@known_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def known_import(path: str) -> None:
    """Import known tickets from a CSV file (columns: number, id, queue, confirmed).

    A header row names the columns (``number`` required; ``id``, ``queue`` and
    ``confirmed`` optional). Importing again updates the rows; nothing is removed.
    """
    from tickets.known import KnownTicketError, import_known
    from wikibridge.db import new_session

    stream = (
        sys.stdin if path == "-" else open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    )
    try:
        with new_session(_app()) as db:
            try:
                outcome = import_known(db, stream, source=path)
            except KnownTicketError as exc:
                raise click.ClickException(str(exc)) from exc
            db.commit()
    finally:
        if stream is not sys.stdin:
            stream.close()
    click.echo(f"{outcome.added} added, {outcome.updated} updated, {outcome.refused} refused")
    for line in outcome.problems[:20]:
        click.echo(line, err=True)


def finding_links(config: Any, finding: Any) -> tuple[str, str, str]:
    """The page, the diff that added (or last kept) the reference, and the ticket, as URLs."""
    row = finding.reference
    wiki = config["WIKIS"].get(row.wiki, {})
    article = str(wiki.get("article_url", ""))
    index = str(wiki.get("api_url", "")).rsplit("/", 1)[0] + "/index.php"
    page = article + row.title.replace(" ", "_") if article else row.title
    diff = f"{index}?diff={row.added_revision or row.revision}"
    desk = str(config.get("DESK_URL") or "").rstrip("/")
    ticket = f"{desk}/tickets/{row.number}" if row.number else ""
    return page, diff, ticket


@references_cli.command("audit")
@click.option("--wiki", "wikis", multiple=True, help="Only this wiki (default: every one).")
@click.option(
    "--authors",
    default=0,
    show_default=True,
    help="First learn who added up to this many pages' references (a request per page).",
)
def audit_command(wikis: tuple[str, ...], authors: int) -> None:
    """References that are malformed, forged or cite tickets that confirm nothing.

    Prints PROBLEM, WIKI, TITLE, REVISION, TICKET (as written), DETAIL, PAGE URL,
    DIFF URL and TICKET URL, tab-separated; exits 1 when there is any.
    """
    from tickets.reference_audit import audit
    from wikibridge.db import new_session
    from wikibridge.wiki.reads import site_for
    from wikibridge.wiki.reference_scan import ScanError, find_authors
    from wikibridge.wiki.references import names_from_settings

    app = _app()
    chosen = _wikis(app, wikis)
    if authors > 0:
        names = names_from_settings(app.config)
        for wiki in chosen:
            try:
                find_authors(
                    site_for(app.config["WIKIS"][wiki]),
                    wiki,
                    names,
                    app.extensions["db_sessionmaker"],
                    limit=authors,
                )
            except ScanError as exc:
                click.echo(f"{wiki}: authors not looked up: {exc}", err=True)
    count = 0
    with new_session(app) as db:
        for finding in audit(db, chosen):
            row = finding.reference
            page, diff, ticket = finding_links(app.config, finding)
            click.echo(
                "\t".join(
                    [
                        finding.problem,
                        row.wiki,
                        row.title,
                        str(row.revision),
                        row.ticket,
                        finding.detail,
                        page,
                        diff,
                        ticket,
                    ]
                )
            )
            count += 1
    click.echo(f"{count} problem(s)", err=True)
    if count:
        sys.exit(1)
