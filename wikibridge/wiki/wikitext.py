"""Changing file pages' wikitext with mwparserfromhell: templates, not string hacks.

Templates are found and removed through the parse tree.  Removed templates
and the insertion point are first replaced by marker characters (private-use
code points absent from the page), so that the only string work left is on
whole lines: dropping a line a removal has emptied, and inserting a new line.
Everything else in the page stays byte-identical.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import mwparserfromhell
from mwparserfromhell.nodes import Template, Text, Wikilink
from mwparserfromhell.wikicode import Wikicode

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _canon(name: str) -> str:
    """A template name as MediaWiki compares it: ``_`` is a space, first letter upper."""
    name = " ".join(name.replace("_", " ").split())
    if name.lower().startswith("template:"):
        name = name[len("template:") :].strip()
    return name[:1].upper() + name[1:]


def _name(template: Template) -> str:
    return _canon(str(template.name))


def _id(template: Template) -> str:
    return str(template.get("id").value).strip() if template.has("id") else ""


@dataclass(frozen=True)
class TemplateNames:
    """Which templates mean what on the wiki (from the settings)."""

    permission: str = "PermissionTicket"
    permission_aliases: tuple[str, ...] = ("VRT permission", "OTRS permission")
    pending: str = "Permission pending"
    no_permission: tuple[str, ...] = ("No permission since",)
    received: tuple[str, ...] = ("Permission received",)

    def permissions(self) -> frozenset[str]:
        """Canonical names of the permission template and its aliases."""
        return frozenset(_canon(n) for n in (self.permission, *self.permission_aliases))


@dataclass(frozen=True)
class PageTags:
    """What permission-related templates a page's text carries."""

    #: Ids cited by permission templates (any alias), in order.
    tickets: tuple[str, ...]
    #: Ids of pending templates ("" for a pending template without id).
    pending: tuple[str, ...]
    no_permission: bool
    #: Ids of "permission received" templates ("" without id).
    received: tuple[str, ...]
    #: Licence templates as written; for ``{{self|…}}`` the licences it lists.
    licences: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """A proposed new text for a page and what it does."""

    #: The new text (the old text when not changed).
    text: str
    changed: bool
    #: "changed", "already" (the page carries this ticket or this pending mark),
    #: "other-ticket" (it carries another ticket's permission: left alone), or
    #: "unparseable" (no safe place for the tag was found: left alone).
    outcome: str
    #: Ticket ids already cited by permission templates.
    existing: tuple[str, ...]
    #: Template calls added, e.g. ``("{{PermissionTicket|id=…}}", "{{Cc-by-sa-4.0}}")``.
    added: tuple[str, ...]
    #: Names of templates removed, e.g. ``("No permission since",)``.
    removed: tuple[str, ...]


# --- Licences --------------------------------------------------------------------

_LICENCE_TEMPLATES: dict[str, str] = {
    "CC-BY-SA-4.0": "Cc-by-sa-4.0",
    "CC-BY-SA-3.0": "Cc-by-sa-3.0",
    "CC-BY-SA-2.0": "Cc-by-sa-2.0",
    "CC-BY-4.0": "Cc-by-4.0",
    "CC-BY-3.0": "Cc-by-3.0",
    "CC-BY-2.0": "Cc-by-2.0",
    "CC0-1.0": "Cc-zero",
    "GFDL-1.2": "GFDL",
}
_CC_ID = re.compile(r"CC-BY(?:-SA)?-\d\.\d", re.IGNORECASE)
_LICENCE_NAME = re.compile(r"cc-by-.*|cc-zero|cc0|gfdl(?:-.*)?|pd-.+|self", re.IGNORECASE)
_VERSION = re.compile(r"\d+(?:\.\d+)?")


def licence_template(licence_id: str) -> str:
    """The Commons template for a licence id, e.g. ``"CC-BY-SA-4.0"`` -> ``"Cc-by-sa-4.0"``.

    :raises ValueError: for an id with no known template.
    """
    key = licence_id.strip().upper()
    if key in _LICENCE_TEMPLATES:
        return _LICENCE_TEMPLATES[key]
    if _CC_ID.fullmatch(key):
        return key[:1] + key[1:].lower()
    if key in ("CC0", "CC-ZERO"):
        return "Cc-zero"
    if key == "GFDL" or key.startswith("GFDL-"):
        return "GFDL"
    raise ValueError(f"no licence template known for {licence_id!r}")


def _licence_keys(name: str) -> list[str]:
    """Comparable keys of the licences a template name stands for.

    Commons' multi-version templates count for each version:
    ``Cc-by-sa-4.0,3.0`` carries ``cc-by-sa-4.0`` and ``cc-by-sa-3.0``.
    """
    first, *more = [_canon(part).lower() for part in name.split(",")]
    if first in ("cc0", "cc-zero") or first.startswith("cc0-"):
        return ["cc-zero"]
    if first == "gfdl" or first.startswith("gfdl-"):
        return ["gfdl"]
    keys = [first]
    stem = _VERSION.split(first)[0] if _VERSION.search(first) else ""
    keys += [stem + version for version in more if stem and _VERSION.fullmatch(version)]
    return keys


def _licences(code: Wikicode) -> list[str]:
    found: list[str] = []
    for tpl in code.filter_templates(recursive=True):
        name = str(tpl.name).strip()
        if not _LICENCE_NAME.fullmatch(_canon(name)):
            continue
        if _canon(name).lower() == "self":
            # {{self|cc-by-sa-4.0|GFDL}}: the licences are the positional parameters.
            found += [str(p.value).strip() for p in tpl.params if not p.showkey]
        else:
            found.append(name)
    return [f for f in found if f]


# --- Reading ---------------------------------------------------------------------


def permission_ids(text: str, names: Iterable[str]) -> list[str]:
    """Ticket numbers cited by permission templates (any of ``names``) in ``text``."""
    wanted = {_canon(n) for n in names}
    return [
        _id(tpl)
        for tpl in mwparserfromhell.parse(text).filter_templates(recursive=True)
        if _name(tpl) in wanted and tpl.has("id")
    ]


def _tags(code: Wikicode, names: TemplateNames) -> PageTags:
    permissions = names.permissions()
    pending = _canon(names.pending)
    no_permission = {_canon(n) for n in names.no_permission}
    received = {_canon(n) for n in names.received}
    tickets: list[str] = []
    pendings: list[str] = []
    receiveds: list[str] = []
    unpermitted = False
    for tpl in code.filter_templates(recursive=True):
        name = _name(tpl)
        if name in permissions and tpl.has("id"):
            tickets.append(_id(tpl))
        elif name == pending:
            pendings.append(_id(tpl))
        elif name in received:
            receiveds.append(_id(tpl))
        elif name in no_permission:
            unpermitted = True
    return PageTags(
        tuple(tickets), tuple(pendings), unpermitted, tuple(receiveds), tuple(_licences(code))
    )


def page_tags(text: str, names: TemplateNames) -> PageTags:
    """What permission-related templates ``text`` carries (never raises)."""
    try:
        return _tags(mwparserfromhell.parse(text), names)
    except Exception:  # noqa: BLE001 - a page we cannot read carries nothing we know
        return PageTags((), (), False, (), ())


# --- Editing ---------------------------------------------------------------------


def _markers(text: str) -> tuple[str, str]:
    """Two private-use characters that do not occur in ``text``."""
    free = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    return next(free), next(free)


class _Edit:
    """One pass over a page: removals, an addition, then the lines tidied."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.code = mwparserfromhell.parse(text)
        self.gone, self.here = _markers(text)
        self.removed: list[str] = []
        self.in_information = False

    def remove(self, wanted: Iterable[str]) -> None:
        """Replace every template named in ``wanted`` by the removal marker."""
        wanted = set(wanted)
        for tpl in self.code.filter_templates(recursive=True):
            name = _name(tpl)
            if name not in wanted:
                continue
            try:
                self.code.replace(tpl, self.gone)
            except ValueError:
                continue  # inside a template already removed
            if name not in self.removed:
                self.removed.append(name)

    def add(self, call: str) -> None:
        """Put ``call`` in a top-level ``{{Information}}``'s ``permission=`` or mark a line."""
        info = next(
            (
                t
                for t in self.code.filter_templates(recursive=False)
                if _name(t) == "Information" and t.has("permission")
            ),
            None,
        )
        if info is not None:
            param = info.get("permission")
            value = str(param.value)
            current = value.rstrip()
            trailing = value[len(current) :] or "\n"
            # A value left holding only removed templates counts as empty.
            empty = not current.replace(self.gone, "").strip()
            param.value = current + ("" if empty else " ") + call + trailing
            self.in_information = True
            return
        self.mark_categories()

    def mark_categories(self) -> None:
        """Mark the first top-level category link, where new lines go (else the end)."""
        for node in self.code.nodes:
            if isinstance(node, Wikilink):
                title = str(node.title).strip().replace("_", " ").lower()
                if re.match(r"category\s*:", title):
                    self.code.insert_before(node, Text(self.here))
                    return

    def render(self, lines: Sequence[str]) -> str:
        """The new text: emptied lines dropped, ``lines`` inserted at the mark."""
        parts = _drop_emptied(str(self.code).split("\n"), self.gone)
        marked = next((i for i, part in enumerate(parts) if self.here in part), None)
        if marked is not None:
            parts[marked] = parts[marked].replace(self.here, "")
            parts[marked:marked] = lines
            return "\n".join(parts)
        text = "\n".join(parts)
        if not lines:
            return text
        if text and not text.endswith("\n"):
            text += "\n"
        return text + "\n".join(lines) + "\n"


def _tidy(line: str, gone: str) -> str:
    """A kept line without its removal markers (and the space that separated them)."""
    line = re.sub(f"{gone}+", gone, line)
    line = re.sub(f" {gone}(?= |$)", "", line)
    line = re.sub(f"^{gone} ", "", line)
    return line.replace(gone, "")


def _drop_emptied(parts: list[str], gone: str) -> list[str]:
    """Drop lines that removals emptied, without leaving a double blank line.

    ``parts`` is the text split on newlines: its last element is what follows
    the final newline ("" when the text ends with one), not a line of its own.
    """
    keep = [not (gone in part and not part.replace(gone, "").strip()) for part in parts]
    last = len(parts) - 1
    i = 0
    while i < len(parts):
        if keep[i]:
            i += 1
            continue
        end = i
        while end < len(parts) and not keep[end]:
            end += 1
        before = next((j for j in range(i - 1, -1, -1) if keep[j]), None)
        after = next((j for j in range(end, len(parts)) if keep[j]), None)
        at_end = after is None or (after == last and parts[last] == "")
        blank_before = before is not None and not parts[before].strip()
        if after is not None and not at_end and not parts[after].strip():
            if blank_before or before is None:
                # The removed lines sat between two blank lines, or opened the page.
                keep[after] = False
                end = after + 1  # a blank line dropped here is not a new run
        elif before is not None and blank_before and at_end:
            keep[before] = False  # … or closed the page, after a blank line
        i = end
    return [_tidy(part, gone) for part, kept in zip(parts, keep, strict=True) if kept]


def _unchanged(text: str, outcome: str, existing: tuple[str, ...] = ()) -> Change:
    return Change(text, False, outcome, existing, (), ())


def _finish(
    edit: _Edit,
    call: str | None,
    extra: str | None,
    verify: TemplateNames,
    is_done: str,
    existing: tuple[str, ...],
) -> Change:
    """Render ``edit``; check by re-reading that ``is_done`` (a ticket id) took effect.

    ``call`` was already placed by :meth:`_Edit.add`; ``extra`` (a licence)
    goes on the line after it, or above the categories when the call went into
    ``{{Information}}``.  Should the result not read back as tagged (an
    unclosed tag swallowing the end of the page, say), the tag is put at the top
    instead, and failing that the page is left alone.
    """
    own_line = [c for c in (call, extra) if c and not (c == call and edit.in_information)]
    if call is not None and edit.in_information and extra:
        edit.mark_categories()
    new = edit.render(own_line)
    added = tuple(c for c in (call, extra) if c)
    if call is not None and not _carries(new, verify, is_done):
        fallback = "\n".join(own_line or [call]) + "\n" + edit.render([])
        if edit.in_information or not _carries(fallback, verify, is_done):
            return _unchanged(edit.text, "unparseable", existing)
        new = fallback
    if new == edit.text:
        return _unchanged(edit.text, "already", existing)
    return Change(new, True, "changed", existing, added, tuple(edit.removed))


def _carries(text: str, names: TemplateNames, is_done: str) -> bool:
    tags = _tags(mwparserfromhell.parse(text), names)
    return is_done in tags.tickets or is_done in tags.pending


def confirm_permission(
    text: str, number: str, names: TemplateNames, licence: str | None = None
) -> Change:
    """Tag a page with ticket ``number``'s permission, and clean its waiting marks.

    A page that cites this ticket already is only cleaned of leftover
    no-permission, pending and received templates (outcome "already" when there
    are none).  A page citing another ticket is left alone ("other-ticket"):
    overwriting another volunteer's verified permission would lose information.
    Otherwise ``{{<permission>|id=<number>}}`` goes into the ``permission=`` of a
    top-level ``{{Information}}``, else on its own line above the first
    category, and the licence template (when ``licence`` is given and the page
    carries no template of it) on the line after it.

    :param licence: a licence id such as ``"CC-BY-SA-4.0"``
        (:func:`tickets.licences.licence_named`).
    :raises ValueError: for a licence with no known template (never for the text).
    """
    licence_call = f"{{{{{licence_template(licence)}}}}}" if licence else None
    try:
        return _confirm(text, number.strip(), names, licence_call)
    except Exception:  # noqa: BLE001 - a page we cannot read is left alone, never broken
        return _unchanged(text, "unparseable")


def _confirm(text: str, number: str, names: TemplateNames, licence_call: str | None) -> Change:
    edit = _Edit(text)
    tags = _tags(edit.code, names)
    if tags.tickets and number not in tags.tickets:
        return _unchanged(text, "other-ticket", tags.tickets)
    edit.remove({_canon(n) for n in (*names.no_permission, names.pending, *names.received)})
    if number in tags.tickets:
        return _finish(edit, None, None, names, number, tags.tickets)
    call = f"{{{{{names.permission}|id={number}}}}}"
    carried = {key for name in tags.licences for key in _licence_keys(name)}
    if licence_call and _licence_keys(licence_call.strip("{}"))[0] in carried:
        licence_call = None
    edit.add(call)
    return _finish(edit, call, licence_call, names, number, tags.tickets)


def mark_pending(text: str, number: str, day: datetime.date, names: TemplateNames) -> Change:
    """Mark a page as waiting for ticket ``number``'s permission to be checked.

    Pages citing a permission ticket are left alone ("already" for this one,
    "other-ticket" otherwise), as are pages already pending on this ticket.
    Otherwise no-permission templates and any other pending template go, and
    ``{{<pending>|id=…|day=…|month=…|year=…}}`` goes where a permission tag
    would.  Never raises.
    """
    try:
        return _pending(text, number.strip(), day, names)
    except Exception:  # noqa: BLE001 - a page we cannot read is left alone, never broken
        return _unchanged(text, "unparseable")


def _pending(text: str, number: str, day: datetime.date, names: TemplateNames) -> Change:
    edit = _Edit(text)
    tags = _tags(edit.code, names)
    if tags.tickets:
        outcome = "already" if number in tags.tickets else "other-ticket"
        return _unchanged(text, outcome, tags.tickets)
    if number in tags.pending:
        return _unchanged(text, "already")
    edit.remove({_canon(n) for n in (*names.no_permission, names.pending)})
    call = (
        f"{{{{{names.pending}|id={number}|day={day.day}"
        f"|month={_MONTHS[day.month - 1]}|year={day.year:04d}}}}}"
    )
    edit.add(call)
    return _finish(edit, call, None, names, number, ())
