"""Deciding what to do with one page, from its snapshot: the same for preview and save."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from wikibridge.wiki.pages import FILE_NAMESPACE, Snapshot
from wikibridge.wiki.wikitext import (
    Change,
    TemplateNames,
    confirm_permission,
    mark_pending,
)

CONFIRM = "confirm"
PENDING = "pending"
UNDO = "undo"
KINDS = (CONFIRM, PENDING, UNDO)


@dataclass(frozen=True)
class Plan:
    """What an action will do to a page.

    ``verdict`` is "edit" (save ``text``, or undo revision ``undo``), or a final
    outcome without an edit: "skipped", "conflict" (the page carries another
    ticket) or "failed".
    """

    verdict: str
    message: str
    text: str = ""
    undo: int | None = None
    change: Change | None = None


def template_names(config: dict[str, Any]) -> TemplateNames:
    """The templates the settings name for permissions on the wikis."""
    return TemplateNames(
        permission=config["PERMISSION_TEMPLATE"],
        permission_aliases=tuple(config.get("PERMISSION_TEMPLATE_ALIASES", ())),
        pending=config.get("PENDING_TEMPLATE", "Permission pending"),
        no_permission=tuple(config.get("NO_PERMISSION_TEMPLATES", ("No permission since",))),
        received=tuple(config.get("RECEIVED_TEMPLATES", ("Permission received",))),
    )


def page_problem(snap: Snapshot) -> str:
    """Why no permission edit can be made on this page ("" when one can)."""
    if snap.invalid:
        return f"not a valid title: {snap.invalid}"
    if not snap.exists:
        return "the page does not exist (never created, or deleted)"
    if snap.redirect:
        return "the page is a redirect: link the file it points to instead"
    if snap.namespace != FILE_NAMESPACE:
        return "the page is not a file description page"
    return ""


def plan_edit(
    kind: str,
    snap: Snapshot,
    number: str,
    names: TemplateNames,
    *,
    licence: str = "",
    today: dt.date | None = None,
    undo_revision: int | None = None,
) -> Plan:
    """Decide the edit ``kind`` makes on the page ``snap`` for ticket ``number``."""
    if kind == UNDO:
        return _plan_undo(snap, undo_revision)
    problem = page_problem(snap)
    if problem:
        return Plan("failed", problem)
    if kind == CONFIRM:
        try:
            change = confirm_permission(snap.text, number, names, licence or None)
        except ValueError as exc:  # a licence without a known template
            return Plan("failed", str(exc))
    elif kind == PENDING:
        change = mark_pending(snap.text, number, today or dt.date.today(), names)
    else:
        raise ValueError(f"unknown page action {kind!r}")
    if change.outcome == "other-ticket":
        return Plan(
            "conflict",
            "the page already cites ticket(s) " + ", ".join(change.existing) + ": left alone",
            change=change,
        )
    if change.outcome == "unparseable":
        return Plan(
            "failed",
            "found no safe place for the tag in the page's wikitext: tag it by hand",
            change=change,
        )
    if not change.changed:
        what = "this ticket" if kind == CONFIRM else "a pending mark for this ticket"
        return Plan("skipped", f"the page already carries {what}", change=change)
    return Plan("edit", describe(change), text=change.text, change=change)


def describe(change: Change) -> str:
    """A short account of a change, for the preview and the history."""
    parts = []
    if change.added:
        parts.append("adds " + ", ".join(change.added))
    if change.removed:
        parts.append("removes {{" + "}}, {{".join(change.removed) + "}}")
    return "; ".join(parts) or "tidies the permission tags"


def _plan_undo(snap: Snapshot, revision: int | None) -> Plan:
    if revision is None:
        return Plan("failed", "there is no edit of ours to undo")
    if not snap.exists:
        return Plan("failed", "the page no longer exists")
    if snap.revision != revision:
        return Plan(
            "failed",
            f"the page changed since our edit: its latest revision {snap.revision} is by "
            f"{snap.user or 'someone'}"
            + (f" ({snap.comment})" if snap.comment else "")
            + "; undo it on the wiki by hand",
        )
    return Plan("edit", f"reverts revision {revision}", undo=revision)


def summary(kind: str, number: str, requested_by: str, as_bot: bool) -> str:
    """The edit summary: names the ticket (and, for bot edits, who asked)."""
    ticket = f"[[ticket:{number}]]"
    what = {
        CONFIRM: f"Permission confirmed in VRT ticket {ticket}",
        PENDING: f"Permission received in VRT ticket {ticket}, pending review",
        UNDO: f"Undo the wikibridge edit for VRT ticket {ticket}",
    }[kind]
    who = f", requested by {requested_by}" if as_bot else ""
    return f"{what}{who} (wikibridge)"
