"""Running page writes (``tickets.wiki_writes``) on the wikis, one job per write.

A write is made as the volunteer who asked (their OAuth login, renewed like
a tagging batch's) or as the desk's bot, under the same lease, identity
lock and fault handling as the tagging batches:

- the wiki away or lagged: the write goes back to "queued" and is tried
  again after ``WIKI_RETRY_SECONDS`` (the job's retry, and the sweep);
- the volunteer's token expired or revoked: "paused" until they log in again;
- the bot's login refused, the wiki's OAuth setup at fault, an internal
  error: "stopped" until an admin retries it;
- the wiki refusing the edit (protected page, abuse filter, block, page
  deleted since it was read): "failed", with the wiki's reason.

Before saving, the page is read and the write's plan decided
(:mod:`wikibridge.wiki.write_plans`): a write already on the page ends
"unchanged", and a retry after a worker died looks for its own earlier
revision first ("done (recovered)"), so nothing is posted twice. The save
names the revision it was based on: a concurrent edit is an edit conflict,
and the write reads the page again and tries once more.

Every summary ends with ``(wikibridge write #ID, PURPOSE)`` (and who asked,
for the bot), which is how a write finds its own revision again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from tickets.leases import LeaseLost, runner_id
from tickets.leases import requeue as requeue_lease
from tickets.wiki_writes import (
    SUCCEEDED,
    WikiWrite,
    claim_write,
    earlier_unsettled,
    finish_write,
    next_in_line,
    renew_write,
    writes_for,
)
from wikibridge import metrics
from wikibridge.db import database_away, new_session
from wikibridge.wiki.batches import lease_of
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
from wikibridge.wiki.pages import Snapshot
from wikibridge.wiki.pwb import Credentials, LoginRefused, SignatureRefused, WikiTarget, site_as
from wikibridge.wiki.write_plans import plan_write

__all__ = ["enqueue_writes", "run_write", "summary_of", "writes_for"]

log = logging.getLogger(__name__)

#: How many of a page's latest revisions a retried write searches for its own.
HISTORY_DEPTH = 50

Hook = Callable[[WikiWrite], None]


def tag_of(write_id: int) -> str:
    """What every summary of write ``write_id`` carries."""
    return f"wikibridge write #{write_id}"


def summary_of(write: WikiWrite) -> str:
    """The edit summary: the one asked for, then what traces the edit back to the desk."""
    trace = [tag_of(write.id)]
    if write.purpose:
        trace.append(write.purpose)
    if write.as_bot:
        trace.append(f"requested by {write.requested_by}")
    asked = write.summary.strip()
    tail = f"({', '.join(trace)})"
    # MediaWiki cuts summaries at 500 characters: keep the trace whole.
    asked = asked[: 495 - len(tail)]
    return f"{asked} {tail}" if asked else tail


#: A write whose retry found its own first try saved (the wiki answered too late).
SAVED_BY_EARLIER_TRY = "done (an earlier try of this write was saved; the wiki answered late)"


def _carries_tag(comment: str, write_id: int) -> bool:
    return re.search(rf"{re.escape(tag_of(write_id))}(?![0-9])", comment) is not None


def enqueue_writes(app: Flask, ids: list[int]) -> None:
    """Hand the writes to the job queue (run at once with the in-memory queue)."""
    from wikibridge.jobs import jobs_of

    jobs = jobs_of(app)
    # An in-memory queue runs the job here and now, in this app.
    with app.app_context():
        for write_id in ids:
            jobs.wiki_write(write_id)


def run_write(app: Flask, write_id: int, *, before_save: Hook | None = None) -> str:
    """Make one write; return its status, or "busy" / "lost" / "missing".

    "queued": it waits for an earlier write of its purpose (its message
    says which). "busy": another runner holds it; "lost": this run's lease
    ran out and another runner took over, so this one stopped without
    writing. ``before_save`` runs between reading the page and saving it
    (tests make a concurrent edit there). Raises :class:`WikiUnavailable`
    when the wiki does not answer, after putting the write back in the queue.
    When the write settles, the next write of its purpose is enqueued.
    """
    owner = runner_id()
    with new_session(app) as db:
        write = db.get(WikiWrite, write_id)
        if write is None:
            return "missing"
        if write.status not in ("queued", "running"):
            return write.status
        earlier = earlier_unsettled(db, write)
        if earlier is not None:
            note = (
                f"waits for write #{earlier.id} ({earlier.op} on {earlier.title}: "
                f"{earlier.status}) to be made first"
            )
            if write.status == "queued" and write.message != note:
                write.message = note
                db.commit()
            return "queued"
        if not claim_write(db, write_id, lease_of(app), owner):
            return "busy"
        db.refresh(write)
        try:
            status = _run_claimed(app, db, write, owner, before_save)
        except LeaseLost:
            db.rollback()
            log.warning("wiki write %s: lease lost to another runner; %s stops", write_id, owner)
            return "lost"
        following = next_in_line(db, write) if status in SUCCEEDED else None
    if following is not None:
        enqueue_writes(app, [following])
    return status


def _run_claimed(
    app: Flask, db: Session, write: WikiWrite, owner: str, before_save: Hook | None
) -> str:
    runner = _Runner(app, db, write, owner, before_save)
    # Read now: after a failed flush the row cannot be loaded again.
    wiki = write.wiki
    try:
        try:
            return runner.run()
        finally:
            # Whatever a failed step left in the session is not to be written
            # (each outcome commits itself).
            db.rollback()
    except NeedsLogin as exc:
        metrics.wiki_error(write.wiki, "needs_login")
        if write.as_bot:  # no volunteer can log the bot in: an admin must look
            return runner.end("stopped", f"the bot could not log in: {exc}; an admin must look")
        return runner.end(
            "paused",
            f"the wiki no longer accepts the login of {write.requested_by} (expired or "
            f"revoked): the write waits until they log in to the desk again",
        )
    except LoginRefused as exc:
        metrics.wiki_error(write.wiki, "login_refused")
        return runner.end("stopped", f"{exc}; an admin must fix the settings, then retry")
    except SignatureRefused as exc:
        metrics.wiki_error(write.wiki, "signature_refused")
        return runner.end("stopped", f"{exc}; then retry the write")
    except WikiUnavailable as exc:
        metrics.wiki_error(write.wiki, "unavailable")
        runner.end("queued", str(exc))
        raise
    except LeaseLost:
        raise
    except Exception as exc:
        if database_away(exc):
            raise database_lost(wiki, exc, runner.requeue) from exc
        # Not retried blindly (it would fail the same way): kept for an admin.
        metrics.wiki_error(write.wiki, "internal")
        log.exception("wiki write %s stopped", write.id)
        return runner.end(
            "stopped", "an internal error stopped the write; the admins can see why and retry it"
        )


class _Runner:
    def __init__(
        self, app: Flask, db: Session, write: WikiWrite, owner: str, before_save: Hook | None
    ) -> None:
        self.app = app
        self.db = db
        self.write = write
        self.write_id = write.id
        self.owner = owner
        self.before_save = before_save
        self.username = ""

    # --- the lease ------------------------------------------------------------

    def keep_lease(self) -> None:
        """Renew the lease (with what the session holds) if the write is still ours."""
        if not renew_write(self.db, self.write_id, self.owner, lease_of(self.app)):
            self.db.rollback()
            raise LeaseLost(f"write {self.write_id} is held by another runner now")
        self.db.commit()

    def end(self, status: str, message: str, revision: int | None = None) -> str:
        """Give the write up in ``status``, if it is still ours; return the status."""
        if not finish_write(self.db, self.write_id, self.owner, status, message, revision):
            self.db.rollback()
            raise LeaseLost(f"write {self.write_id} is held by another runner now")
        self.db.commit()
        return status

    def requeue(self, why: str) -> None:
        """Back to "queued" for the job's retry (:func:`tickets.leases.requeue`)."""
        log.warning("wiki write %s: %s; it is tried again shortly", self.write_id, why)
        requeue_lease(self.db, self.end, why)

    # --- identity ---------------------------------------------------------------

    def run(self) -> str:
        try:
            creds = credentials_for(self.app, self.db, self.write)
        except RefreshUnavailable as exc:
            raise unreachable(self.write.wiki, exc) from exc
        self.username = creds.username
        target = target_for(self.app, self.write.wiki, self.write.as_bot)
        try:
            return self._as(target, creds)
        except NeedsLogin:
            if not renewable(creds):
                raise
            # An OAuth 2 access token lives an hour: renew it once, then go on.
            try:
                creds = renew_token(self.app, self.db, self.write, creds.bearer)
            except RefreshUnavailable as exc:
                raise unreachable(self.write.wiki, exc) from exc
            return self._as(target, creds)

    def _as(self, target: WikiTarget, creds: Credentials) -> str:
        """Log in as ``creds`` and make the write; wiki faults become our exceptions."""
        try:
            with site_as(
                target,
                creds,
                self.app.config["PYWIKIBOT_FAMILY_FILES"],
                self.app.instance_path,
                # Waiting for another job's edits must not cost this run its lease.
                while_waiting=self.keep_lease,
                wait_step=lease_of(self.app).total_seconds() / 3,
            ) as site:
                site.throttle.writedelay = float(self.app.config.get("WIKI_PUT_THROTTLE", 1))
                return self._write(site)
        except (NeedsLogin, WikiUnavailable, SignatureRefused, LeaseLost, LoginRefused):
            raise
        except Exception as exc:
            if is_revoked(exc):
                raise NeedsLogin(REVOKED) from exc
            if is_unavailable(exc):
                raise unreachable(self.write.wiki, exc) from exc
            raise

    # --- the page ---------------------------------------------------------------

    def _write(self, site: Any) -> str:
        write = self.write
        if write.attempts > 1:
            # An earlier run may have saved and died before recording it.
            mine = self._saved_before(site)
            if mine is not None:
                return self.end(
                    "done", "done (recovered: an earlier attempt had saved it)", revision=mine
                )
        snap = read_as(site, [write.title])[write.title]
        outcome = self._try(site, snap)
        if outcome != "editconflict":
            return outcome
        self.keep_lease()
        outcome = self._try(site, read_as(site, [write.title])[write.title], again=True)
        if outcome != "editconflict":
            return outcome
        return self.end(
            "failed", "edit conflict twice in a row: someone is editing the page; retry later"
        )

    def _saved_before(self, site: Any) -> int | None:
        """The revision an earlier attempt of this write saved, if any."""
        from pywikibot.data.api import Request

        data = Request(
            site=site,
            parameters={
                "action": "query",
                "prop": "revisions",
                "titles": self.write.title,
                "rvprop": "ids|user|comment",
                "rvlimit": str(HISTORY_DEPTH),
                "formatversion": "2",
            },
        ).submit()
        for page in data.get("query", {}).get("pages", []):
            for revision in page.get("revisions", []):
                if revision.get("user") == self.username and _carries_tag(
                    str(revision.get("comment", "")), self.write_id
                ):
                    return int(revision["revid"])
        return None

    def _try(self, site: Any, snap: Snapshot, *, again: bool = False) -> str:
        """Decide and save once; the final status, or "editconflict".

        ``again``: the page was read anew after a conflict, which may have
        been with this write's own first try (a create the wiki saved late).
        """
        write = self.write
        if snap.invalid:
            return self.end("failed", f"the title is not valid: {snap.invalid}")
        plan = plan_write(write.op, snap.exists, snap.text, text=write.text, section=write.section)
        if plan.verdict == "unchanged":
            if again:
                mine = self._saved_before(site)
                if mine is not None:
                    return self.end("done", SAVED_BY_EARLIER_TRY, revision=mine)
            return self.end("unchanged", plan.message)
        if self.before_save is not None:
            self.before_save(write)
        self.keep_lease()
        return self._save(site, snap, plan.text, plan.message)

    def _save(self, site: Any, snap: Snapshot, text: str, message: str) -> str:
        import pywikibot.exceptions as pwb_errors
        from pywikibot.data.api import Request

        params = edit_params(
            site, snap, summary_of(self.write), as_bot=self.write.as_bot, create=True
        )
        params["text"] = text
        try:
            result = Request(site=site, parameters=params).submit()
        except pwb_errors.APIError as exc:
            if exc.code in ("editconflict", "articleexists"):
                return "editconflict"
            if is_revoked(exc):
                raise NeedsLogin(REVOKED) from exc
            return self.end("failed", self._refused(exc.code, exc.info, exc.other, snap))
        edit = result.get("edit", {})
        if edit.get("result") != "Success":
            code = str(edit.get("code", "refused"))
            return self.end("failed", self._refused(code, str(edit.get("info", "")), edit, snap))
        if edit.get("nochange"):
            # When the wiki times out, pywikibot sends the edit again; a first
            # try the wiki saved late leaves the retry nothing to change.
            mine = self._saved_before(site)
            if mine is not None and (snap.revision is None or mine > snap.revision):
                return self.end("done", SAVED_BY_EARLIER_TRY, revision=mine)
            return self.end("unchanged", "the wiki saw nothing to change")
        return self.end("done", message, revision=int(edit["newrevid"]))

    def _refused(self, code: str, info: str, detail: dict[str, Any], snap: Snapshot) -> str:
        """The refusal in words about whoever the write edits as."""
        if code in ("pagedeleted", "missingtitle") and snap.exists:
            return (
                "the page was deleted after it was read, so nothing was written; "
                "an admin may retry the write (it would create the page anew)"
            )
        metrics.wiki_error(self.write.wiki, "refused")
        who = "the bot" if self.write.as_bot else self.write.requested_by
        words = refusal(code, info, detail)
        return words.replace("you are blocked", f"{who} is blocked").replace(
            "so you may not", f"so {who} may not"
        )
