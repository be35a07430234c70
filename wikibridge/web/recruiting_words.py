"""What the recruiting pages share: the wording of rules and refusals, wiki links, records.

The domain names each unmet rule and each refused step with a code; the
words, in the reader's language, are chosen here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import current_app
from flask_babel import format_date, gettext, ngettext

from tickets.applications import ApplicationError
from tickets.eligibility import Rule, Unmet
from tickets.recruiting_settings import Eligibility, RecruitingSettings
from wikibridge.wiki.user_record import (
    UserRecord,
    UserRecordReader,
    UserRecordUnavailable,
    read_user_record,
)


def unmet_text(unmet: Unmet) -> str:
    """An unmet rule in plain words, with when or how it would be met."""
    if unmet.rule is Rule.BLOCKED:
        return gettext("Your account is blocked on the wiki. Blocked accounts cannot apply.")
    if unmet.rule is Rule.ACCOUNT_AGE:
        return ngettext(
            "Your account must be at least %(num)d day old. It will be on %(date)s.",
            "Your account must be at least %(num)d days old. It will be on %(date)s.",
            unmet.required,
            date=format_date(unmet.met_on, "long") if unmet.met_on else "",
        )
    if unmet.rule is Rule.EDITS:
        return ngettext(
            "Your account needs at least %(num)d edit: %(missing)s more to go.",
            "Your account needs at least %(num)d edits: %(missing)s more to go.",
            unmet.required,
            missing=unmet.missing,
        )
    if unmet.rule is Rule.CONFIRMED_EMAIL:
        return gettext(
            "Your account needs a confirmed e-mail address (set it in your wiki preferences)."
        )
    return gettext("Your account must be a member of the group %(group)s.", group=unmet.group)


def rules_in_words(rules: Eligibility) -> list[str]:
    """The eligibility rules, one sentence each, for the public page."""
    words = [gettext("Your account is not blocked.")]
    if rules.min_account_days:
        words.append(
            ngettext(
                "Your account is at least %(num)d day old.",
                "Your account is at least %(num)d days old.",
                rules.min_account_days,
            )
        )
    if rules.min_edits:
        words.append(
            ngettext(
                "Your account has at least %(num)d edit.",
                "Your account has at least %(num)d edits.",
                rules.min_edits,
            )
        )
    if rules.confirmed_email:
        words.append(gettext("Your account has a confirmed e-mail address."))
    for group in rules.groups:
        words.append(gettext("Your account is a member of the group %(group)s.", group=group))
    return words


def error_text(error: ApplicationError) -> str:
    """A refused step of an application, in words the reader can act on."""
    texts = {
        "already_open": gettext(
            "You have an application waiting for a decision already. "
            "Its status page shows where it stands."
        ),
        "not_open": gettext("This application is decided or withdrawn already."),
        "not_yours": gettext("Only the applicant can withdraw an application."),
        "no_language": gettext("Name at least one language you write well."),
        "too_many_languages": gettext("Name at most twelve languages."),
        "bad_language": gettext("Give each language a level."),
        "no_queue": gettext("Choose at least one queue."),
        "queue_not_offered": gettext(
            "Choose only queues where help is wanted (the list on the form)."
        ),
        "no_motivation": gettext("Say in a few words why you want to help."),
        "motivation_too_long": gettext("Keep the motivation under 5000 characters."),
        "links_too_long": gettext("Give at most 20 links of up to 500 characters."),
        "position_too_long": gettext("Keep the position under 500 characters."),
        "no_confirmer": gettext("Say who can confirm your position."),
        "terms_not_accepted": gettext("Accept the confidentiality terms to apply."),
        "empty_note": gettext("Write something in the note."),
        "note_too_long": gettext("Keep it under 5000 characters."),
        "bad_vote": gettext("Vote support, oppose or neutral."),
        "no_position": gettext("This application names no position to confirm."),
        "already_confirmed": gettext("The position is confirmed already."),
        "no_reason": gettext("Give a reason for the decision; the applicant reads it."),
        "reason_too_long": gettext("Keep the reason under 2000 characters."),
        "blocked": gettext("The account is blocked on the wiki now; it cannot be approved."),
        "no_queue_approved": gettext("Approve at least one of the queues applied for."),
        "queue_not_applied": gettext("Approve only queues the applicant applied for."),
        "needs_confirmation": gettext(
            "This application rests on a position: confirm the position before approving it."
        ),
    }
    return texts.get(error.code, str(error))


def status_label(status: str) -> str:
    """An application's status in the reader's language."""
    return {
        "submitted": gettext("submitted"),
        "awaiting confirmation": gettext("awaiting confirmation of the position"),
        "approved": gettext("approved"),
        "declined": gettext("declined"),
        "withdrawn": gettext("withdrawn"),
        "position confirmed": gettext("position confirmed"),
    }.get(status, status)


def level_label(level: str) -> str:
    """A language level in the reader's language."""
    return {
        "native": gettext("native"),
        "fluent": gettext("fluent"),
        "good": gettext("good"),
        "basic": gettext("basic"),
    }.get(level, level)


def wiki_config(settings: RecruitingSettings) -> dict[str, Any]:
    """The ``WIKIS`` entry of the recruiting wiki (empty when it is not configured)."""
    wikis: dict[str, Any] = current_app.config.get("WIKIS", {})
    found: dict[str, Any] = wikis.get(settings.meta_wiki, {})
    return found


def wiki_link(settings: RecruitingSettings, title: str, section: str = "") -> str:
    """The address of ``title`` (and a section of it) on the recruiting wiki."""
    base = str(wiki_config(settings).get("article_url", ""))
    if not base:
        return ""
    url = base + quote(title.replace(" ", "_"), safe="/:")
    if section:
        url += "#" + quote(section.replace(" ", "_"), safe=":()")
    return url


def user_record(settings: RecruitingSettings, username: str) -> UserRecord:
    """The account's record, read fresh from the recruiting wiki.

    :raises UserRecordUnavailable: the wiki is not configured or did not answer.
    """
    api_url = wiki_config(settings).get("api_url")
    if not api_url:
        raise UserRecordUnavailable(f"no api_url for {settings.meta_wiki}")
    reader: UserRecordReader = current_app.extensions.get("user_record_reader", read_user_record)
    return reader(str(api_url), username)
