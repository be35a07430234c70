"""Where recruiting meets the on-wiki write jobs and the Training queue.

Every call from the recruiting pages into those two parts goes through
here, so the pages say what should happen and this module says how it is
done on the wiki.  The desk's own posts in a section end with a hidden
marker (:func:`wikibridge.wiki.meta_reads.desk_marker`), so the comments
shown to the administrators are other people's only.

The write requests follow the recruiting settings: as the deciding
administrator over their OAuth login when ``edit_as`` is ``admin``, else as
the bot.  An application's own section is posted as the bot when one is
configured, else as the applicant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets import recruiting_wikitext as wikitext
from tickets.applications import Application, Status
from tickets.models import Queue, Volunteer
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings
from tickets.training import start_training
from tickets.wiki_writes import Op, WikiWrite, request_write
from wikibridge.wiki import meta_reads
from wikibridge.wiki.writes import enqueue_writes
from wikibridge.wiki.writes import writes_for as _writes_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who asks for a wiki write: a user name and their live login (None: none)."""

    username: str
    login_session_id: str | None


@dataclass
class Comments:
    """The comments of an application's Meta section, or why there are none to show.

    :param wired: kept for the templates: the reader of Meta is always part of the desk.
    :param failed: True when the wiki did not answer (or the section is not there yet).
    """

    items: list[Any] = field(default_factory=list)
    wired: bool = True
    failed: bool = False


def _request(
    session: Session,
    settings: RecruitingSettings,
    *,
    title: str,
    op: Op,
    text: str,
    summary: str,
    actor: Actor,
    as_bot: bool,
    section: str = "",
    purpose: str,
    marked: bool = False,
) -> int:
    """One write request; ``marked`` posts end with the desk's hidden marker."""
    if marked:
        text = text.rstrip("\n") + " " + meta_reads.desk_marker(purpose)
    write = request_write(
        session,
        wiki=settings.meta_wiki,
        title=title,
        op=op,
        text=text,
        summary=summary,
        requested_by=actor.username,
        login_session_id=None if as_bot else actor.login_session_id,
        as_bot=as_bot,
        section=section,
        purpose=purpose,
    )
    return int(write.id)


def _as_bot(settings: RecruitingSettings) -> bool:
    return settings.edit_as != "admin"


def _applicant_as_bot(app: Flask) -> bool:
    """An applicant's own section (and their withdrawal) is the bot's when there is one."""
    return bool(app.config.get("BOT_USERNAME"))


def application_submitted(
    session: Session,
    app: Flask,
    application: Application,
    settings: RecruitingSettings,
    applicant: Actor,
) -> list[int]:
    """Ask for the application's public section on the applications page."""
    return [
        _request(
            session,
            settings,
            title=settings.applications_page,
            op=Op.NEW_SECTION,
            text=wikitext.application_section(
                application.username, application.languages, application.queues
            ),
            summary=f"Application of {application.username}",
            actor=applicant,
            as_bot=_applicant_as_bot(app),
            section=application.meta_section,
            purpose=f"application:{application.id}",
            marked=True,
        )
    ]


def application_withdrawn(
    session: Session,
    app: Flask,
    application: Application,
    settings: RecruitingSettings,
    applicant: Actor,
) -> list[int]:
    """Note in the application's section that the applicant withdrew it.

    Posted the way the section was: as the bot when one is configured, else
    as the applicant.  It waits behind the section's own write (same purpose).
    """
    return [
        _request(
            session,
            settings,
            title=settings.applications_page,
            op=Op.APPEND_TO_SECTION,
            text=wikitext.withdrawal_text(application.username),
            summary=f"Application of {application.username}: withdrawn",
            actor=applicant,
            as_bot=_applicant_as_bot(app),
            section=application.meta_section,
            purpose=f"application:{application.id}",
            marked=True,
        )
    ]


def application_decided(
    session: Session,
    application: Application,
    settings: RecruitingSettings,
    admin: Actor,
    desk: str,
) -> list[int]:
    """Post the decision in the section; on approval list and welcome the volunteer."""
    approved = application.status == "approved"
    # The decision names the queues approved; a decline, those applied for.
    queues = application.approved_queues if approved else application.queues
    as_bot = _as_bot(settings)
    purpose = f"application:{application.id}"
    ids = [
        _request(
            session,
            settings,
            title=settings.applications_page,
            op=Op.APPEND_TO_SECTION,
            text=wikitext.decision_text(
                settings,
                approved=approved,
                language=application.language,
                username=application.username,
                queues=queues,
                reason=application.decision_reason,
                admin=admin.username,
                desk=desk,
            ),
            summary=f"Application of {application.username}: {application.status}",
            actor=admin,
            as_bot=as_bot,
            section=application.meta_section,
            purpose=purpose,
            marked=True,
        )
    ]
    if approved:
        ids.append(
            _request(
                session,
                settings,
                title=settings.volunteer_list_page,
                op=Op.ADD_LINE,
                text=wikitext.volunteer_line(application.username, queues),
                summary=f"New volunteer: {application.username}",
                actor=admin,
                as_bot=as_bot,
                purpose=purpose,
            )
        )
        ids.append(
            _request(
                session,
                settings,
                title=f"User talk:{application.username}",
                op=Op.NEW_SECTION,
                text=wikitext.welcome_text(
                    settings,
                    language=application.language,
                    username=application.username,
                    queues=queues,
                    admin=admin.username,
                    desk=desk,
                ),
                summary="Welcome to the volunteer response team",
                actor=admin,
                as_bot=as_bot,
                section="Welcome to the volunteer response team",
                purpose=purpose,
            )
        )
    return ids


def membership_ended(
    session: Session,
    volunteer: Volunteer,
    queues: Sequence[str],
    settings: RecruitingSettings,
    admin: Actor,
    *,
    as_bot: bool | None = None,
) -> list[int]:
    """Take the volunteer's line off the volunteer list page.

    :param as_bot: who edits; None: as the settings say.
    """
    return [
        _request(
            session,
            settings,
            title=settings.volunteer_list_page,
            op=Op.REMOVE_LINE,
            text=wikitext.volunteer_line(volunteer.username, queues),
            summary=f"{volunteer.username} left the team",
            actor=admin,
            as_bot=_as_bot(settings) if as_bot is None else as_bot,
            purpose=f"volunteer:{volunteer.id}",
        )
    ]


def settings_saved(
    session: Session,
    version_id: int,
    settings: RecruitingSettings,
    admin: Actor,
    desk: str,
) -> list[int]:
    """Replace the public page with the settings just saved."""
    return public_page_requested(session, settings, version_id, admin, desk)


def public_page_requested(
    session: Session,
    settings: RecruitingSettings,
    version_id: int | None,
    actor: Actor,
    desk: str,
    *,
    as_bot: bool | None = None,
) -> list[int]:
    """Ask for the public "Volunteer with us" page on the wiki to show ``settings``.

    :param version_id: the settings version shown (None: the defaults, none saved yet).
    :param as_bot: who edits; None: as the settings say.
    """
    version = "defaults" if version_id is None else str(version_id)
    return [
        _request(
            session,
            settings,
            title=settings.public_page,
            op=Op.REPLACE_PAGE,
            text=wikitext.public_page(settings, desk),
            summary=f"Recruiting settings, version {version}",
            actor=actor,
            as_bot=_as_bot(settings) if as_bot is None else as_bot,
            purpose=f"settings:{version}",
        )
    ]


def apply_address(app: Flask) -> str:
    """Where the public page on the wiki sends people to apply (needs a request context)."""
    desk = str(app.config.get("DESK_URL") or "").rstrip("/")
    if desk:
        return desk + url_for("recruiting.volunteer_page")
    return url_for("recruiting.volunteer_page", _external=True)


def listed_queues(session: Session, volunteer: Volunteer, had: Sequence[str]) -> list[str]:
    """The queues on the volunteer's line of the Meta list: as approved, else those they had."""
    approved = session.scalars(
        select(Application)
        .where(
            Application.volunteer_id == volunteer.id,
            Application.status == Status.APPROVED.value,
        )
        .order_by(Application.id.desc())
    ).first()
    if approved is not None:
        return list(approved.approved_queues or approved.queues)
    return list(had)


def enqueue(app: Flask, write_ids: Sequence[int]) -> None:
    """Start the jobs of requests committed just now."""
    if write_ids:
        enqueue_writes(app, list(write_ids))


def writes_for(session: Session, purpose: str) -> list[WikiWrite]:
    """The write requests made for ``purpose``, for their progress."""
    return list(_writes_for(session, purpose))


def section_comments(app: Flask, wiki: str, title: str, section: str) -> Comments:
    """The comments on the application's Meta section."""
    try:
        return Comments(items=list(meta_reads.section_comments(app, wiki, title, section)))
    except meta_reads.ReadFailed as exc:
        log.warning("comments of %s#%s not read: %s", title, section, exc)
        return Comments(failed=True)


def admit(
    session: Session,
    volunteer: Volunteer,
    queue_names: Sequence[str],
    by: str,
    settings: RecruitingSettings,
    system_id: str,
) -> list[Queue]:
    """Start an approved applicant: Training and practice tickets, then the queues approved.

    The Training part decides which queues open at once and which wait for
    reviewed training answers.
    """
    queues = [q for q in (queue_by_name(session, name) for name in queue_names) if q is not None]
    start_training(session, volunteer, queues, by, settings, system_id=system_id)
    return queues
