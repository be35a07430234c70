"""What the volunteer administrators set for recruiting, kept as versions.

Every save is a new row (nothing is overwritten or deleted), so an
application can always be read against the rules and terms it was made
under.  The newest row is the one in force; with none saved, the defaults
below hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.models import Base, utcnow


@dataclass(frozen=True)
class WantedHelp:
    """A queue where help is wanted, in which languages, with a word why."""

    queue: str
    languages: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Eligibility:
    """Who may apply, checked from the identify statement and the wiki's API.

    A rule at its zero value (0 days, 0 edits, no groups, False) is off.
    Blocked accounts are always refused.
    """

    min_account_days: int = 30
    min_edits: int = 500
    confirmed_email: bool = True
    #: The applicant must be a member of every group named here.
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecruitingSettings:
    """The recruiting rules in force."""

    wanted: tuple[WantedHelp, ...] = (
        WantedHelp("Permissions", ("en", "de"), "Permission statements for files on Commons"),
        WantedHelp("Info", ("en",), "Questions from readers"),
    )
    #: Shown on the public page above the form's link: how applying works.
    how_to_apply: str = (
        "Log in with your wiki account, check that you meet the rules below, "
        "and fill in the form. Your user name, languages and the queues you "
        "want are posted on the applications page on Meta, where anyone may "
        "comment; everything else stays in the help desk. The volunteer "
        "administrators decide, usually within two weeks."
    )
    eligibility: Eligibility = Eligibility()
    #: The confidentiality terms an applicant accepts; the version is kept
    #: with each application.
    terms_text: str = (
        "I will keep everything I read in the help desk confidential: the "
        "mail, the names and addresses of the people who write, and the notes "
        "of other volunteers. I will not copy it elsewhere, and I will use it "
        "only to answer the people who wrote."
    )
    terms_version: str = "1"
    #: The wiki (a name from WIKIS) and pages the desk keeps in step.
    meta_wiki: str = "meta"
    public_page: str = "VRT/Volunteer with us"
    applications_page: str = "VRT/Applications"
    volunteer_list_page: str = "VRT/Volunteers"
    #: "admin": on-wiki writes as the deciding administrator over OAuth;
    #: "bot": as the configured bot account.
    edit_as: str = "admin"
    #: Wikitext templates by language ("en" is the fallback), with
    #: ``{username}``, ``{queues}``, ``{reason}``, ``{admin}`` and ``{desk}``.
    #: The default welcome says nothing of access being ready: the queues
    #: applied for wait for reviewed training answers unless
    #: ``training_reviews_required`` is 0.
    welcome: dict[str, str] = field(
        default_factory=lambda: {
            "en": (
                "Welcome to the volunteer response team, {username}! You are approved "
                "for {queues}. Start at {desk} with the practice tickets in the Training "
                "queue; an administrator gives you feedback on your answers, and your "
                "queues open once enough of them are reviewed. ~~~~"
            ),
            "de": (
                "Willkommen im Support-Team, {username}! Du bist für {queues} angenommen. "
                "Fang unter {desk} mit den Übungstickets in der Queue Training an; "
                "Administratoren geben dir Rückmeldung zu deinen Antworten, und deine "
                "Queues öffnen sich, sobald genug davon durchgesehen sind. ~~~~"
            ),
        }
    )
    approved: dict[str, str] = field(
        default_factory=lambda: {
            "en": "'''Approved''' by {admin} for {queues}: {reason} ~~~~",
            "de": "'''Angenommen''' von {admin} für {queues}: {reason} ~~~~",
        }
    )
    declined: dict[str, str] = field(
        default_factory=lambda: {
            "en": (
                "'''Not approved this time''' ({admin}): {reason} Thank you for "
                "offering your help; you are welcome to apply again later. ~~~~"
            ),
            "de": (
                "'''Diesmal nicht angenommen''' ({admin}): {reason} Danke für dein "
                "Angebot; du kannst dich später gern wieder bewerben. ~~~~"
            ),
        }
    )
    #: Practice tickets a new volunteer gets in the Training queue.
    practice_tickets: int = 3
    #: Training answers an administrator must have reviewed before the
    #: volunteer's first real queue opens (0: it opens at once).
    training_reviews_required: int = 2
    #: The inactivity report lists volunteers with no action for this long.
    inactivity_days: int = 90

    def to_document(self) -> dict[str, Any]:
        """A JSON-safe dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> RecruitingSettings:
        """Read a saved document; keys it lacks keep their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {k: v for k, v in doc.items() if k in known}
        if "wanted" in values:
            values["wanted"] = tuple(
                WantedHelp(
                    queue=str(w["queue"]),
                    languages=tuple(w.get("languages", ())),
                    note=str(w.get("note", "")),
                )
                for w in values["wanted"]
            )
        if "eligibility" in values:
            e = dict(values["eligibility"])
            e["groups"] = tuple(e.get("groups", ()))
            values["eligibility"] = Eligibility(
                **{k: v for k, v in e.items() if k in Eligibility.__dataclass_fields__}
            )
        return cls(**values)

    def text_for(self, which: str, language: str) -> str:
        """The ``welcome``/``approved``/``declined`` template in ``language``, else English."""
        texts: dict[str, str] = getattr(self, which)
        return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


class RecruitingSettingsVersion(Base):
    """One saved version of the recruiting settings."""

    __tablename__ = "recruiting_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column()
    saved_by: Mapped[str] = mapped_column(String(255))
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def current_settings(session: Session) -> RecruitingSettings:
    """The settings in force: the newest saved version, else the defaults."""
    row = session.scalars(
        select(RecruitingSettingsVersion).order_by(RecruitingSettingsVersion.id.desc()).limit(1)
    ).first()
    return RecruitingSettings.from_document(row.document) if row else RecruitingSettings()


def save_settings(
    session: Session, settings: RecruitingSettings, by: str
) -> RecruitingSettingsVersion:
    """Store ``settings`` as the newest version (flushes, does not commit)."""
    row = RecruitingSettingsVersion(document=settings.to_document(), saved_by=by)
    session.add(row)
    session.flush()
    return row
