"""The project's documents stand on their own: every link they make leads inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_links_lead_to_files_in_the_repository(document):
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # an outside address, not a file
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{document.name} links outside: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_points_outside_the_repository(document):
    assert "../shared" not in document.read_text(encoding="utf-8")


def test_the_routing_policy_is_described_here():
    text = (ROOT / "docs" / "ROUTING.md").read_text(encoding="utf-8")
    for rule in ("Follow-up", "Duplicate", "Spam", "Role and training", "Content", "language"):
        assert rule in text
