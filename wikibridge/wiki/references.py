"""Which tickets a page's wikitext cites, as a reader of the rendered page would see them.

A page cites a ticket through a permission template (or one of its aliases,
current or historical), a pending/received template, a link to a ticket URL
(the old system's ``index.pl?Action=AgentTicketZoom&TicketNumber=N``, its
deprecated ``…&TicketID=ID``, or this desk's own zoom), or an interwiki link
(``[[ticket:N]]``). Only what MediaWiki renders counts: text inside comments,
``<nowiki>``, ``<pre>`` and ``<includeonly>`` is blanked before parsing.

On Wikimedia's interwiki map ``ticket:`` leads to ``TicketNumber=``, while
``otrs:`` and ``vrts:`` lead to ``TicketID=``: the old system's internal id,
not the number. Such a reference is kept with ``is_id`` set, so nobody reads
an id as a (wrong) ticket number; a table of known tickets maps ids to numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import mwparserfromhell
from mwparserfromhell.nodes import ExternalLink, Template, Wikilink
from mwparserfromhell.wikicode import Wikicode

from tickets.references import INTERWIKI, PENDING, TEMPLATE, URL, Citation


def title_key(name: str) -> str:
    """A title as MediaWiki compares it: ``_`` and runs of spaces are one space, first upper."""
    name = " ".join(name.replace("_", " ").split())
    return name[:1].upper() + name[1:]


def template_key(name: str) -> str | None:
    """The canonical name of a template call's target, or None when it is no template.

    ``{{:Foo}}`` transcludes an article and ``{{#if:…}}`` is a parser function:
    neither is a template. ``Template:`` in any case is dropped.
    """
    name = name.strip()
    if not name or name.startswith((":", "#")) or "{" in name or "<" in name:
        return None
    if name.lower().startswith("template:"):
        name = name[len("template:") :]
    if ":" in name and name.split(":", 1)[0].strip().lower() in ("subst", "safesubst", "msg"):
        name = name.split(":", 1)[1]
    key = title_key(name)
    return key or None


@dataclass(frozen=True)
class ReferenceNames:
    """Which templates and links cite tickets on one wiki (from the settings).

    Redirects to a template count as the template: the scanner adds the
    redirects' names it finds on the wiki.
    """

    #: Permission templates and their aliases, current and historical.
    permission: tuple[str, ...] = (
        "PermissionTicket",
        "VRT permission",
        "OTRS permission",
        "PermissionOTRS",
    )
    #: Templates that say a permission was received or is pending.
    pending: tuple[str, ...] = (
        "Permission pending",
        "Permission received",
        "OTRS pending",
        "OTRS received",
    )
    #: Parameters that hold the ticket, tried in order; ``1`` is the first positional one.
    parameters: tuple[str, ...] = ("id", "1")
    #: Templates that take their ticket in another parameter: name -> parameters.
    special_parameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Interwiki prefixes leading to ticket numbers, and to the old system's ids.
    number_prefixes: tuple[str, ...] = ("ticket",)
    id_prefixes: tuple[str, ...] = ("otrs", "vrts")
    #: This desk's own zoom addresses, e.g. ``https://desk.example/ticket/``.
    desk_prefixes: tuple[str, ...] = ()

    def kinds(self) -> dict[str, str]:
        """Canonical template name -> reference kind."""
        found = {title_key(n): PENDING for n in self.pending}
        found.update({title_key(n): TEMPLATE for n in self.permission})
        return found

    def with_redirects(self, redirects: dict[str, str]) -> ReferenceNames:
        """These names plus redirects (redirect name -> target name) to any of them."""
        known = {title_key(n) for n in self.permission}
        pending = {title_key(n) for n in self.pending}
        extra_permission = [r for r, t in redirects.items() if title_key(t) in known]
        extra_pending = [r for r, t in redirects.items() if title_key(t) in pending]
        special = dict(self.special_parameters)
        for redirect, target in redirects.items():
            wanted = self.special_parameters.get(target)
            if wanted is not None:
                special[redirect] = wanted
        return ReferenceNames(
            permission=(*self.permission, *extra_permission),
            pending=(*self.pending, *extra_pending),
            parameters=self.parameters,
            special_parameters=special,
            number_prefixes=self.number_prefixes,
            id_prefixes=self.id_prefixes,
            desk_prefixes=self.desk_prefixes,
        )


# What MediaWiki never renders. An unclosed comment or <includeonly> runs to
# the end of the page, as in MediaWiki's preprocessor; an unclosed <nowiki>
# or <pre> is shown as text, so only closed pairs are blanked.
_HIDDEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<nowiki\s*/>"
    r"|<nowiki(?:\s[^>]*)?>.*?</nowiki\s*>"
    r"|<pre(?:\s[^>]*)?>.*?</pre\s*>"
    r"|<includeonly(?:\s[^>]*)?>.*?(?:</includeonly\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)


def rendered_source(text: str) -> str:
    """``text`` with what MediaWiki would not render blanked (offsets kept)."""
    return _HIDDEN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _parameter(template: Template, names: Iterable[str]) -> str:
    for name in names:
        if template.has(name):
            value = template.get(name).value.strip_code().strip()
            if value:
                return value
    return ""


def _from_templates(code: Wikicode, names: ReferenceNames) -> Iterator[Citation]:
    kinds = names.kinds()
    special = {title_key(k): v for k, v in names.special_parameters.items()}
    for template in code.filter_templates(recursive=True):
        key = template_key(str(template.name))
        if key is None or key not in kinds:
            continue
        ticket = _parameter(template, special.get(key, names.parameters))
        if ticket:
            yield Citation(kinds[key], "".join(ticket.split()), source=key)


_OLD_ZOOM = re.compile(r"index\.pl$", re.IGNORECASE)


def ticket_in_url(url: str, desk_prefixes: Iterable[str] = ()) -> tuple[str, bool] | None:
    """``(ticket, is_id)`` a URL points at, or None when it is no ticket URL."""
    url = url.strip()
    for prefix in desk_prefixes:
        if prefix and url.startswith(prefix):
            rest = unquote(url[len(prefix) :]).split("?", 1)[0].split("#", 1)[0].strip("/")
            return (rest, False) if rest.isdigit() else None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not _OLD_ZOOM.search(parts.path):
        return None
    query = {k.lower(): v for k, v in parse_qs(parts.query.replace(";", "&")).items()}
    if query.get("action", [""])[0].lower() != "agentticketzoom":
        return None
    if query.get("ticketnumber"):
        return query["ticketnumber"][0].strip(), False
    if query.get("ticketid"):
        return query["ticketid"][0].strip(), True
    return None


def _from_links(code: Wikicode, names: ReferenceNames) -> Iterator[Citation]:
    for link in code.filter_external_links(recursive=True):
        assert isinstance(link, ExternalLink)
        url = str(link.url)
        found = ticket_in_url(url, names.desk_prefixes)
        if found is not None and found[0]:
            yield Citation(URL, found[0], is_id=found[1], source=url)
    numbers = {p.lower() for p in names.number_prefixes}
    ids = {p.lower() for p in names.id_prefixes}
    for wikilink in code.filter_wikilinks(recursive=True):
        assert isinstance(wikilink, Wikilink)
        target = str(wikilink.title).strip().lstrip(":").strip()
        if ":" not in target:
            continue
        prefix, rest = target.split(":", 1)
        prefix = prefix.strip().lower()
        ticket = "".join(unquote(rest).split())
        if not ticket or prefix not in numbers | ids:
            continue
        yield Citation(INTERWIKI, ticket, is_id=prefix in ids, source=target)


def find_references(text: str, names: ReferenceNames) -> list[Citation]:
    """Every ticket reference ``text`` renders, in order, each distinct one once."""
    code = mwparserfromhell.parse(rendered_source(text))
    seen: set[Citation] = set()
    found: list[Citation] = []
    for reference in (*_from_templates(code, names), *_from_links(code, names)):
        if reference not in seen:
            seen.add(reference)
            found.append(reference)
    return found


def names_from_settings(config: Any) -> ReferenceNames:
    """The reference names of the desk's settings (a Flask config or a mapping)."""
    desk = str(config.get("DESK_URL") or "").rstrip("/")
    return ReferenceNames(
        permission=tuple(
            dict.fromkeys(
                [
                    config["PERMISSION_TEMPLATE"],
                    *config["PERMISSION_TEMPLATE_ALIASES"],
                    *config.get("REFERENCE_PERMISSION_TEMPLATES", []),
                ]
            )
        ),
        pending=tuple(
            dict.fromkeys(
                [
                    config["PENDING_TEMPLATE"],
                    *config.get("RECEIVED_TEMPLATES", []),
                    *config.get("REFERENCE_PENDING_TEMPLATES", []),
                ]
            )
        ),
        number_prefixes=tuple(config.get("REFERENCE_NUMBER_PREFIXES", ["ticket"])),
        id_prefixes=tuple(config.get("REFERENCE_ID_PREFIXES", ["otrs", "vrts"])),
        desk_prefixes=(f"{desk}/tickets/",) if desk else (),
    )
