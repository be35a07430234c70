"""Deciding a page's edit from its snapshot, and reading the API's answer."""

from __future__ import annotations

import datetime as dt

import pytest

from wikibridge.wiki.pages import MAX_TITLES, Snapshot, chunks, query_for, snapshots
from wikibridge.wiki.plans import CONFIRM, PENDING, UNDO, plan_edit, summary
from wikibridge.wiki.wikitext import TemplateNames

N = "2026112510000017"
NAMES = TemplateNames()


def file_page(text: str, **kw: object) -> Snapshot:
    return Snapshot(title="File:A.jpg", exists=True, namespace=6, revision=10, text=text, **kw)  # type: ignore[arg-type]


def test_confirm_plans_an_edit_that_removes_no_permission():
    plan = plan_edit(
        CONFIRM, file_page("{{No permission since|day=1}}\n[[Category:X]]\n"), N, NAMES
    )
    assert plan.verdict == "edit"
    assert f"{{{{PermissionTicket|id={N}}}}}" in plan.text
    assert "No permission since" not in plan.text
    assert "removes {{No permission since}}" in plan.message


def test_already_tagged_is_skipped_and_another_ticket_is_a_conflict():
    same = plan_edit(CONFIRM, file_page(f"{{{{PermissionTicket|id={N}}}}}\n"), N, NAMES)
    assert same.verdict == "skipped"
    other = plan_edit(CONFIRM, file_page("{{VRT permission|id=2016060210016939}}\n"), N, NAMES)
    assert other.verdict == "conflict" and "2016060210016939" in other.message


@pytest.mark.parametrize(
    ("snap", "words"),
    [
        (Snapshot(title="File:Gone.jpg", exists=False, namespace=6), "does not exist"),
        (Snapshot(title="File:R.jpg", exists=True, namespace=6, redirect=True), "redirect"),
        (Snapshot(title="Main page", exists=True, namespace=0), "not a file"),
        (Snapshot(title="File:<", exists=False, invalid="bad char"), "not a valid title"),
    ],
)
def test_pages_that_cannot_be_tagged_fail_with_a_reason(snap: Snapshot, words: str):
    plan = plan_edit(CONFIRM, snap, N, NAMES)
    assert plan.verdict == "failed" and words in plan.message


def test_unknown_licence_fails_instead_of_raising():
    plan = plan_edit(CONFIRM, file_page("Text\n"), N, NAMES, licence="MIT")
    assert plan.verdict == "failed"


def test_pending_mark_carries_ticket_and_date():
    plan = plan_edit(PENDING, file_page("Text\n"), N, NAMES, today=dt.date(2026, 11, 25))
    assert plan.verdict == "edit"
    assert f"id={N}" in plan.text and "month=November" in plan.text and "year=2026" in plan.text


def test_undo_only_when_our_edit_is_still_the_latest():
    assert plan_edit(UNDO, file_page("x"), N, NAMES, undo_revision=10).undo == 10
    later = plan_edit(UNDO, file_page("x", user="Bob", comment="fix"), N, NAMES, undo_revision=9)
    assert later.verdict == "failed" and "Bob" in later.message and "fix" in later.message


def test_summary_names_ticket_and_for_bots_the_volunteer():
    assert f"[[ticket:{N}]]" in summary(CONFIRM, N, "Alice", as_bot=False)
    assert "Alice" not in summary(CONFIRM, N, "Alice", as_bot=False)
    assert "requested by Alice" in summary(CONFIRM, N, "Alice", as_bot=True)


def test_snapshots_follow_normalised_titles_and_missing_pages():
    data = {
        "curtimestamp": "2026-11-25T10:00:00Z",
        "query": {
            "normalized": [{"from": "File:a b.jpg", "to": "File:A b.jpg"}],
            "pages": [
                {
                    "title": "File:A b.jpg",
                    "ns": 6,
                    "protection": [{"type": "edit", "level": "sysop"}],
                    "revisions": [
                        {
                            "revid": 5,
                            "timestamp": "2026-11-24T00:00:00Z",
                            "user": "Alice",
                            "comment": "c",
                            "slots": {"main": {"content": "T"}},
                        }
                    ],
                },
                {"title": "File:Gone.jpg", "ns": 6, "missing": True},
            ],
        },
    }
    snaps = snapshots(data, ["File:a b.jpg", "File:Gone.jpg", "File:Unasked.jpg"])
    a = snaps["File:a b.jpg"]
    assert (a.title, a.revision, a.text, a.protection) == ("File:A b.jpg", 5, "T", ("sysop",))
    assert a.read_at == "2026-11-25T10:00:00Z"
    assert not snaps["File:Gone.jpg"].exists and not snaps["File:Unasked.jpg"].exists


def test_queries_hold_at_most_fifty_titles():
    titles = [f"File:{n}.jpg" for n in range(120)]
    assert [len(c) for c in chunks(titles)] == [50, 50, 20]
    assert query_for(titles[:MAX_TITLES])["titles"].count("|") == 49
    with pytest.raises(ValueError):
        query_for(titles[:51])
