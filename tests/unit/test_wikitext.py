from wikibridge.wiki.wikitext import (
    PageTags,
    TemplateNames,
    confirm_permission,
    permission_ids,
)

N = "2016060210016939"


def add_permission_template(text: str, number: str, template: str, aliases=()):
    return confirm_permission(text, number, TemplateNames(template, tuple(aliases)))


def test_adds_template_above_categories():
    text = "== Summary ==\nA harbour.\n\n[[Category:Harbours]]\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert result.changed
    assert result.text.index("{{PermissionTicket|id=2016060210016939}}") < result.text.index(
        "[[Category:Harbours]]"
    )


def test_adds_into_information_permission_field():
    text = "{{Information\n|description=x\n|permission=\n|other=y\n}}\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert "|permission={{PermissionTicket|id=2016060210016939}}\n|other=y" in result.text


def test_same_ticket_left_alone():
    text = "{{PermissionTicket|id=2016060210016939}}\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert not result.changed
    assert result.existing == (N,)


def test_other_ticket_reported_not_overwritten_even_via_alias():
    text = "{{VRT permission|id=2020010110000011}}\n"
    result = add_permission_template(text, N, "PermissionTicket", ["VRT permission"])
    assert not result.changed
    assert result.existing == ("2020010110000011",)
    assert result.text == text


def test_permission_ids_normalises_names():
    text = "{{template:permissionTicket |id= 123 }} {{Other|id=9}}"
    assert permission_ids(text, ["PermissionTicket"]) == ["123"]


# --- confirm_permission, mark_pending, page_tags -----------------------------------

import datetime  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wikibridge.wiki.wikitext import (  # noqa: E402
    licence_template,
    mark_pending,
    page_tags,
)

NAMES = TemplateNames()
TAG = "{{PermissionTicket|id=2016060210016939}}"
DAY = datetime.date(2026, 3, 5)
PENDING = "{{Permission pending|id=2016060210016939|day=5|month=March|year=2026}}"

PAGE = """=={{int:filedesc}}==
{{Information
|description={{en|1=The harbour at dawn}}
|date=2020-05-01
|source={{own}}
|author=[[User:Example|Example]]
|permission=
|other versions=
}}

=={{int:license-header}}==
{{self|cc-by-sa-4.0}}

[[Category:Harbours]]
[[Category:Dawn]]
"""

PLAIN = """== Summary ==
A boat. <!-- {{No permission since}} stays: it is a comment -->
{{Location|54|N|10|E}}

{{No permission since|month=May|day=1|year=2026}}

<nowiki>{{No permission since}}</nowiki>

[[Category:Boats]]
"""


def test_confirm_fills_information_permission():
    change = confirm_permission(PAGE, N, NAMES)
    assert change.outcome == "changed"
    assert change.added == (TAG,)
    assert change.text == PAGE.replace("|permission=\n", f"|permission={TAG}\n")


def test_confirm_appends_after_existing_permission_text():
    page = PAGE.replace("|permission=\n", "|permission=See below\n")
    change = confirm_permission(page, N, NAMES)
    assert f"|permission=See below {TAG}\n|other versions=" in change.text


def test_confirm_replaces_no_permission_inside_information():
    page = PAGE.replace("|permission=\n", "|permission={{No permission since|month=May}}\n")
    change = confirm_permission(page, N, NAMES)
    assert change.text == PAGE.replace("|permission=\n", f"|permission={TAG}\n")
    assert change.removed == ("No permission since",)


def test_confirm_own_line_removes_line_without_debris():
    change = confirm_permission(PLAIN, N, NAMES)
    assert change.text == PLAIN.replace(
        "{{No permission since|month=May|day=1|year=2026}}\n\n", ""
    ).replace("[[Category:Boats]]", f"{TAG}\n[[Category:Boats]]")
    assert "\n\n\n" not in change.text
    assert change.removed == ("No permission since",)


def test_confirm_leaves_comments_and_nowiki_alone():
    change = confirm_permission(PLAIN, N, NAMES)
    assert "<!-- {{No permission since}} stays: it is a comment -->" in change.text
    assert "<nowiki>{{No permission since}}</nowiki>" in change.text


def test_confirm_round_trips_unrelated_content_byte_for_byte():
    page = (
        "Intro  with  double spaces\t\r\n{{Foo|a = 1 | b=<ref>{{Cite|x}}</ref>}}\n\n\n"
        "{{ permission_received |id=5}}\n[[Category:A|sort key]]\ntrailing"
    )
    change = confirm_permission(page, N, NAMES)
    expected = page.replace("{{ permission_received |id=5}}\n", "").replace(
        "[[Category:A", TAG + "\n[[Category:A"
    )
    assert change.text == expected
    assert change.removed == ("Permission received",)


def test_confirm_removes_every_waiting_template_and_blank_neighbour():
    page = "Text\n\n{{No permission since}}\n{{Permission pending|id=1}}\n\nMore\n"
    change = confirm_permission(page, N, NAMES)
    assert change.text == f"Text\n\nMore\n{TAG}\n"
    assert change.removed == ("No permission since", "Permission pending")


def test_confirm_removal_at_start_and_end():
    assert confirm_permission("{{No permission since}}\n\nBody\n", N, NAMES).text == (
        f"Body\n{TAG}\n"
    )
    assert confirm_permission("Body\n\n{{No permission since}}", N, NAMES).text == (
        f"Body\n{TAG}\n"
    )


def test_confirm_removal_inside_a_line_keeps_the_rest():
    page = "{{Foo}} {{No permission since}} {{Bar}}\n[[Category:X]]\n"
    change = confirm_permission(page, N, NAMES)
    assert change.text == f"{{{{Foo}}}} {{{{Bar}}}}\n{TAG}\n[[Category:X]]\n"


def test_confirm_at_end_without_categories():
    assert confirm_permission("Body", N, NAMES).text == f"Body\n{TAG}\n"
    assert confirm_permission("Body\n", N, NAMES).text == f"Body\n{TAG}\n"
    assert confirm_permission("", N, NAMES).text == f"{TAG}\n"


def test_confirm_same_ticket_is_already():
    page = "{{VRT permission|id=2016060210016939}}\n[[Category:X]]\n"
    change = confirm_permission(page, N, NAMES, "CC-BY-SA-4.0")
    assert (change.outcome, change.changed, change.text) == ("already", False, page)
    assert change.existing == (N,)


def test_confirm_same_ticket_with_leftover_no_permission_is_cleaned():
    page = f"{TAG}\n{{{{No permission since|month=May}}}}\n[[Category:X]]\n"
    change = confirm_permission(page, N, NAMES)
    assert change.outcome == "changed"
    assert change.added == ()
    assert change.text == f"{TAG}\n[[Category:X]]\n"


def test_confirm_other_ticket_left_alone():
    page = "{{OTRS permission|id=2020010110000011}}\n{{No permission since}}\n"
    change = confirm_permission(page, N, NAMES)
    assert (change.outcome, change.changed, change.text) == ("other-ticket", False, page)
    assert change.existing == ("2020010110000011",)


def test_confirm_adds_licence_after_own_line_tag():
    page = "Body\n\n[[Category:X]]\n"
    change = confirm_permission(page, N, NAMES, "CC-BY-SA-4.0")
    assert change.text == f"Body\n\n{TAG}\n{{{{Cc-by-sa-4.0}}}}\n[[Category:X]]\n"
    assert change.added == (TAG, "{{Cc-by-sa-4.0}}")


def test_confirm_adds_licence_above_categories_when_tag_in_information():
    change = confirm_permission(PAGE, N, NAMES, "CC-BY-4.0")
    assert "{{Cc-by-4.0}}\n[[Category:Harbours]]" in change.text
    assert f"|permission={TAG}\n" in change.text


@pytest.mark.parametrize(
    "carried",
    [
        "{{self|cc-by-sa-4.0}}",
        "{{Self|GFDL|CC-BY-SA-4.0}}",
        "{{Cc-by-sa-4.0}}",
        "{{cc-by-sa-4.0,3.0,2.5}}",
        "{{Template:Cc-by-sa-4.0}}",
    ],
)
def test_confirm_does_not_add_licence_already_carried(carried):
    change = confirm_permission(f"Body\n{carried}\n", N, NAMES, "CC-BY-SA-4.0")
    assert change.added == (TAG,)


def test_confirm_cc0_recognised_under_either_name():
    assert confirm_permission("{{CC0}}\n", N, NAMES, "CC0-1.0").added == (TAG,)
    assert confirm_permission("{{Cc-zero}}\n", N, NAMES, "CC0-1.0").added == (TAG,)


def test_confirm_unknown_licence_is_a_caller_error():
    with pytest.raises(ValueError, match="no licence template"):
        confirm_permission("Body\n", N, NAMES, "MIT")


def test_confirm_uses_configured_names():
    names = TemplateNames(permission="Ticket", permission_aliases=(), no_permission=("Npd",))
    change = confirm_permission("{{npd}}\n{{PermissionTicket|id=1}}\n", "7", names)
    assert change.text == "{{PermissionTicket|id=1}}\n{{Ticket|id=7}}\n"


def test_mark_pending_adds_dated_template_and_removes_no_permission():
    change = mark_pending(PLAIN, N, DAY, NAMES)
    assert change.outcome == "changed"
    assert change.added == (PENDING,)
    assert f"{PENDING}\n[[Category:Boats]]" in change.text
    assert "{{No permission since|month=May" not in change.text


def test_mark_pending_into_information():
    change = mark_pending(PAGE, N, DAY, NAMES)
    assert f"|permission={PENDING}\n" in change.text


def test_mark_pending_replaces_other_pending():
    page = "Body\n{{Permission pending}}\n{{Permission pending|id=1}}\n[[Category:X]]\n"
    change = mark_pending(page, N, DAY, NAMES)
    assert change.text == f"Body\n{PENDING}\n[[Category:X]]\n"
    assert change.removed == ("Permission pending",)


def test_mark_pending_already_and_other_ticket():
    assert mark_pending(f"{PENDING}\n", N, DAY, NAMES).outcome == "already"
    assert mark_pending(f"{TAG}\n", N, DAY, NAMES).outcome == "already"
    other = mark_pending("{{PermissionTicket|id=1}}\n", N, DAY, NAMES)
    assert (other.outcome, other.changed, other.existing) == ("other-ticket", False, ("1",))


def test_page_tags():
    page = (
        "{{Information|permission={{VRT permission|id=11}}}}\n{{PermissionTicket|id=22}}\n"
        "{{Permission pending}}{{permission_pending|id=33}}\n{{Permission received|id=44}}\n"
        "{{No permission since|month=May}}\n{{self|cc-by-sa-4.0|GFDL|author=me}}\n"
        "{{PD-old}}\n{{cc-zero}}\n{{Location|1|2}}\n"
    )
    assert page_tags(page, NAMES) == PageTags(
        tickets=("11", "22"),
        pending=("", "33"),
        no_permission=True,
        received=("44",),
        licences=("cc-by-sa-4.0", "GFDL", "PD-old", "cc-zero"),
    )


@pytest.mark.parametrize(
    ("licence", "template"),
    [
        ("CC-BY-SA-4.0", "Cc-by-sa-4.0"),
        ("CC-BY-SA-3.0", "Cc-by-sa-3.0"),
        ("CC-BY-4.0", "Cc-by-4.0"),
        ("CC-BY-2.0", "Cc-by-2.0"),
        ("CC0-1.0", "Cc-zero"),
        ("GFDL-1.2", "GFDL"),
        ("cc-by-sa-2.5", "Cc-by-sa-2.5"),
    ],
)
def test_licence_template(licence, template):
    assert licence_template(licence) == template


@pytest.mark.parametrize(
    "text",
    [
        "{{",
        "}}{{PermissionTicket|id=",
        "<nowiki>",
        "<!-- never closed",
        "[[Category:",
        "{{Information|permission=",
        "{{a|{{b|{{c}}}}}}\n{{No permission since|x={{Permission pending}}}}",
        "\ue000\ue001{{No permission since}}",
        "<ref>{{PermissionTicket|id=2016060210016939}}",
    ],
)
def test_malformed_input_never_raises(text):
    for change in (
        confirm_permission(text, N, NAMES, "CC-BY-SA-4.0"),
        mark_pending(text, N, DAY, NAMES),
    ):
        assert change.text == text or N in change.text
    page_tags(text, NAMES)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *"ab \n|=}{[]<>!-:",
                *("{{", "}}", "[[Category:X]]", "{{No permission since}}", "<nowiki>"),
                *("</nowiki>", "{{Information|permission=", "<!--", "-->", "\n\n"),
                *("{{Permission pending}}", "{{self|cc-by-sa-4.0}}", "<ref>", "</ref>"),
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_confirm_is_idempotent(text):
    first = confirm_permission(text, N, NAMES)
    assert first.text == text or TAG in first.text
    if first.outcome == "changed":
        assert confirm_permission(first.text, N, NAMES).outcome == "already"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_confirm_on_any_text(text):
    first = confirm_permission(text, N, NAMES)
    assert first.text == text or TAG in first.text
    if first.changed:
        assert confirm_permission(first.text, N, NAMES).outcome == "already"


def test_existing_double_blank_lines_are_not_collapsed():
    page = "A\n\n{{No permission since}}\n\n\nB\n"
    assert confirm_permission(page, N, NAMES).text == f"A\n\n\nB\n{TAG}\n"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \n|={}[]<>!-:")), max_size=60))
def test_mark_pending_is_idempotent(text):
    first = mark_pending(text, N, DAY, NAMES)
    assert first.text == text or PENDING in first.text
    if first.changed:
        assert mark_pending(first.text, N, DAY, NAMES).outcome == "already"
