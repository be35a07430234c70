"""What a page write does to a page's text, and recognising one already made."""

from __future__ import annotations

import pytest

from tickets.wiki_writes import Op
from wikibridge.wiki.sections import posted, sections, sections_headed
from wikibridge.wiki.write_plans import plan_write

SIGNED = "[[User:Alice|Alice]] ([[User talk:Alice|talk]]) 13:05, 3 December 2026 (UTC)"

PAGE = """Intro text.

== Application: Alice ==
I would like to help with permissions. ~~~~

=== Questions ===
Why? [[User:Bob|Bob]] 10:00, 2 December 2026 (UTC)

== Application: Carol ==
Carol's text.
"""


def saved(text: str) -> str:
    """``text`` as the wiki stores it once it expanded Alice's signature."""
    return text.replace("~~~~", SIGNED)


def test_sections_run_to_the_next_heading_of_their_level():
    found = sections(PAGE)
    assert [(s.heading, s.level) for s in found] == [
        ("Application: Alice", 2),
        ("Questions", 3),
        ("Application: Carol", 2),
    ]
    alice = found[0].body(PAGE)
    assert "I would like" in alice and "Why?" in alice and "Carol" not in alice
    assert sections_headed(PAGE, "  Application:   Carol ") == [found[2]]


def test_a_signature_mark_matches_its_expansion():
    pattern = posted("Welcome aboard! ~~~~")
    assert pattern.search(f"Welcome aboard! {SIGNED}")
    assert not pattern.search("Welcome aboard!\n" + SIGNED)
    assert posted("no marks").fullmatch("no marks")


def test_new_section_adds_then_finds_itself():
    text = "Name: Dave\nLanguages: de ~~~~"
    plan = plan_write(Op.NEW_SECTION, True, PAGE, text=text, section="Application: Dave")
    assert plan.verdict == "edit"
    assert plan.text.startswith(PAGE.rstrip())
    assert plan.text.endswith("\n\n== Application: Dave ==\nName: Dave\nLanguages: de ~~~~")
    again = plan_write(
        Op.NEW_SECTION, True, saved(plan.text), text=text, section="Application: Dave"
    )
    assert again.verdict == "unchanged"


def test_new_section_creates_a_missing_page():
    plan = plan_write(Op.NEW_SECTION, False, "", text="Hello", section="First")
    assert plan.verdict == "edit" and plan.text == "== First ==\nHello"
    assert "created" in plan.message


def test_append_goes_at_the_end_of_the_section_and_its_subsections():
    plan = plan_write(
        Op.APPEND_TO_SECTION,
        True,
        PAGE,
        text="Accepted. ~~~~",
        section="Application: Alice",
    )
    assert plan.verdict == "edit"
    before, after = plan.text.split("Accepted. ~~~~")
    assert before.rstrip().endswith("10:00, 2 December 2026 (UTC)")
    assert after == "\n\n== Application: Carol ==\nCarol's text.\n"
    again = plan_write(
        Op.APPEND_TO_SECTION,
        True,
        saved(plan.text),
        text="Accepted. ~~~~",
        section="Application: Alice",
    )
    assert again.verdict == "unchanged"


def test_append_to_the_last_section_and_again_after_another_comment():
    plan = plan_write(
        Op.APPEND_TO_SECTION, True, PAGE, text="Declined.", section="Application: Carol"
    )
    assert plan.text == PAGE.rstrip() + "\nDeclined."
    commented = plan.text + "\n:Why? " + SIGNED
    # Someone answered after it: the text is no longer the section's end.
    assert (
        plan_write(
            Op.APPEND_TO_SECTION, True, commented, text="Declined.", section="Application: Carol"
        ).verdict
        == "edit"
    )


def test_append_to_a_section_that_is_gone_adds_it():
    plan = plan_write(
        Op.APPEND_TO_SECTION, True, PAGE, text="Decision.", section="Application: Zoe"
    )
    assert plan.verdict == "edit"
    assert plan.text.endswith("== Application: Zoe ==\nDecision.")
    assert "not found" in plan.message


def test_add_line_once():
    page = "List:\n* [[User:Alice]]\n"
    plan = plan_write(Op.ADD_LINE, True, page, text="* [[User:Bob]]")
    assert plan.verdict == "edit" and plan.text == "List:\n* [[User:Alice]]\n* [[User:Bob]]"
    assert plan_write(Op.ADD_LINE, True, plan.text, text=" * [[User:Bob]] ").verdict == (
        "unchanged"
    )
    created = plan_write(Op.ADD_LINE, False, "", text="* [[User:Bob]]")
    assert created.text == "* [[User:Bob]]" and "created" in created.message


def test_remove_line_exact_lines_only():
    page = "* [[User:Alice]]\n* [[User:Bob]]\n* [[User:Bob]] (on leave)\n* [[User:Bob]]\n"
    plan = plan_write(Op.REMOVE_LINE, True, page, text="* [[User:Bob]]")
    assert plan.verdict == "edit"
    assert plan.text == "* [[User:Alice]]\n* [[User:Bob]] (on leave)"
    assert "2 lines" in plan.message
    assert plan_write(Op.REMOVE_LINE, True, plan.text, text="* [[User:Bob]]").verdict == (
        "unchanged"
    )
    assert plan_write(Op.REMOVE_LINE, False, "", text="* [[User:Bob]]").verdict == "unchanged"


def test_replace_page():
    assert plan_write(Op.REPLACE_PAGE, True, "Old.\n", text="New.").text == "New."
    assert plan_write(Op.REPLACE_PAGE, True, "New.", text="New.\n\n").verdict == "unchanged"
    assert plan_write(Op.REPLACE_PAGE, False, "", text="New.").message == "created the page"


@pytest.mark.parametrize("op", list(Op))
def test_every_op_is_planned(op):
    plan = plan_write(op, True, PAGE, text="* x", section="Application: Carol")
    assert plan.verdict in ("edit", "unchanged")
