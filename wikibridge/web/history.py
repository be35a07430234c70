"""A ticket's history as sentences in the reader's language.

The history keeps a kind and the facts (``tickets.tickets.record``); what a
volunteer reads on the zoom is said here. An unknown kind shows as it is, so
a new kind is never hidden before it has a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext, ngettext

from tickets.models import History
from wikibridge.web.labels import priority_label, state_label

Say = Callable[[dict[str, Any]], str]


def _state(d: dict[str, Any]) -> str:
    text = gettext(
        "state %(old)s → %(new)s", old=state_label(d.get("old", "")), new=state_label(d["new"])
    )
    if d.get("pending_until"):
        text += " " + gettext("(until %(when)s UTC)", when=_minute(d["pending_until"]))
    return text


def _minute(iso: str) -> str:
    """``2026-11-25T21:40:00+00:00`` as ``2026-11-25 21:40``."""
    return iso.replace("T", " ")[:16]


def _priority(d: dict[str, Any]) -> str:
    return gettext(
        "priority %(old)s → %(new)s",
        old=priority_label(int(d["old"])),
        new=priority_label(int(d["new"])),
    )


def _phone(d: dict[str, Any]) -> str:
    if d.get("direction") == "outbound":
        return gettext("recorded a call to the customer")
    return gettext("recorded a call from the customer")


def _article(d: dict[str, Any]) -> str:
    if d.get("rule"):
        return gettext("mail received (routing rule: %(rule)s)", rule=d["rule"])
    return gettext("mail received")


def _answer(d: dict[str, Any]) -> str:
    if d.get("practice"):
        return gettext("practice answer to %(to)s (stored, never mailed)", to=d.get("to", ""))
    return gettext("answered %(to)s", to=d.get("to", ""))


_SENTENCES: dict[str, Say] = {
    "created": lambda d: gettext("created in %(queue)s", queue=d.get("queue", "")),
    "article": _article,
    "state": _state,
    "reminder due": lambda d: gettext("reminder due: the ticket is open again"),
    "auto closed": lambda d: gettext("closed automatically: the pending time is over"),
    "reopened": lambda d: gettext("reopened by a reply of the customer"),
    "moved": lambda d: gettext("moved from %(old)s to %(new)s", old=d["old"], new=d["new"]),
    "priority": _priority,
    "locked": lambda d: gettext("took the ticket (locked)"),
    "unlocked": lambda d: gettext("released the ticket"),
    "merged": lambda d: gettext("merged into %(number)s", number=d["into"]),
    "merged-in": lambda d: gettext("ticket %(number)s merged into this one", number=d["source"]),
    "linked": lambda d: gettext("linked with ticket %(number)s", number=d["other"]),
    "note": lambda d: gettext("added an internal note"),
    "phone": _phone,
    "sent": lambda d: gettext("answer sent"),
    "send deferred": lambda d: gettext("sending put off: %(error)s", error=d.get("error", "")),
    "send failed": lambda d: gettext("sending failed: %(error)s", error=d.get("error", "")),
    "resend": lambda d: gettext("sending the answer again"),
    "answer": _answer,
    "send refused": lambda d: gettext("not sent: nothing in Training is ever mailed"),
    "practice": lambda d: gettext(
        "practice ticket made for %(trainee)s", trainee=d.get("trainee", "")
    ),
    "feedback": lambda d: gettext("left feedback on an answer"),
    "page-linked": lambda d: gettext("linked a wiki page"),
    "pages-linked": lambda d: gettext("linked the files of %(name)s", name=d.get("name", "")),
    "wiki-requested": lambda d: ngettext(
        "asked for a wiki edit", "asked for wiki edits on %(num)d pages", int(d["pages"])
    ),
    "wiki-confirm": lambda d: gettext("wiki: permission confirmed"),
    "wiki-pending": lambda d: gettext("wiki: permission pending"),
    "wiki-undo": lambda d: gettext("wiki: undo"),
    "wiki-paused": lambda d: gettext("wiki edits paused"),
    "wiki-stopped": lambda d: gettext("wiki edits stopped"),
}


def describe(entry: History) -> str:
    """What happened, in a few words of the reader's language."""
    say = _SENTENCES.get(entry.kind)
    if say is None:
        return entry.kind
    try:
        return say(entry.detail or {})
    except (KeyError, TypeError, ValueError):
        # An entry written before its facts were recorded: the kind still says it.
        return entry.kind
