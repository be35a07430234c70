"""Wiki pages of a ticket: linking (typed, suggested, in bulk), preview, tagging, undo."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tickets.access import Right
from tickets.licences import licence_named
from tickets.models import PageAction, PageLink, Ticket, WikiBatch, utcnow
from tickets.tickets import record
from wikibridge import db
from wikibridge.jobs import jobs_of
from wikibridge.web.access import ticket_for
from wikibridge.web.security import logged_in, login_required
from wikibridge.wiki.batches import CANCELLABLE, cancel, create_batch, progress
from wikibridge.wiki.credentials import bot_configured
from wikibridge.wiki.diff import line_diff
from wikibridge.wiki.plans import CONFIRM, PENDING, UNDO, plan_edit, template_names
from wikibridge.wiki.reads import ReadError, category_files, read_pages, user_uploads
from wikibridge.wiki.states import state_of
from wikibridge.wiki.suggest import suggest_pages
from wikibridge.wiki.titles import TitleError, TitleProblem, page_from_input
from wikibridge.wiki.wikitext import licence_template

bp = Blueprint("pages", __name__)

#: Most pages one preview shows (and one batch edits); more go in further batches.
MAX_BATCH = 500


def _wikis() -> dict[str, Any]:
    wikis: dict[str, Any] = current_app.config["WIKIS"]
    return wikis


def _back(number: str, anchor: str = "pages") -> Response:
    return redirect(url_for("queues.zoom", number=number, _anchor=anchor))


def suggestions(ticket: Ticket) -> list[tuple[str, str]]:
    """Files named in the customer's mails that are not linked yet."""
    wikis = _wikis()
    linked = {(link.wiki, link.title) for link in ticket.page_links}
    found: list[tuple[str, str]] = []
    for article in ticket.articles:
        if article.sender_type != "customer":
            continue
        text = "\n".join((article.subject or "", article.body or ""))
        found += suggest_pages(text, wikis, next(iter(wikis)))
    return [page for page in dict.fromkeys(found) if page not in linked][:50]


def statement_licence(ticket: Ticket) -> str:
    """The licence the customer's statement names ("" when none or several)."""
    for article in ticket.articles:
        if article.sender_type == "customer":
            licence = licence_named(article.body or "")
            if licence:
                return licence
    return ""


def pages_context(ticket: Ticket) -> dict[str, Any]:
    """What the zoom's wiki pages section shows."""
    batches = db.session().scalars(
        select(WikiBatch).where(WikiBatch.ticket_id == ticket.id).order_by(WikiBatch.id.desc())
    )
    return {
        "suggested": suggestions(ticket),
        "licence": statement_licence(ticket),
        "bot_available": bot_configured(current_app.config),
        "batches": [(b, progress(b)) for b in batches],
        "cancellable": CANCELLABLE,
    }


def _link(ticket: Ticket, wiki: str, title: str, source: str) -> PageLink | None:
    """Link one page unless it is linked already; return the new link."""
    session = db.session()
    exists = session.scalars(
        select(PageLink).where(
            PageLink.ticket_id == ticket.id, PageLink.wiki == wiki, PageLink.title == title
        )
    ).first()
    if exists is not None:
        return None
    link = PageLink(
        ticket=ticket, wiki=wiki, title=title, linked_by=logged_in().username, source=source
    )
    session.add(link)
    return link


def _refresh(links: Sequence[PageLink]) -> None:
    """Read the pages' current state (a wiki that is away leaves the old one)."""
    names = template_names(current_app.config)
    by_wiki: dict[str, list[PageLink]] = {}
    for link in links:
        by_wiki.setdefault(link.wiki, []).append(link)
    for wiki, group in by_wiki.items():
        try:
            snaps = read_pages(_wikis()[wiki], [link.title for link in group])
        except ReadError as exc:
            flash(gettext("Could not read %(wiki)s: %(error)s", wiki=wiki, error=exc), "error")
            continue
        for link in group:
            link.state = state_of(snaps[link.title], names)
            link.checked_at = utcnow()


def title_problem_text(exc: TitleError) -> str:
    """Why a typed or pasted page is refused, in the reader's language."""
    text, detail = exc.text, exc.detail
    messages = {
        TitleProblem.EMPTY: gettext("%(text)s names no page.", text=text)
        if text
        else gettext("Type a page title or paste its address."),
        TitleProblem.FORBIDDEN_CHARACTER: gettext(
            "%(text)s is not a valid page title: %(chars)s may not occur in a title.",
            text=text,
            chars=" ".join(detail),
        ),
        TitleProblem.CONTROL_CHARACTER: gettext(
            "%(text)s is not a valid page title: it contains the control character %(char)s.",
            text=text,
            char=detail,
        ),
        TitleProblem.PERCENT_ENCODING: gettext(
            "%(text)s is not a valid page title: percent-encoding (%(code)s) may not occur"
            " in a title.",
            text=text,
            code=detail,
        ),
        TitleProblem.HTML_ENTITY: gettext(
            "%(text)s is not a valid page title: HTML entities (%(entity)s) may not occur"
            " in a title.",
            text=text,
            entity=detail,
        ),
        TitleProblem.RELATIVE_PATH: gettext(
            "%(text)s is not a valid page title: it is a relative path (./ or ../).", text=text
        ),
        TitleProblem.TILDES: gettext(
            "%(text)s is not a valid page title: three tildes (~~~) may not occur in a title.",
            text=text,
        ),
        TitleProblem.TOO_LONG: gettext(
            "%(text)s is not a valid page title: it is longer than 255 bytes.", text=text
        ),
        TitleProblem.FOREIGN_URL: gettext(
            "%(text)s is not a page of a wiki this desk works with.", text=text
        ),
    }
    return messages[exc.problem]


@bp.post("/tickets/<number>/links")
@login_required
def add_link(number: str) -> Response:
    """Link wiki pages (titles or addresses, one per line) to the ticket."""
    ticket = ticket_for(number, Right.NOTE)
    wikis = _wikis()
    wiki = request.form.get("wiki") or next(iter(wikis))
    if wiki not in wikis:
        abort(400, description=gettext("unknown wiki"))
    lines = [line for line in request.form.get("page", "").splitlines() if line.strip()]
    lines += request.form.getlist("suggested")
    if not lines:
        flash(gettext("Type a page title or paste its address."), "error")
        return _back(number)
    added: list[PageLink] = []
    for line in lines[:MAX_BATCH]:
        try:
            page_wiki, title = page_from_input(line, wikis, wiki)
        except TitleError as exc:
            flash(title_problem_text(exc), "error")
            continue
        source = "suggested" if line in request.form.getlist("suggested") else "typed"
        link = _link(ticket, page_wiki, title, source)
        if link is not None:
            added.append(link)
            record(
                db.session(),
                ticket,
                "page-linked",
                logged_in().username,
                wiki=page_wiki,
                page=title,
            )
    _refresh(added)
    db.session().commit()
    if added:
        titles = ", ".join(link.title for link in added[:5])
        if len(added) > 5:
            message = gettext("Linked %(titles)s and %(n)s more.", titles=titles, n=len(added) - 5)
        else:
            message = gettext("Linked %(titles)s.", titles=titles)
        flash(message, "info")
    return _back(number)


@bp.post("/tickets/<number>/links/bulk")
@login_required
def bulk_link(number: str) -> Response:
    """Link every file of a category, or every upload of a user."""
    ticket = ticket_for(number, Right.NOTE)
    wiki = request.form.get("wiki") or next(iter(_wikis()))
    if wiki not in _wikis():
        abort(400, description=gettext("unknown wiki"))
    source, name = request.form.get("source", ""), request.form.get("name", "").strip()
    if source not in ("category", "uploads") or not name:
        flash(gettext("Name a category or a user."), "error")
        return _back(number)
    try:
        if source == "category":
            titles = category_files(_wikis()[wiki], name)
        else:
            titles = user_uploads(_wikis()[wiki], name)
    except ReadError as exc:
        flash(str(exc), "error")
        return _back(number)
    added = [link for t in titles if (link := _link(ticket, wiki, t, source)) is not None]
    if added:
        record(
            db.session(),
            ticket,
            "pages-linked",
            logged_in().username,
            wiki=wiki,
            source=source,
            name=name,
            pages=len(added),
        )
    _refresh(added)
    db.session().commit()
    if not titles:
        flash(gettext("No files found for %(name)s.", name=name), "error")
    else:
        flash(
            gettext(
                "Linked %(n)s of %(total)s files (%(name)s).",
                n=len(added),
                total=len(titles),
                name=name,
            ),
            "info",
        )
    return _back(number)


@bp.post("/tickets/<number>/links/refresh")
@login_required
def refresh_links(number: str) -> Response:
    """Read the linked pages' state again."""
    ticket = ticket_for(number)
    _refresh(ticket.page_links)
    db.session().commit()
    return _back(number)


def _chosen_links(ticket: Ticket) -> list[PageLink]:
    ids = {int(v) for v in request.form.getlist("link") if v.isdigit()}
    links = [link for link in ticket.page_links if link.id in ids]
    if not links:
        abort(400, description=gettext("Choose at least one linked page."))
    return links[:MAX_BATCH]


def _options() -> tuple[str, str, bool]:
    kind = request.form.get("kind", CONFIRM)
    if kind not in (CONFIRM, PENDING):
        abort(400, description=gettext("unknown action"))
    licence = request.form.get("licence", "").strip().upper() if kind == CONFIRM else ""
    if licence:
        try:
            licence_template(licence)
        except ValueError:
            abort(
                400,
                description=gettext(
                    "%(licence)s is not a licence this desk knows a template for",
                    licence=licence,
                ),
            )
    as_bot = request.form.get("as_bot") == "1"
    if as_bot and not bot_configured(current_app.config):
        abort(400, description=gettext("no bot account is configured"))
    return kind, licence, as_bot


@bp.post("/tickets/<number>/wiki/preview")
@login_required
def preview(number: str) -> str | Response:
    """Show the change each chosen page would get, before anything is saved."""
    ticket = ticket_for(number, Right.ANSWER)
    links = _chosen_links(ticket)
    kind, licence, as_bot = _options()
    names = template_names(current_app.config)
    rows = []
    for wiki in dict.fromkeys(link.wiki for link in links):
        group = [link for link in links if link.wiki == wiki]
        try:
            snaps = read_pages(_wikis()[wiki], [link.title for link in group])
        except ReadError as exc:
            flash(gettext("Could not read %(wiki)s: %(error)s", wiki=wiki, error=exc), "error")
            return _back(number)
        for link in group:
            snap = snaps[link.title]
            plan = plan_edit(
                kind, snap, ticket.number, names, licence=licence, today=utcnow().date()
            )
            link.state = state_of(snap, names)
            link.checked_at = utcnow()
            rows.append((link, plan, line_diff(snap.text, plan.text) if plan.text else []))
    db.session().commit()
    return render_template(
        "wiki_preview.html",
        ticket=ticket,
        rows=rows,
        kind=kind,
        licence=licence,
        as_bot=as_bot,
        edits=sum(plan.verdict == "edit" for _link, plan, _diff in rows),
    )


@bp.post("/tickets/<number>/wiki/batches")
@login_required
def start_batch(number: str) -> Response:
    """Queue the previewed edits as a background job."""
    ticket = ticket_for(number, Right.ANSWER)
    links = _chosen_links(ticket)
    kind, licence, as_bot = _options()
    login = logged_in()
    batches = create_batch(
        db.session(),
        ticket,
        links,
        kind,
        login.username,
        login.id,
        as_bot=as_bot,
        licence=licence,
    )
    _enqueue(batches)
    flash(
        ngettext(
            "Editing %(num)d page for ticket %(n)s.",
            "Editing %(num)d pages for ticket %(n)s.",
            len(links),
            n=ticket.number,
        ),
        "info",
    )
    return _back(number, f"batch-{batches[0].id}" if batches else "pages")


def _batch_of(ticket: Ticket, batch_id: int) -> WikiBatch:
    batch = db.session().get(WikiBatch, batch_id)
    if batch is None or batch.ticket_id != ticket.id:
        abort(404)
    return batch


def _enqueue(batches: Sequence[WikiBatch]) -> None:
    db.session().commit()
    for batch in batches:
        jobs_of(current_app).wiki_batch(batch.id)


def _undo(ticket: Ticket, actions: Sequence[PageAction]) -> Response:
    undoable = [
        a
        for a in actions
        if a.status == "done"
        and a.kind != UNDO
        and a.revision is not None
        and not any(
            u.undo_of_id == a.id and u.status in ("queued", "running", "done")
            for u in a.link.actions
        )
    ]
    if not undoable:
        flash(gettext("Nothing to undo: no edit of ours is left standing."), "error")
        return _back(ticket.number)
    login = logged_in()
    batches = create_batch(
        db.session(),
        ticket,
        [],
        UNDO,
        login.username,
        login.id,
        as_bot=any(a.batch is not None and a.batch.as_bot for a in undoable),
        undo_of=undoable,
    )
    _enqueue(batches)
    flash(ngettext("Undoing %(num)d edit.", "Undoing %(num)d edits.", len(undoable)), "info")
    return _back(ticket.number, f"batch-{batches[0].id}")


@bp.post("/tickets/<number>/wiki/batches/<int:batch_id>/undo")
@login_required
def undo_batch(number: str, batch_id: int) -> Response:
    """Revert every edit of a batch that is still the page's latest revision."""
    ticket = ticket_for(number, Right.ANSWER)
    return _undo(ticket, _batch_of(ticket, batch_id).actions)


@bp.post("/tickets/<number>/wiki/actions/<int:action_id>/undo")
@login_required
def undo_action(number: str, action_id: int) -> Response:
    """Revert one page's edit."""
    ticket = ticket_for(number, Right.ANSWER)
    action = db.session().get(PageAction, action_id)
    if action is None or action.link.ticket_id != ticket.id:
        abort(404)
    return _undo(ticket, [action])


@bp.post("/tickets/<number>/wiki/batches/<int:batch_id>/resume")
@login_required
def resume_batch(number: str, batch_id: int) -> Response:
    """Resume a paused batch with the current login."""
    ticket = ticket_for(number, Right.ANSWER)
    batch = _batch_of(ticket, batch_id)
    login = logged_in()
    if batch.status in ("paused", "stopped"):
        batch.status = "queued"
        batch.message = f"resumed by {login.username}"
        if not batch.as_bot:  # the edits left are made with the current login
            batch.login_session_id = login.id
            batch.requested_by = login.username
        for action in batch.actions:
            if action.status == "needs-login":
                action.status = "queued"
            action.login_session_id = batch.login_session_id
        _enqueue([batch])
    return _back(number, f"batch-{batch.id}")


@bp.post("/tickets/<number>/wiki/batches/<int:batch_id>/cancel")
@login_required
def cancel_batch(number: str, batch_id: int) -> Response:
    """Give up the pages a waiting batch has left (edits already made stay)."""
    ticket = ticket_for(number, Right.ANSWER)
    batch = _batch_of(ticket, batch_id)
    cancelled = cancel(db.session(), batch.id, logged_in().username)
    if cancelled is None:
        flash(gettext("The batch is running: it can be cancelled once it waits."), "error")
    else:
        flash(
            ngettext(
                "Cancelled %(num)d page; edits already made stay.",
                "Cancelled %(num)d pages; edits already made stay.",
                cancelled,
            ),
            "info",
        )
    return _back(number, f"batch-{batch.id}")


def batch_json(batch: WikiBatch) -> dict[str, Any]:
    """A batch's progress and its pages' outcomes."""
    p = progress(batch)
    return {
        "id": batch.id,
        "kind": batch.kind,
        "wiki": batch.wiki,
        "status": batch.status,
        "message": batch.message,
        "done": p.done,
        "skipped": p.skipped,
        "conflict": p.conflict,
        "failed": p.failed,
        "cancelled": p.cancelled,
        "left": p.left,
        "total": p.total,
        "pages": [
            {
                "id": a.id,
                "page": a.link.title,
                "status": a.status,
                "message": a.message,
                "revision": a.revision,
            }
            for a in batch.actions
        ],
    }


@bp.get("/tickets/<number>/wiki/progress.json")
@login_required
def progress_json(number: str) -> dict[str, Any]:
    """Progress of the ticket's batches (polled by the zoom page)."""
    ticket = ticket_for(number)
    batches = db.session().scalars(
        select(WikiBatch).where(WikiBatch.ticket_id == ticket.id).order_by(WikiBatch.id)
    )
    out = [batch_json(b) for b in batches]
    waiting = ("paused", "stopped")  # nothing moves until someone acts
    return {"batches": out, "left": sum(b["left"] for b in out if b["status"] not in waiting)}
