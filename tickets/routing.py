"""Which queue a new message belongs in (``../shared/spec/routing.md``).

Follow-up and duplicate detection need the store, so :mod:`tickets.intake`
decides those first; this module holds the rules that look at the message alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickets.mail import ParsedMail
from tickets.queues import INFO_LANGUAGES, PERMISSIONS_LANGUAGES


@dataclass(frozen=True)
class Policy:
    """The routing policy: addresses, queues and languages, all configuration."""

    domain: str = "wikimedia.org"
    role_addresses: dict[str, str] = field(
        default_factory=lambda: {
            "press": "Role::Press",
            "wikimania": "Role::Wikimania",
            "training": "Training",
        }
    )
    generic_addresses: dict[str, str] = field(
        default_factory=lambda: {"info": "Info", "permissions": "Permissions"}
    )
    languages: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"Info": INFO_LANGUAGES, "Permissions": PERMISSIONS_LANGUAGES}
    )
    junk_queue: str = "Junk"
    fallback_queue: str = "Info"


@dataclass(frozen=True)
class Decision:
    """Where a message goes, and the name of the rule that decided it."""

    queue: str
    rule: str


def _local_part(address: str, domain: str) -> str | None:
    local, _, host = address.rpartition("@")
    return local if local and host == domain.lower() else None


def deciding_address(mail: ParsedMail, policy: Policy) -> str | None:
    """The local part of the first known address in To, then Cc, then Delivered-To."""
    known = set(policy.role_addresses) | set(policy.generic_addresses)
    for address in [*mail.to, *mail.cc, *mail.delivered_to]:
        local = _local_part(address, policy.domain)
        if local is None:
            continue
        base, _, lang = local.partition("-")
        if local in known or (base in policy.generic_addresses and lang):
            return local
    return None


def route(mail: ParsedMail, policy: Policy) -> Decision:
    """Decide the queue of a message that is neither a follow-up nor a duplicate."""
    if mail.spam:
        return Decision(policy.junk_queue, "spam")
    local = deciding_address(mail, policy)
    if local is None:
        return Decision(policy.fallback_queue, "fallback")
    if local in policy.role_addresses:
        return Decision(policy.role_addresses[local], "role")
    base, _, lang = local.partition("-")
    parent = policy.generic_addresses[base]
    if lang and lang in policy.languages.get(parent, ()):
        return Decision(f"{parent}::{lang}", "address-lang")
    return Decision(parent, "fallback")
