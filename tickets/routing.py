"""Which queue a new message belongs in (``docs/ROUTING.md``).

The policy is data (:class:`Policy`, saved as versioned JSON documents by
:mod:`tickets.policies`), so administrators can change it and try a change on
sample mail (``wikibridge mail classify --policy``) before switching it on.
Follow-up and duplicate detection need the store, so :mod:`tickets.intake`
decides those first; :func:`route` holds the rules that look at the message.
"""

from __future__ import annotations

import re

from tickets.mail import ParsedMail
from tickets.queues import INFO_LANGUAGES, PERMISSIONS_LANGUAGES
from tickets.records import Record, field
from tickets.statements import statement_evidence
from tickets.text import main_text

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Detector(Protocol):
        """Anything that tells the language of a text (see :mod:`tickets.language`)."""

        def detect(self, text: str) -> str | None: ...


#: Rule names, in the spec's order of precedence.
RULES = (
    "followup",
    "duplicate",
    "spam",
    "role",
    "content",
    "address-lang",
    "detected-lang",
    "fallback",
)


class Address(Record):
    """What a local part (``info``, ``info-de``, ``press``) of the mail domain means."""

    queue: str
    #: Role and training addresses decide alone, whatever the text says.
    role: bool = False
    #: The language the address names (``info-de``): it decides the subqueue.
    language: str | None = None


def _default_addresses() -> dict[str, Address]:
    addresses = {
        "info": Address("Info"),
        "permissions": Address("Permissions"),
        "press": Address("Role::Press", role=True),
        "wikimania": Address("Role::Wikimania", role=True),
        "training": Address("Training", role=True),
    }
    for lang in INFO_LANGUAGES:
        addresses[f"info-{lang}"] = Address(f"Info::{lang}", language=lang)
    for lang in PERMISSIONS_LANGUAGES:
        addresses[f"permissions-{lang}"] = Address(f"Permissions::{lang}", language=lang)
    return addresses


class Policy(Record):
    """The routing policy: addresses, queues, languages and content patterns."""

    domain: str = "wikimedia.org"
    addresses: dict[str, Address] = field(default_factory=_default_addresses)
    #: Queues that have language subqueues, and which languages they have.
    subqueues: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"Info": INFO_LANGUAGES, "Permissions": PERMISSIONS_LANGUAGES}
    )
    #: Mail for these queues that is a permission statement goes to ``content_queue``.
    content_from: tuple[str, ...] = ("Info",)
    content_queue: str = "Permissions"
    #: Extra phrases (regular expressions) that mark a permission statement.
    content_patterns: tuple[str, ...] = ()
    junk_queue: str = "Junk"
    fallback_queue: str = "Info"

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages worth detecting: every subqueue's, and English."""
        langs = {"en"}
        for subs in self.subqueues.values():
            langs.update(subs)
        return tuple(sorted(langs))

    def to_document(self) -> dict[str, Any]:
        """The policy as a JSON-able document."""
        doc = self.as_dict()
        doc["addresses"] = {
            local: {k: v for k, v in a.as_dict().items() if v not in (None, False)}
            for local, a in self.addresses.items()
        }
        doc["subqueues"] = {q: list(langs) for q, langs in self.subqueues.items()}
        doc["content_from"] = list(self.content_from)
        doc["content_patterns"] = list(self.content_patterns)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Policy:
        """Read a document made by :meth:`to_document` (or written by an administrator).

        :raises ValueError: naming the first thing that is wrong with it.
        """
        known = set(cls._fields)
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        base = cls()
        try:
            addresses = {
                str(local).lower(): Address(
                    queue=str(a["queue"]),
                    role=bool(a.get("role", False)),
                    language=a.get("language"),
                )
                for local, a in doc.get("addresses", {}).items()
            } or base.addresses
            return cls(
                domain=str(doc.get("domain", base.domain)).lower(),
                addresses=addresses,
                subqueues={
                    str(q): tuple(str(x) for x in langs)
                    for q, langs in doc.get("subqueues", base.subqueues).items()
                },
                content_from=tuple(doc.get("content_from", base.content_from)),
                content_queue=str(doc.get("content_queue", base.content_queue)),
                content_patterns=tuple(doc.get("content_patterns", base.content_patterns)),
                junk_queue=str(doc.get("junk_queue", base.junk_queue)),
                fallback_queue=str(doc.get("fallback_queue", base.fallback_queue)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed policy: {exc!r}") from exc


class Decision(Record):
    """Where a message goes, the rule that decided it, and why."""

    queue: str
    rule: str
    language: str | None = None
    reason: str = ""


def _local_part(address: str, domain: str) -> str | None:
    local, _, host = address.rpartition("@")
    return local if local and host == domain else None


def deciding_address(mail: ParsedMail, policy: Policy) -> tuple[str, Address] | None:
    """The first known address in To, then Cc, then Delivered-To, and what it means."""
    for address in [*mail.to, *mail.cc, *mail.delivered_to]:
        local = _local_part(address.lower(), policy.domain)
        if local is not None and local in policy.addresses:
            return local, policy.addresses[local]
    return None


def _subqueue(policy: Policy, parent: str, language: str | None) -> str | None:
    if language and language in policy.subqueues.get(parent, ()):
        return f"{parent}::{language}"
    return None


def route(mail: ParsedMail, policy: Policy, detector: Detector) -> Decision:
    """Decide the queue of a message that is neither a follow-up nor a duplicate."""
    if mail.spam:
        return Decision(policy.junk_queue, "spam", reason="spam flag set upstream")
    found = deciding_address(mail, policy)
    if found is not None and found[1].role:
        return Decision(found[1].queue, "role", reason=f"sent to {found[0]}@")
    local, address = found if found else (None, None)
    where = f"sent to {local}@" if local else "no known address"
    text = main_text(mail.body)
    language = detector.detect(f"{mail.subject}\n{text}") if text.strip() else None
    base_queue = address.queue.split("::")[0] if address else policy.fallback_queue
    if base_queue in policy.content_from:
        evidence = _statement(text, language, policy.content_patterns)
        if evidence:
            lang = address.language if address and address.language else language
            queue = _subqueue(policy, policy.content_queue, lang) or policy.content_queue
            return Decision(queue, "content", language, f"permission statement: {evidence!r}")
    if address is not None and address.language:
        return Decision(address.queue, "address-lang", language, where)
    sub = _subqueue(policy, base_queue, language)
    if sub:
        return Decision(sub, "detected-lang", language, f"text in {language}")
    return Decision(base_queue, "fallback", language, where)


def _statement(text: str, language: str | None, extra: tuple[str, ...]) -> str | None:
    """The phrase that makes ``text`` a permission statement, if any."""
    for pattern in extra:
        try:
            match = re.search(pattern, text, re.IGNORECASE)
        except re.error:
            continue  # a broken pattern in the policy must not stop intake
        if match:
            return match.group(0)
    return statement_evidence(text, language)
