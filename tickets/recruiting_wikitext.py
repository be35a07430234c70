"""The wikitext the desk posts on Meta for recruiting (pure: text in, text out).

Only public facts reach the wiki: a user name, languages with levels, the
queues wanted.  Motivation, links, positions and the administrators' notes
stay in the desk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tickets.recruiting_settings import RecruitingSettings

_SIGNATURE_AT_END = re.compile(r"\s*(~~~~)?\s*$")
_LEVELS = {"native": "native", "fluent": "fluent", "good": "good", "basic": "basic"}


def nowiki(text: str) -> str:
    """Text shown as typed: no markup, links or templates take effect."""
    return "<nowiki>" + text.replace("</nowiki>", "&lt;/nowiki>") + "</nowiki>" if text else ""


def user_link(username: str) -> str:
    """``[[User:NAME|NAME]]``."""
    return f"[[User:{username}|{username}]]"


def languages_text(languages: Sequence[Mapping[str, str]]) -> str:
    """``de (native), en (fluent)``."""
    return ", ".join(
        f"{entry.get('code', '')} ({_LEVELS.get(entry.get('level', ''), '')})"
        for entry in languages
    )


def queues_text(queues: Sequence[str]) -> str:
    """``Permissions, Info``."""
    return ", ".join(queues)


def application_section(
    username: str, languages: Sequence[Mapping[str, str]], queues: Sequence[str]
) -> str:
    """The body of the new section on the applications page: the public part only."""
    return (
        f"* User: {user_link(username)} "
        f"([[Special:Contributions/{username}|contributions]])\n"
        f"* Languages: {nowiki(languages_text(languages))}\n"
        f"* Queues: {nowiki(queues_text(queues))}\n"
    )


def volunteer_line(username: str, queues: Sequence[str]) -> str:
    """The line of a volunteer on the volunteer list page."""
    return f"* {user_link(username)} — {queues_text(queues)}"


def withdrawal_text(username: str) -> str:
    """The note under an application its applicant withdrew (neutral: no reason is given)."""
    return f":''The application of {user_link(username)} was withdrawn by the applicant.''"


def fill(template: str, values: Mapping[str, str]) -> str:
    """Put ``{username}``, ``{queues}``... into ``template``; unknown braces stay as typed."""
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def decision_text(
    settings: RecruitingSettings,
    *,
    approved: bool,
    language: str,
    username: str,
    queues: Sequence[str],
    reason: str,
    admin: str,
    desk: str,
) -> str:
    """The approved/declined text for the application's section, in ``language``."""
    template = settings.text_for("approved" if approved else "declined", language)
    if approved and "{queues}" not in template:
        # An approval always names the queues approved (they may be fewer than those
        # applied for), also where a template written earlier does not.
        template = _SIGNATURE_AT_END.sub("", template) + " ({queues}) ~~~~"
    return fill(
        template,
        {
            "username": username,
            "queues": queues_text(queues),
            "reason": reason,
            "admin": user_link(admin),
            "desk": desk,
        },
    )


def welcome_text(
    settings: RecruitingSettings,
    *,
    language: str,
    username: str,
    queues: Sequence[str],
    admin: str,
    desk: str,
) -> str:
    """The welcome posted on the new volunteer's talk page, in ``language``."""
    return fill(
        settings.text_for("welcome", language),
        {
            "username": username,
            "queues": queues_text(queues),
            "reason": "",
            "admin": user_link(admin),
            "desk": desk,
        },
    )


def public_page(settings: RecruitingSettings, desk: str) -> str:
    """The public "Volunteer with us" page, as wikitext, from the settings in force.

    :param desk: the address of the desk's own /volunteer page, to apply.
    """
    rules = settings.eligibility
    lines = ["== Where help is wanted =="]
    for wanted in settings.wanted:
        languages = ", ".join(wanted.languages)
        detail = f" ({nowiki(languages)})" if languages else ""
        note = f": {nowiki(wanted.note)}" if wanted.note else ""
        lines.append(f"* '''{nowiki(wanted.queue)}'''{detail}{note}")
    lines += ["", "== How to apply ==", nowiki(settings.how_to_apply), ""]
    lines.append("== Who can apply ==")
    lines.append("* The account is not blocked.")
    if rules.min_account_days:
        days = rules.min_account_days
        lines.append(f"* The account is at least {days} {'day' if days == 1 else 'days'} old.")
    if rules.min_edits:
        edits = rules.min_edits
        noun = "edit" if edits == 1 else "edits"
        lines.append(f"* The account has made at least {edits} {noun}.")
    if rules.confirmed_email:
        lines.append("* The account has a confirmed e-mail address.")
    for group in rules.groups:
        lines.append(f"* The account is in the group {nowiki(group)}.")
    lines += [
        "",
        f"== Confidentiality (terms version {nowiki(settings.terms_version)}) ==",
        nowiki(settings.terms_text),
        "",
        f"[{desk} Apply at the help desk]",
        "",
    ]
    return "\n".join(lines)
