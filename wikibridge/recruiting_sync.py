"""Where recruiting meets the on-wiki write jobs and the Training queue.

Every call into those two parts goes through here.  Each is imported when
used: a desk built without them (or a branch where they do not exist yet)
still takes applications and decides them, logs that Meta or Training is
not wired, and grants the approved queues directly.

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

from flask import Flask
from sqlalchemy.orm import Session

from tickets import recruiting_wikitext as wikitext
from tickets.access import ALL_RIGHTS, grant
from tickets.applications import Application
from tickets.models import Queue, Volunteer
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings

log = logging.getLogger(__name__)

TRAINING_QUEUE = "Training"


@dataclass(frozen=True)
class Actor:
    """Who asks for a wiki write: a user name and their live login (None: none)."""

    username: str
    login_session_id: str | None


@dataclass
class Comments:
    """The comments of an application's Meta section, or why there are none to show.

    :param wired: False when the reader of Meta is not part of this desk.
    :param failed: True when the wiki did not answer.
    """

    items: list[Any] = field(default_factory=list)
    wired: bool = True
    failed: bool = False


def _request(
    session: Session,
    settings: RecruitingSettings,
    *,
    title: str,
    op_name: str,
    text: str,
    summary: str,
    actor: Actor,
    as_bot: bool,
    section: str = "",
    purpose: str,
) -> int | None:
    """One write request; None (and a log line) when the write jobs are absent."""
    try:
        from tickets.wiki_writes import Op, request_write
    except ImportError:
        log.info("Meta is not wired: not writing %s to %s (%s)", op_name, title, purpose)
        return None
    write = request_write(
        session,
        wiki=settings.meta_wiki,
        title=title,
        op=getattr(Op, op_name),
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


def _ids(*ids: int | None) -> list[int]:
    return [i for i in ids if i is not None]


def application_submitted(
    session: Session,
    app: Flask,
    application: Application,
    settings: RecruitingSettings,
    applicant: Actor,
) -> list[int]:
    """Ask for the application's public section on the applications page."""
    return _ids(
        _request(
            session,
            settings,
            title=settings.applications_page,
            op_name="NEW_SECTION",
            text=wikitext.application_section(
                application.username, application.languages, application.queues
            ),
            summary=f"Application of {application.username}",
            actor=applicant,
            as_bot=bool(app.config.get("BOT_USERNAME")),
            section=application.meta_section,
            purpose=f"application:{application.id}",
        )
    )


def application_decided(
    session: Session,
    application: Application,
    settings: RecruitingSettings,
    admin: Actor,
    desk: str,
) -> list[int]:
    """Post the decision in the section; on approval list and welcome the volunteer."""
    approved = application.status == "approved"
    as_bot = _as_bot(settings)
    purpose = f"application:{application.id}"
    ids = [
        _request(
            session,
            settings,
            title=settings.applications_page,
            op_name="APPEND_TO_SECTION",
            text=wikitext.decision_text(
                settings,
                approved=approved,
                language=application.language,
                username=application.username,
                queues=application.queues,
                reason=application.decision_reason,
                admin=admin.username,
                desk=desk,
            ),
            summary=f"Application of {application.username}: {application.status}",
            actor=admin,
            as_bot=as_bot,
            section=application.meta_section,
            purpose=purpose,
        )
    ]
    if approved:
        ids.append(
            _request(
                session,
                settings,
                title=settings.volunteer_list_page,
                op_name="ADD_LINE",
                text=wikitext.volunteer_line(application.username, application.queues),
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
                op_name="NEW_SECTION",
                text=wikitext.welcome_text(
                    settings,
                    language=application.language,
                    username=application.username,
                    queues=application.queues,
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
    return _ids(*ids)


def membership_ended(
    session: Session,
    volunteer: Volunteer,
    queues: Sequence[str],
    settings: RecruitingSettings,
    admin: Actor,
) -> list[int]:
    """Take the volunteer's line off the volunteer list page."""
    return _ids(
        _request(
            session,
            settings,
            title=settings.volunteer_list_page,
            op_name="REMOVE_LINE",
            text=wikitext.volunteer_line(volunteer.username, queues),
            summary=f"{volunteer.username} left the team",
            actor=admin,
            as_bot=_as_bot(settings),
            purpose=f"volunteer:{volunteer.id}",
        )
    )


def settings_saved(
    session: Session,
    version_id: int,
    settings: RecruitingSettings,
    admin: Actor,
    desk: str,
) -> list[int]:
    """Replace the public page with the settings just saved."""
    return _ids(
        _request(
            session,
            settings,
            title=settings.public_page,
            op_name="REPLACE_PAGE",
            text=wikitext.public_page(settings, desk),
            summary=f"Recruiting settings, version {version_id}",
            actor=admin,
            as_bot=_as_bot(settings),
            purpose=f"settings:{version_id}",
        )
    )


def enqueue(app: Flask, write_ids: Sequence[int]) -> None:
    """Start the jobs of requests committed just now."""
    if not write_ids:
        return
    try:
        from wikibridge.wiki.writes import enqueue_writes
    except ImportError:
        log.info("Meta is not wired: %d writes not started", len(write_ids))
        return
    enqueue_writes(app, list(write_ids))


def writes_for(session: Session, purpose: str) -> list[Any]:
    """The write requests made for ``purpose``, for their progress (empty when not wired)."""
    try:
        from wikibridge.wiki.writes import writes_for as found
    except ImportError:
        return []
    return list(found(session, purpose))


def section_comments(app: Flask, wiki: str, title: str, section: str) -> Comments:
    """The comments on the application's Meta section."""
    try:
        from wikibridge.wiki.meta_reads import ReadFailed
        from wikibridge.wiki.meta_reads import section_comments as read
    except ImportError:
        log.info("Meta is not wired: no comments read for %s", section)
        return Comments(wired=False)
    try:
        return Comments(items=list(read(app, wiki, title, section)))
    except ReadFailed as exc:
        log.warning("comments of %s#%s not read: %s", title, section, exc)
        return Comments(failed=True)


def admit(
    session: Session,
    volunteer: Volunteer,
    queue_names: Sequence[str],
    by: str,
    settings: RecruitingSettings,
) -> list[Queue]:
    """Start an approved applicant: Training, then the queues approved.

    With the Training part present it decides what is held until training is
    reviewed; without it the queues (and Training, when it exists) are
    granted at once with every right.
    """
    queues = [q for q in (queue_by_name(session, name) for name in queue_names) if q is not None]
    try:
        from tickets.training import start_training
    except ImportError:
        log.info(
            "Training is not wired: granting %s to %s at once", queue_names, volunteer.username
        )
        training = queue_by_name(session, TRAINING_QUEUE)
        for queue in [*queues, *([training] if training else [])]:
            grant(session, volunteer, queue, ALL_RIGHTS, by)
        return queues
    start_training(session, volunteer, queues, by, settings)
    return queues
