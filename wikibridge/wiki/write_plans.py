"""Deciding what a page write does to a page's text, or that it is already done.

Pure functions of the page as read: the worker calls them before every save,
so a write that a crashed worker had already saved is found on the page and
not made twice. Signature marks (``~~~~``) in the text are expanded by the
wiki on save; a post is recognised by everything around them.

How each op recognises itself on the page:

- NEW_SECTION: a section with that heading whose text contains the post.
- APPEND_TO_SECTION: the post at the end of the (last) section with that
  heading. A section that is gone is added anew, and the message says so.
- ADD_LINE: a line equal to the text (surrounding spaces ignored).
- REMOVE_LINE: lines equal to the text (surrounding spaces ignored) are
  removed; the match is exact, not "any line naming the same user", so a
  list's other lines about that user are never touched.
- REPLACE_PAGE: the page's text equal to the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.wiki_writes import Op
from wikibridge.wiki.sections import posted, saved_form, sections_headed


@dataclass(frozen=True)
class WritePlan:
    """What a write will do: "edit" (save ``text``) or "unchanged" (already so)."""

    verdict: str
    message: str
    text: str = ""


def _join(page: str, addition: str) -> str:
    """``addition`` after ``page``, separated by a blank line when the page has text."""
    page = saved_form(page)
    return f"{page}\n\n{addition}" if page else addition


def _new_section(page: str, heading: str, text: str) -> str:
    return _join(page, f"== {heading.strip()} ==\n{saved_form(text).strip()}")


def plan_write(op: Op | str, exists: bool, page: str, *, text: str, section: str = "") -> WritePlan:
    """What ``op`` does to ``page`` (its current text; ``exists`` False when missing)."""
    op = Op(op)
    page = page if exists else ""
    post = posted(text)
    if op is Op.NEW_SECTION:
        for found in sections_headed(page, section):
            if post.search(found.body(page)):
                return WritePlan("unchanged", f'the section "{section}" is already on the page')
        return WritePlan(
            "edit",
            f'added the section "{section}"' + ("" if exists else " (the page was created)"),
            _new_section(page, section, text),
        )
    if op is Op.APPEND_TO_SECTION:
        found_sections = sections_headed(page, section)
        if not found_sections:
            return WritePlan(
                "edit",
                f'the section "{section}" was not found, so it was added anew with the text',
                _new_section(page, section, text),
            )
        last = found_sections[-1]
        body = saved_form(last.body(page))
        if _ends_with(body, text):
            return WritePlan(
                "unchanged", f'the text is already at the end of the section "{section}"'
            )
        before = saved_form(page[: last.end])
        after = page[last.end :]
        joined = f"{before}\n{saved_form(text).strip()}"
        new = f"{joined}\n\n{after}" if after.strip() else joined
        return WritePlan("edit", f'appended to the section "{section}"', new)
    if op is Op.ADD_LINE:
        line = saved_form(text).strip()
        if any(post.fullmatch(existing.strip()) for existing in page.split("\n")):
            return WritePlan("unchanged", "the line is already on the page")
        page_text = saved_form(page)
        new = f"{page_text}\n{line}" if page_text else line
        return WritePlan(
            "edit", "added the line" + ("" if exists else " (the page was created)"), new
        )
    if op is Op.REMOVE_LINE:
        if not exists:
            return WritePlan("unchanged", "the page does not exist, so the line is not on it")
        lines = page.split("\n")
        kept = [line for line in lines if not post.fullmatch(line.strip())]
        if len(kept) == len(lines):
            return WritePlan("unchanged", "the line is not on the page")
        removed = len(lines) - len(kept)
        what = "the line" if removed == 1 else f"{removed} lines"
        return WritePlan("edit", f"removed {what}", saved_form("\n".join(kept)))
    # REPLACE_PAGE
    if exists and post.fullmatch(saved_form(page)):
        return WritePlan("unchanged", "the page already has this text")
    return WritePlan(
        "edit",
        "replaced the page's text" if exists else "created the page",
        saved_form(text),
    )


def _ends_with(body: str, text: str) -> bool:
    """Whether the post is the last thing in ``body`` (signatures expanded)."""
    pattern = posted(text).pattern
    return re.search(f"(?:{pattern})\\s*\\Z", body) is not None
