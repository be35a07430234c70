"""Running a batch of page edits on a wiki: read 50 at a time, one edit per changed page.

A batch belongs to one ticket, one wiki and one volunteer (or the bot). Each
page's outcome is committed as soon as it is known, so progress survives a
reload, and a worker that dies mid-batch loses nothing: the batch's lease
runs out, another worker claims it, re-reads the pages still queued and
recognises an edit it already made (the page carries the ticket, and its
latest revision is ours with the ticket in the summary), so no page is
edited twice.

The lease names its holder (:func:`runner_id`). Every write of a runner —
a renewal, a page's outcome, the batch's end — goes in one transaction with
``UPDATE wiki_batch ... WHERE lease_owner = <me>``; when that finds no row,
another runner has taken the batch over, and this one rolls back and stops
(:class:`LeaseLost`) without writing anything.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.leases import LEASE, LeaseLost, extend, release, runner_id, stalled_ids, take
from tickets.leases import requeue as requeue_lease
from tickets.models import PageAction, PageLink, Ticket, WikiBatch, utcnow
from tickets.tickets import record
from wikibridge import metrics
from wikibridge import sessions as login_sessions
from wikibridge.db import database_away, new_session
from wikibridge.sessions import LoginSession
from wikibridge.wiki.blocks import Block, block_from
from wikibridge.wiki.credentials import (
    REVOKED,
    NeedsLogin,
    RefreshUnavailable,
    credentials_for,
    renewable,
    target_for,
)
from wikibridge.wiki.credentials import renew as renew_token
from wikibridge.wiki.edits import edit_params, read_as
from wikibridge.wiki.faults import (
    WikiUnavailable,
    database_lost,
    is_revoked,
    is_unavailable,
    refusal,
    unreachable,
)
from wikibridge.wiki.pages import Snapshot, chunks
from wikibridge.wiki.plans import UNDO, Plan, plan_edit, summary, template_names
from wikibridge.wiki.pwb import Credentials, LoginRefused, SignatureRefused, WikiTarget, site_as
from wikibridge.wiki.states import state_of

log = logging.getLogger(__name__)

#: Page outcomes that end an action; anything else is still to do.
FINAL = ("done", "skipped", "conflict", "failed", "cancelled")
#: Batch states in which nobody works on the batch, so it may be cancelled.
CANCELLABLE = ("queued", "paused", "stopped")
#: Every state of a batch, those that wait first; the last two end it.
BATCH_STATES = ("queued", "running", "paused", "stopped", "done", "cancelled")


def lease_of(app: Flask) -> dt.timedelta:
    """The batch lease the settings ask for (``WIKI_LEASE_SECONDS``, else :data:`LEASE`)."""
    return dt.timedelta(seconds=float(app.config.get("WIKI_LEASE_SECONDS", LEASE.seconds)))


class Blocked(Exception):
    """Whoever the batch edits as is blocked sitewide on its wiki: nothing may be edited."""

    def __init__(self, block: Block) -> None:
        super().__init__(f"blocked on {block.wiki}: {block.reason}")
        self.block = block


@dataclass(frozen=True)
class Progress:
    """Where a batch stands, per page outcome."""

    done: int
    skipped: int
    conflict: int
    failed: int
    cancelled: int
    left: int
    status: str

    @property
    def total(self) -> int:
        """Pages in the batch."""
        return self.done + self.skipped + self.conflict + self.failed + self.cancelled + self.left


def progress(batch: WikiBatch) -> Progress:
    """Count the batch's pages by outcome."""
    counts = dict.fromkeys(FINAL, 0)
    left = 0
    for action in batch.actions:
        if action.status in counts:
            counts[action.status] += 1
        else:
            left += 1
    return Progress(left=left, status=batch.status, **counts)


def create_batch(
    db: Session,
    ticket: Ticket,
    links: Sequence[PageLink],
    kind: str,
    requested_by: str,
    login_session_id: str | None,
    *,
    as_bot: bool = False,
    licence: str = "",
    undo_of: Sequence[PageAction] = (),
) -> list[WikiBatch]:
    """Queue ``kind`` on ``links`` (one batch per wiki); the caller commits and enqueues.

    For an undo, ``undo_of`` names the actions whose edits are reverted and
    ``links`` is ignored.
    """
    targets: list[tuple[PageLink, PageAction | None]] = (
        [(a.link, a) for a in undo_of] if kind == UNDO else [(link, None) for link in links]
    )
    batches: dict[str, WikiBatch] = {}
    for link, original in targets:
        batch = batches.get(link.wiki)
        if batch is None:
            batch = batches[link.wiki] = WikiBatch(
                ticket=ticket,
                wiki=link.wiki,
                kind=kind,
                requested_by=requested_by,
                login_session_id=login_session_id,
                as_bot=as_bot,
                licence=licence,
            )
            db.add(batch)
        db.add(
            PageAction(
                link=link,
                batch=batch,
                kind=kind,
                requested_by=requested_by,
                login_session_id=login_session_id,
                undo_of=original,
            )
        )
    for batch in batches.values():
        record(
            db,
            ticket,
            "wiki-requested",
            requested_by,
            wiki=batch.wiki,
            action=kind,
            pages=len([t for t in targets if t[0].wiki == batch.wiki]),
            as_bot=as_bot,
        )
    db.flush()
    return list(batches.values())


def claim(db: Session, batch_id: int, lease: dt.timedelta = LEASE, owner: str = "") -> bool:
    """Take the batch for ``owner`` (:func:`runner_id`) unless another holds a live lease."""
    taken = take(db, WikiBatch, batch_id, lease, owner or runner_id(), message="")
    db.commit()
    return taken


def renew(db: Session, batch_id: int, owner: str, lease: dt.timedelta = LEASE) -> bool:
    """Extend ``owner``'s lease, with whatever the session holds; False if another has it.

    The caller commits on True (the renewal and its outcome writes then land
    together) and rolls back on False.
    """
    return extend(db, WikiBatch, batch_id, owner, lease)


def stalled(db: Session, lease: dt.timedelta = LEASE) -> list[int]:
    """Batches to hand to a worker: queued ones and those whose worker died."""
    return stalled_ids(db, WikiBatch, lease)


def resume_paused(db: Session, username: str, login_session_id: str) -> list[int]:
    """Give a volunteer's paused batches their new login; return the batches to enqueue."""
    paused = db.scalars(
        select(WikiBatch).where(
            WikiBatch.status == "paused",
            WikiBatch.requested_by == username,
            WikiBatch.as_bot.is_(False),
        )
    ).all()
    for batch in paused:
        batch.login_session_id = login_session_id
        batch.status = "queued"
        batch.message = "resumed after you logged in again"
        for action in batch.actions:
            if action.status == "needs-login":
                action.status = "queued"
                action.login_session_id = login_session_id
    return [b.id for b in paused]


def cancel(db: Session, batch_id: int, username: str) -> int | None:
    """Give up the pages a waiting batch has left; return how many, or None if it runs.

    Only a batch no worker holds (queued, paused, stopped) is cancelled: the
    state changes in one conditional UPDATE, so a worker claiming it at the
    same moment gets either all of it or none. Pages already edited stay
    edited (undo them apart); the others end "cancelled", each in the
    ticket's history, nothing deleted, and so does the batch.
    """
    taken = db.execute(
        update(WikiBatch)
        .where(WikiBatch.id == batch_id, WikiBatch.status.in_(CANCELLABLE))
        .values(
            status="cancelled",
            lease_until=None,
            lease_owner=None,
            message=f"cancelled by {username}",
        )
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        db.rollback()
        return None
    batch = db.get(WikiBatch, batch_id)
    assert batch is not None
    db.refresh(batch)
    left = [a for a in batch.actions if a.status not in FINAL]
    for action in left:
        action.status = "cancelled"
        action.message = f"cancelled by {username}"
        record(
            db,
            batch.ticket,
            f"wiki-{action.kind}",
            username,
            wiki=action.link.wiki,
            page=action.link.title,
            status="cancelled",
            message=action.message,
            revision=None,
            user=username,
            as_bot=batch.as_bot,
        )
    db.commit()
    return len(left)


Hook = Callable[[PageAction], None]


def run_batch(
    app: Flask,
    batch_id: int,
    *,
    on_page: Hook | None = None,
    before_edit: Hook | None = None,
) -> str:
    """Run what is left of a batch; return "done", "paused", "stopped", "busy" or "lost".

    "busy": another runner holds the batch; "lost": this run's lease ran out
    and another runner took the batch over, so this one stopped without
    writing. ``on_page`` is told of each page outcome (the command line's
    progress bar); ``before_edit`` runs between reading a page and saving it
    (tests use it to make a concurrent edit). Raises
    :class:`WikiUnavailable` when the wiki does not answer, after putting the
    batch back in the queue.
    """
    owner = runner_id()
    with new_session(app) as db:
        if not claim(db, batch_id, lease_of(app), owner):
            return "busy"
        batch = db.get(WikiBatch, batch_id)
        assert batch is not None
        # Read now: after a failed flush the row cannot be loaded again.
        wiki = batch.wiki
        runner = _Runner(app, db, batch, owner, on_page, before_edit)
        try:
            try:
                return runner.run()
            except NeedsLogin as exc:
                metrics.wiki_error(batch.wiki, "needs_login")
                if batch.as_bot:  # no volunteer can log the bot in: an admin must look
                    runner.pause("stopped", f"the bot could not log in: {exc}")
                    return "stopped"
                runner.pause("paused", str(exc))
                return "paused"
            except LoginRefused as exc:
                metrics.wiki_error(batch.wiki, "login_refused")
                runner.pause("stopped", f"{exc}; an admin must fix the settings, then resume")
                return "stopped"
            except Blocked as exc:
                metrics.wiki_error(batch.wiki, "blocked")
                block = exc.block
                why = f" ({block.reason})" if block.reason else ""
                if batch.as_bot:
                    runner.pause(
                        "stopped", f"the bot is blocked on {block.wiki}{why}: an admin must look"
                    )
                    return "stopped"
                runner.pause(
                    "paused",
                    f"you are blocked on {block.wiki}{why}: the edits left wait until the block "
                    "ends and you log in again",
                )
                # The desk refuses blocked volunteers: this login ends, and the
                # login page says why.
                login = (
                    db.get(LoginSession, batch.login_session_id) if batch.login_session_id else None
                )
                if login is not None and login.ended_at is None:
                    login_sessions.end(login, f"blocked:{block.wiki}")
                    db.commit()
                return "paused"
            except SignatureRefused as exc:
                metrics.wiki_error(batch.wiki, "signature_refused")
                # Logging in again cannot help: the wiki's own setup is at fault.
                runner.pause("stopped", f"{exc}; then resume the batch")
                return "stopped"
            except WikiUnavailable as exc:
                metrics.wiki_error(batch.wiki, "unavailable")
                db.rollback()
                runner.end("queued", str(exc))
                raise
            except LeaseLost:
                raise
            except Exception as exc:
                if database_away(exc):
                    raise database_lost(wiki, exc, runner.requeue) from exc
                # Not retried blindly (it would fail the same way): kept for an admin.
                metrics.wiki_error(batch.wiki, "internal")
                log.exception("wiki batch %s stopped", batch_id)
                runner.pause(
                    "stopped",
                    "an internal error stopped the batch; the admins can see why and resume it",
                )
                return "stopped"
        except LeaseLost:
            db.rollback()
            log.warning("wiki batch %s: lease lost to another runner; %s stops", batch_id, owner)
            return "lost"


class _Runner:
    def __init__(
        self,
        app: Flask,
        db: Session,
        batch: WikiBatch,
        owner: str,
        on_page: Hook | None,
        before_edit: Hook | None,
    ) -> None:
        self.app = app
        self.db = db
        self.batch = batch
        self.batch_id = batch.id
        self.owner = owner
        self.on_page = on_page
        self.before_edit = before_edit
        self.names = template_names(app.config)
        self.number = batch.ticket.number

    def pending(self) -> list[PageAction]:
        return [a for a in self.batch.actions if a.status not in FINAL]

    def _unreachable(self, exc: Exception) -> WikiUnavailable:
        return unreachable(self.batch.wiki, exc)

    def _renewed(self, refused: str) -> Credentials:
        try:
            return renew_token(self.app, self.db, self.batch, refused)
        except RefreshUnavailable as exc:
            raise self._unreachable(exc) from exc

    def run(self) -> str:
        try:
            creds = credentials_for(self.app, self.db, self.batch)
        except RefreshUnavailable as exc:
            raise self._unreachable(exc) from exc
        self.username = creds.username
        target = target_for(self.app, self.batch.wiki, self.batch.as_bot)
        for chunk in chunks(self.pending()):
            try:
                self._run_chunk(target, creds, chunk)
            except NeedsLogin:
                if not renewable(creds):
                    raise
                # An OAuth 2 access token lives an hour: renew it once and go
                # on where the refusal left off (a refused renewal pauses).
                creds = self._renewed(creds.bearer)
                self._run_chunk(target, creds, [a for a in chunk if a.status not in FINAL])
        self.end("done", "")
        return "done"

    def _run_chunk(
        self, target: WikiTarget, creds: Credentials, chunk: Sequence[PageAction]
    ) -> None:
        """Log in as ``creds`` and work ``chunk``; wiki faults become our exceptions."""
        try:
            with site_as(
                target,
                creds,
                self.app.config["PYWIKIBOT_FAMILY_FILES"],
                self.app.instance_path,
                # Waiting for another job's edits must not cost this run its lease.
                while_waiting=self._commit,
                wait_step=lease_of(self.app).total_seconds() / 3,
            ) as site:
                self.site = site
                site.throttle.writedelay = float(self.app.config.get("WIKI_PUT_THROTTLE", 1))
                self._refuse_if_blocked(creds)
                self._chunk(chunk)
        except (NeedsLogin, WikiUnavailable, SignatureRefused, LeaseLost, Blocked):
            raise
        except Exception as exc:
            if is_revoked(exc):
                raise NeedsLogin(REVOKED) from exc
            if is_unavailable(exc):
                raise self._unreachable(exc) from exc
            raise

    def _refuse_if_blocked(self, creds: Credentials) -> None:
        """Before any edit of a chunk: a block placed since the login stops the batch."""
        if not (creds.bearer or creds.password):
            # An OAuth 1.0a login may come from pywikibot's cache; the other
            # two have just read who they are.
            del self.site.userinfo
        block = block_from(self.batch.wiki, self.site.userinfo)
        if block is not None:
            raise Blocked(block)

    def _commit(self) -> None:
        """Commit what the session holds, with a renewed lease, if the batch is still ours."""
        if not renew(self.db, self.batch_id, self.owner, lease_of(self.app)):
            self.db.rollback()
            raise LeaseLost(f"batch {self.batch_id} is held by another runner now")
        self.db.commit()

    def end(self, status: str, message: str) -> None:
        """Give the batch up in ``status`` (with what the session holds), if it is still ours."""
        if not release(
            self.db, WikiBatch, self.batch_id, self.owner, status=status, message=message
        ):
            self.db.rollback()
            raise LeaseLost(f"batch {self.batch_id} is held by another runner now")
        self.db.commit()

    def requeue(self, why: str) -> None:
        """Back to "queued" for the job's retry (:func:`tickets.leases.requeue`)."""
        log.warning("wiki batch %s: %s; it is tried again shortly", self.batch_id, why)
        requeue_lease(self.db, self.end, why)

    def pause(self, status: str, message: str) -> None:
        """Stop with the pages left kept: "paused" until the volunteer logs in
        again, "stopped" until someone resumes it by hand."""
        self.db.rollback()
        for action in self.pending():
            action.status = "needs-login" if status == "paused" else "queued"
            action.message = message
        record(
            self.db,
            self.batch.ticket,
            f"wiki-{status}",
            self.batch.requested_by,
            wiki=self.batch.wiki,
            message=message,
        )
        self.end(status, message)

    # --- one chunk of at most 50 pages --------------------------------------

    def _read(self, titles: Sequence[str]) -> dict[str, Snapshot]:
        return read_as(self.site, titles)

    def _chunk(self, actions: Sequence[PageAction]) -> None:
        was_running = {a.id for a in actions if a.status == "running"}
        snaps = self._read([a.link.title for a in actions])
        for action in actions:
            action.status = "running"
            self._commit()
            try:
                self._page(action, snaps[action.link.title], action.id in was_running)
            except (NeedsLogin, WikiUnavailable, SignatureRefused, LeaseLost):
                raise
            except Exception as exc:
                # The database away: the page's outcome is unknown here, not "failed".
                if is_unavailable(exc) or is_revoked(exc) or database_away(exc):
                    raise
                log.exception("page action %s failed", action.id)
                self.db.rollback()
                self._finish(
                    action, "failed", "an internal error stopped the edit; the admins can see why"
                )

    def _page(self, action: PageAction, snap: Snapshot, interrupted: bool) -> None:
        plan = self._plan(action, snap)
        if plan.verdict == "skipped" and interrupted and self._ours(snap):
            # A crash came between our edit and its record: the edit is ours.
            self._finish(action, "done", "tagged (recovered after an interruption)", snap)
            return
        if plan.verdict != "edit":
            self._finish(action, plan.verdict, plan.message, snap)
            return
        if self.before_edit is not None:
            self.before_edit(action)
        outcome = self._save(action, snap, plan)
        if outcome == "editconflict":
            fresh = self._read([action.link.title])[action.link.title]
            plan = self._plan(action, fresh)
            if plan.verdict != "edit":
                self._finish(action, plan.verdict, plan.message, fresh)
                return
            outcome = self._save(action, fresh, plan)
            if outcome == "editconflict":
                self._finish(
                    action, "failed", "edit conflict twice in a row: someone is editing the page"
                )

    def _plan(self, action: PageAction, snap: Snapshot) -> Plan:
        undo_of = action.undo_of
        return plan_edit(
            action.kind,
            snap,
            self.number,
            self.names,
            licence=self.batch.licence,
            today=utcnow().date(),
            undo_revision=undo_of.revision if undo_of is not None else None,
        )

    def _ours(self, snap: Snapshot) -> bool:
        return snap.user == self.username and self.number in snap.comment

    def _save(self, action: PageAction, snap: Snapshot, plan: Plan) -> str:
        """Send one edit; return "saved", "editconflict" or the final status recorded."""
        import pywikibot.exceptions as pwb_errors
        from pywikibot.data.api import Request

        params = edit_params(
            self.site,
            snap,
            summary(action.kind, self.number, self.batch.requested_by, self.batch.as_bot),
            as_bot=self.batch.as_bot,
        )
        if plan.undo is not None:
            params["undo"] = plan.undo
        else:
            params["text"] = plan.text
        action.base_revision = snap.revision
        try:
            result = Request(site=self.site, parameters=params).submit()
        except pwb_errors.APIError as exc:
            if exc.code == "editconflict":
                return "editconflict"
            if is_revoked(exc):
                raise NeedsLogin(REVOKED) from exc
            metrics.wiki_error(self.batch.wiki, "refused")
            self._finish(action, "failed", refusal(exc.code, exc.info, exc.other), snap)
            return "failed"
        edit = result.get("edit", {})
        if edit.get("result") != "Success":
            code = str(edit.get("code", "refused"))
            metrics.wiki_error(self.batch.wiki, "refused")
            self._finish(action, "failed", refusal(code, str(edit.get("info", "")), edit), snap)
            return "failed"
        if edit.get("nochange"):
            # When the wiki times out, pywikibot sends the edit again; a first try
            # the wiki saved late leaves the retry nothing to change. The page then
            # carries our edit: done, with that revision, not skipped.
            fresh = self._read([snap.title])[snap.title]
            if fresh.revision != snap.revision and self._ours(fresh):
                self._finish(
                    action, "done", f"{plan.message} (saved by an earlier try of this edit)", fresh
                )
                return "saved"
            self._finish(action, "skipped", "the wiki saw nothing to change", fresh)
            return "skipped"
        action.revision = int(edit["newrevid"])
        if plan.undo is None:
            self._finish(
                action, "done", plan.message, snap, text=plan.text, revision=action.revision
            )
        else:
            # What an undo leaves is the wiki's to say: read it for the page's state.
            self._finish(action, "done", plan.message, self._read([snap.title])[snap.title])
        return "saved"

    def _finish(
        self,
        action: PageAction,
        status: str,
        message: str,
        snap: Snapshot | None = None,
        *,
        text: str | None = None,
        revision: int | None = None,
    ) -> None:
        action.status = status
        action.message = message
        link = action.link
        if status == "done" and revision is None and snap is not None:
            action.revision = revision = snap.revision
        if snap is not None:
            link.state = state_of(snap, self.names, text=text, revision=revision)
            link.checked_at = utcnow()
        record(
            self.db,
            link.ticket,
            f"wiki-{action.kind}",
            self.batch.requested_by,
            wiki=link.wiki,
            page=link.title,
            status=status,
            message=message,
            revision=action.revision,
            user=self.username,
            as_bot=self.batch.as_bot,
        )
        self._commit()
        if self.on_page is not None:
            self.on_page(action)
