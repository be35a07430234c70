"""Changing file pages' wikitext with mwparserfromhell: templates, not string hacks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import mwparserfromhell
from mwparserfromhell.nodes import Template


def _name(template: Template) -> str:
    name = str(template.name).strip().replace("_", " ")
    if name.lower().startswith("template:"):
        name = name[len("template:") :].strip()
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class TagResult:
    """What tagging a page's text did."""

    text: str
    changed: bool
    #: Ticket numbers the page already carried in a permission template.
    existing: tuple[str, ...]


def permission_ids(text: str, names: Iterable[str]) -> list[str]:
    """Ticket numbers cited by permission templates (any of ``names``) in ``text``."""
    wanted = {n[:1].upper() + n[1:] for n in names}
    ids = []
    for tpl in mwparserfromhell.parse(text).filter_templates(recursive=True):
        if _name(tpl) in wanted and tpl.has("id"):
            ids.append(str(tpl.get("id").value).strip())
    return ids


def add_permission_template(
    text: str, number: str, template: str, aliases: Iterable[str] = ()
) -> TagResult:
    """Add ``{{template|id=number}}`` unless the page already cites a ticket.

    A page that already cites this ticket is left alone; one that cites another
    ticket is left alone too and the caller reports it, since overwriting
    another volunteer's verified permission would lose information.
    """
    existing = tuple(permission_ids(text, [template, *aliases]))
    if existing:
        return TagResult(text, False, existing)
    code = mwparserfromhell.parse(text)
    tag = f"{{{{{template}|id={number}}}}}"
    info = next(
        (t for t in code.filter_templates(recursive=False) if _name(t) == "Information"), None
    )
    if info is not None and info.has("permission"):
        param = info.get("permission")
        current = str(param.value).rstrip()
        trailing = str(param.value)[len(current) :]
        param.value = (current + " " if current else "") + tag + (trailing or "\n")
        return TagResult(str(code), True, ())
    # Otherwise the tag goes above the categories, where Commons keeps licences.
    lines = str(code).rstrip("\n").split("\n")
    first_cat = next(
        (i for i, line in enumerate(lines) if line.strip().lower().startswith("[[category:")),
        len(lines),
    )
    lines.insert(first_cat, tag)
    return TagResult("\n".join(lines) + "\n", True, ())
