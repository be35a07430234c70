"""Bringing an old archive along: mbox files and Maildir folders, stored as intake stores mail.

Every message goes through the same steps as mail arriving now (routing,
threading, the raw bytes kept), in batches through :mod:`wikibridge.mail.batch`.
A subject's ``[Ticket#N]`` keeps its old number when N is a valid number no
ticket here has yet.  A second run stores nothing new, and a run that was
killed resumes where its last commit ended: messages already stored are
recognised by their content digest before they are even parsed.
"""

from __future__ import annotations

import mailbox
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tickets.intake import Delivery
from tickets.mail import content_digest
from tickets.models import RawMessage
from wikibridge.mail.batch import GroupCommitter, prepare_routed

#: Messages looked up (are they stored already?) and read per step.
STEP = 200
#: Messages prepared but not yet committed, at most (bounds the memory used).
IN_FLIGHT = 2000


class ArchiveError(ValueError):
    """A path that is neither an mbox file nor a Maildir folder."""


@dataclass
class ImportReport:
    """What an import did."""

    seen: int = 0
    stored: int = 0
    #: Stored before (an earlier run, or the same message twice in the archive).
    already: int = 0
    #: Stored as follow-ups of a ticket (its subject tag, In-Reply-To, References).
    threaded: int = 0
    #: Stored whole although parts could not be read.
    malformed: int = 0
    failed: int = 0
    #: Why the last failed message was not stored.
    error: str | None = None

    def summary(self) -> str:
        """One line for people."""
        line = (
            f"{self.seen} messages: {self.stored} stored, {self.already} already there, "
            f"{self.threaded} threaded, {self.malformed} malformed kept"
        )
        if self.failed:
            line += f", {self.failed} not stored ({self.error}); run again to retry them"
        return line


def open_archive(path: Path) -> mailbox.Mailbox[Any]:
    """The mbox file or Maildir folder at ``path``.

    :raises ArchiveError: when it is neither.
    """
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return mailbox.Maildir(path, factory=None, create=False)
        raise ArchiveError(f"{path}: a folder, but not a Maildir (no cur, new and tmp)")
    if path.is_file():
        return mailbox.mbox(path, factory=None, create=False)
    raise ArchiveError(f"{path}: no such file or folder")


def _keys(box: mailbox.Mailbox[Any]) -> list[str]:
    # Maildir names begin with the delivery time: sorted, originals come
    # before their replies.  An mbox is in the order it was written.
    keys = list(box.keys())
    return sorted(keys) if isinstance(box, mailbox.Maildir) else keys


def count(paths: Sequence[Path]) -> int:
    """How many messages the archives hold (for the progress bar)."""
    total = 0
    for path in paths:
        box = open_archive(path)
        try:
            total += len(box)
        finally:
            box.close()
    return total


def messages(paths: Sequence[Path]) -> Iterator[bytes]:
    """Every message's bytes, archive by archive, in order."""
    for path in paths:
        box = open_archive(path)
        try:
            for key in _keys(box):
                yield box.get_bytes(key)
        finally:
            box.close()


def _stored_digests(engine: Engine, digests: list[str]) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(RawMessage.content_sha256).where(RawMessage.content_sha256.in_(digests))
        )
        return {row[0] for row in rows if row[0] is not None}


def import_archives(
    engine: Engine,
    config: Mapping[str, Any],
    paths: Sequence[Path],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every message of ``paths`` not stored yet; return what happened.

    ``progress`` is called with the number of messages finished since its last call.
    """
    report = ImportReport()
    committer = GroupCommitter(engine, config, max_batch=STEP)
    pending: deque[tuple[Future[Delivery], bool]] = deque()
    max_bytes = config.get("MAIL_MAX_BYTES")

    def settle(keep: int) -> None:
        while len(pending) > keep:
            future, malformed = pending.popleft()
            try:
                delivery = future.result()
            except Exception as exc:  # noqa: BLE001 - counted; the next run retries it
                report.failed += 1
                report.error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
            else:
                if not delivery.created:
                    report.already += 1
                else:
                    report.stored += 1
                    report.threaded += delivery.rule == "followup"
                    report.malformed += malformed
            if progress is not None:
                progress(1)

    try:
        step: list[bytes] = []
        for raw in messages(paths):
            step.append(raw)
            if len(step) >= STEP:
                _submit(engine, committer, step, max_bytes, pending, report, progress)
                step = []
                settle(IN_FLIGHT)
        _submit(engine, committer, step, max_bytes, pending, report, progress)
        settle(0)
    finally:
        committer.close()
    return report


def _submit(
    engine: Engine,
    committer: GroupCommitter,
    step: list[bytes],
    max_bytes: int | None,
    pending: deque[tuple[Future[Delivery], bool]],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    """Hand the messages of ``step`` not stored yet to the writer."""
    if not step:
        return
    report.seen += len(step)
    digests = [content_digest(raw) for raw in step]
    stored = _stored_digests(engine, digests)
    policy = committer.policies.get()
    skipped = 0
    for raw, digest in zip(step, digests, strict=True):
        if digest in stored:
            skipped += 1  # resumed, or run twice: not even parsed again
            continue
        routed = prepare_routed(raw, policy, max_bytes=max_bytes, old_numbers=True)
        malformed = bool(routed.incoming.parsed.problems)
        pending.append((committer.submit(routed), malformed))
    report.already += skipped
    if progress is not None and skipped:
        progress(skipped)
