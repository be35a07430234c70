"""Line diffs of a page's text, to show a volunteer an edit before it is made."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff as shown: context, added, removed, or a gap between hunks."""

    #: "context", "added", "removed" or "gap".
    kind: str
    text: str
    #: The line's number (from 1) in the old text; ``None`` for added lines and gaps.
    old_number: int | None
    #: The line's number (from 1) in the new text; ``None`` for removed lines and gaps.
    new_number: int | None


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line in wikitext; str.splitlines would also split on
    # form feeds and U+2028, numbering lines differently from the wiki.
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def line_diff(old: str, new: str, context: int = 2) -> list[DiffLine]:
    """The lines that differ between ``old`` and ``new``, with ``context`` lines around.

    Hunks are separated by a single "gap" line; equal texts give an empty list.
    Texts that differ only by a final newline count as equal: MediaWiki trims
    it when saving, so it is no difference worth showing.
    """
    if old == new:
        return []
    old_lines = _lines(old)
    new_lines = _lines(new)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    lines: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(max(context, 0)):
        if all(code[0] == "equal" for code in group):
            continue
        if lines:
            lines.append(DiffLine("gap", "", None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("context", old_lines[i], i + 1, j1 + (i - i1) + 1)
                    for i in range(i1, i2)
                ]
                continue
            if tag in ("replace", "delete"):
                lines += [DiffLine("removed", old_lines[i], i + 1, None) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                lines += [DiffLine("added", new_lines[j], None, j + 1) for j in range(j1, j2)]
    return lines
