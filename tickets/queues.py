"""The queue tree: the routing spec's default tree, and lookups by name."""

from __future__ import annotations

from collections.abc import Iterable

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    # Not at run time: routing reads the languages below in the mail pipe,
    # which starts without SQLAlchemy.
    from sqlalchemy.orm import Session

    from tickets.models import Queue

INFO_LANGUAGES = ("ar", "cs", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
PERMISSIONS_LANGUAGES = ("de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")

DEFAULT_COMMENTS = {
    "Info": "General questions, complaints and comments",
    "Permissions": "Permission statements and questions about them",
    "Role": "Role mailboxes",
    "Role::Press": "Press enquiries",
    "Role::Wikimania": "The conference organising team",
    "Training": "Practice tickets for new volunteers",
    "Junk": "Spam",
}


def default_tree() -> list[str]:
    """Names of the default queues, parents before children."""
    names = ["Info", *(f"Info::{lang}" for lang in INFO_LANGUAGES)]
    names += ["Permissions", *(f"Permissions::{lang}" for lang in PERMISSIONS_LANGUAGES)]
    names += ["Role", "Role::Press", "Role::Wikimania", "Training", "Junk"]
    return names


def ensure_queues(session: Session, names: Iterable[str]) -> list[Queue]:
    """Create the named queues (and their parents) that do not exist yet.

    Idempotent, so seeding a database twice changes nothing.
    """
    from sqlalchemy import select

    from tickets.models import Queue

    existing = {q.name: q for q in session.scalars(select(Queue))}
    created: list[Queue] = []
    for name in names:
        parts = name.split("::")
        for depth in range(1, len(parts) + 1):
            path = "::".join(parts[:depth])
            if path in existing:
                continue
            parent = existing.get("::".join(parts[: depth - 1])) if depth > 1 else None
            queue = Queue(name=path, parent=parent, comment=DEFAULT_COMMENTS.get(path, ""))
            session.add(queue)
            existing[path] = queue
            created.append(queue)
    session.flush()
    return created


def queue_by_name(session: Session, name: str) -> Queue | None:
    """Return the queue called ``name``, or ``None``."""
    from sqlalchemy import select

    from tickets.models import Queue

    return session.scalars(select(Queue).where(Queue.name == name)).one_or_none()
