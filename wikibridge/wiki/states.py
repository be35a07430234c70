"""What a linked page carries, as shown beside it on the ticket."""

from __future__ import annotations

from typing import Any

from wikibridge.wiki.pages import Snapshot
from wikibridge.wiki.plans import page_problem
from wikibridge.wiki.wikitext import TemplateNames, page_tags


def state_of(
    snap: Snapshot, names: TemplateNames, *, text: str | None = None, revision: int | None = None
) -> dict[str, Any]:
    """The page's state from a snapshot (or from the ``text`` we just saved as ``revision``)."""
    if not snap.exists:
        return {"exists": False, "problem": page_problem(snap)}
    tags = page_tags(snap.text if text is None else text, names)
    return {
        "exists": True,
        "problem": page_problem(snap),
        "revision": revision or snap.revision,
        "tickets": list(tags.tickets),
        "pending": list(tags.pending),
        "no_permission": tags.no_permission,
        "received": list(tags.received),
        "licences": list(tags.licences),
        "protected": list(snap.protection),
    }
