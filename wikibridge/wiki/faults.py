"""What went wrong on a wiki, sorted: try again later, log in again, or tell people why.

Shared by everything that edits through pywikibot (tagging batches, page
writes), so a refusal reads the same wherever it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from wikibridge import metrics
from wikibridge.db import DatabaseUnavailable


class WikiUnavailable(Exception):
    """The wiki did not answer (or is too lagged): try again later."""


def unreachable(wiki: str, exc: BaseException) -> WikiUnavailable:
    """The :class:`WikiUnavailable` to raise when ``wiki`` failed with ``exc``."""
    return WikiUnavailable(f"{wiki} did not answer ({type(exc).__name__}); trying again shortly")


def refusal(code: str, info: str, detail: dict[str, Any] | None = None) -> str:
    """The wiki's refusal of an edit, in words a volunteer can act on."""
    detail = detail or {}
    if code.startswith("abusefilter"):
        about = detail.get("abusefilter", {}).get("description") or info
        return f"an abuse filter refused the edit: {about}"
    if code in ("protectedpage", "cascadeprotected", "protectednamespace", "protectedtitle"):
        return f"the page is protected, so you may not edit it: {info}"
    if code in ("blocked", "autoblocked", "sitewideblocked", "partiallyblocked"):
        return f"you are blocked on the wiki: {info}"
    if code in ("missingtitle", "nocreate-missing", "pagedeleted"):
        return "the page does not exist (never created, or deleted)"
    if code in ("undofailure", "undo-failure"):
        return "the wiki could not undo the edit (later changes are in the way)"
    return f"the wiki refused the edit ({code}): {info}"


def is_revoked(exc: BaseException) -> bool:
    """Whether the wiki refused the credentials themselves (log in again)."""
    import pywikibot.exceptions as pwb_errors

    if isinstance(exc, pwb_errors.NoUsernameError):
        return True
    code = getattr(exc, "code", "") or ""
    return code.startswith("mwoauth") or code in ("assertuserfailed", "assertbotfailed")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the wiki is away or overloaded (try again later)."""
    import pywikibot.exceptions as pwb_errors

    unavailable = (
        pwb_errors.ServerError,
        pwb_errors.MaxlagTimeoutError,
        pwb_errors.ApiTimeoutError,
        TimeoutError,
        requests.ConnectionError,
        requests.Timeout,
    )
    return isinstance(exc, unavailable)


def database_lost(
    wiki: str, exc: BaseException, requeue: Callable[[str], None]
) -> DatabaseUnavailable:
    """Count a lost database, hand the job back through ``requeue``; return the error to raise.

    A restart of the database is nothing to stop a job for an admin: the
    job queue's retry (or the lease sweep) runs it again shortly.
    """
    metrics.wiki_error(wiki, "database")
    why = f"the desk's database went away ({type(exc).__name__})"
    requeue(why)
    return DatabaseUnavailable(f"{why}; trying again shortly")
