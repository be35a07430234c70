"""Who may apply: the recruiting rules checked against what the wiki says of a user.

Pure: the facts come in (from the identify statement and a fresh read of the
wiki's API, joined by :func:`merge_facts`), the rules not met go out, each
with what would meet it: the day an account is old enough, the number of
edits still missing.  The web layer words them for the applicant.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from tickets.recruiting_settings import Eligibility


class Rule(enum.StrEnum):
    """A rule an applicant may not meet."""

    BLOCKED = "blocked"
    ACCOUNT_AGE = "account_age"
    EDITS = "edits"
    CONFIRMED_EMAIL = "confirmed_email"
    GROUP = "group"


@dataclass(frozen=True)
class EligibilityFacts:
    """What is known of a wiki account when it applies.

    :param registered: account creation (None: very old accounts, which
        MediaWiki does not date; they count as old enough).
    :param confirmed_email: None when nobody said (only identify tells it).
    """

    username: str
    editcount: int = 0
    registered: dt.datetime | None = None
    blocked: bool = False
    confirmed_email: bool | None = None
    groups: tuple[str, ...] = ()
    #: Where the facts came from ("identify", "wiki"), for the record.
    sources: tuple[str, ...] = ()

    def to_document(self) -> dict[str, Any]:
        """A JSON-safe dict, kept with an application as the facts at submit."""
        return {
            "username": self.username,
            "editcount": self.editcount,
            "registered": self.registered.isoformat() if self.registered else None,
            "blocked": self.blocked,
            "confirmed_email": self.confirmed_email,
            "groups": list(self.groups),
            "sources": list(self.sources),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> EligibilityFacts:
        """Read what :meth:`to_document` wrote."""
        registered = doc.get("registered")
        return cls(
            username=str(doc.get("username", "")),
            editcount=int(doc.get("editcount") or 0),
            registered=dt.datetime.fromisoformat(registered) if registered else None,
            blocked=bool(doc.get("blocked", False)),
            confirmed_email=doc.get("confirmed_email"),
            groups=tuple(doc.get("groups") or ()),
            sources=tuple(doc.get("sources") or ()),
        )


@dataclass(frozen=True)
class Unmet:
    """One rule the applicant does not meet yet.

    :param message: the rule in plain English (logs, the command line); the
        web words it again in the reader's language from the fields below.
    :param met_on: the day an account becomes old enough.
    :param missing: edits still missing.
    :param group: the wiki group the applicant is not in.
    """

    rule: Rule
    message: str
    met_on: dt.date | None = None
    missing: int = 0
    group: str = ""
    #: The rule's own figure (days, edits), for the wording.
    required: int = 0


@dataclass(frozen=True)
class EligibilityCheck:
    """The facts and what they leave unmet."""

    facts: EligibilityFacts
    unmet: list[Unmet] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        """Every rule is met."""
        return not self.unmet


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def unmet_rules(rules: Eligibility, facts: EligibilityFacts, now: dt.datetime) -> list[Unmet]:
    """The rules ``facts`` do not meet at ``now`` (empty: the user may apply)."""
    unmet: list[Unmet] = []
    if facts.blocked:
        unmet.append(Unmet(Rule.BLOCKED, "The account is blocked on the wiki."))
    if rules.min_account_days > 0 and facts.registered is not None:
        old_enough = _aware(facts.registered) + dt.timedelta(days=rules.min_account_days)
        if old_enough > _aware(now):
            unmet.append(
                Unmet(
                    Rule.ACCOUNT_AGE,
                    f"The account must be {rules.min_account_days} days old; "
                    f"it will be on {old_enough.date().isoformat()}.",
                    met_on=old_enough.date(),
                    required=rules.min_account_days,
                )
            )
    if rules.min_edits > 0 and facts.editcount < rules.min_edits:
        missing = rules.min_edits - facts.editcount
        unmet.append(
            Unmet(
                Rule.EDITS,
                f"The account needs {rules.min_edits} edits; {missing} more to go.",
                missing=missing,
                required=rules.min_edits,
            )
        )
    if rules.confirmed_email and not facts.confirmed_email:
        unmet.append(Unmet(Rule.CONFIRMED_EMAIL, "The account needs a confirmed e-mail address."))
    for group in rules.groups:
        if group not in facts.groups:
            unmet.append(
                Unmet(Rule.GROUP, f"The account must be in the group {group}.", group=group)
            )
    return unmet


def check(rules: Eligibility, facts: EligibilityFacts, now: dt.datetime) -> EligibilityCheck:
    """:func:`unmet_rules` with the facts it was given."""
    return EligibilityCheck(facts=facts, unmet=unmet_rules(rules, facts, now))


def merge_facts(
    identity: EligibilityFacts | None, wiki: EligibilityFacts | None
) -> EligibilityFacts:
    """Join the identify statement (at login) with a fresh read of the wiki.

    The wiki's read is newer, so its edit count, groups and registration win;
    a block stated by either counts; only identify tells a confirmed address.

    :raises ValueError: when neither is given.
    """
    if identity is None and wiki is None:
        raise ValueError("no facts to merge")
    if identity is None:
        assert wiki is not None
        return wiki
    if wiki is None:
        return identity
    return EligibilityFacts(
        username=wiki.username or identity.username,
        editcount=max(wiki.editcount, identity.editcount),
        registered=wiki.registered or identity.registered,
        blocked=wiki.blocked or identity.blocked,
        confirmed_email=identity.confirmed_email,
        groups=wiki.groups or identity.groups,
        sources=tuple(dict.fromkeys(identity.sources + wiki.sources)),
    )
