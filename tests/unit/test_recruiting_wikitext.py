"""What the desk posts on Meta for recruiting: only public facts, templates filled."""

from __future__ import annotations

from tickets import recruiting_wikitext as wt
from tickets.recruiting_settings import RecruitingSettings


def test_application_section_has_only_the_public_part():
    text = wt.application_section(
        "Ann Example",
        [{"code": "de", "level": "native"}, {"code": "en", "level": "good"}],
        ["Info"],
    )
    assert "[[User:Ann Example|Ann Example]]" in text
    assert "de (native), en (good)" in text
    assert "Info" in text


def test_volunteer_line():
    assert wt.volunteer_line("Ann", ["Info", "Permissions"]) == (
        "* [[User:Ann|Ann]] — Info, Permissions"
    )


def test_decision_in_the_applicants_language_with_english_fallback():
    settings = RecruitingSettings()
    de = wt.decision_text(
        settings,
        approved=True,
        language="de",
        username="Ann",
        queues=["Info"],
        reason="Passt.",
        admin="Ada",
        desk="https://desk",
    )
    assert de.startswith("'''Angenommen''' von [[User:Ada|Ada]] für Info: Passt.")
    fr = wt.decision_text(
        settings,
        approved=False,
        language="fr",
        username="Ann",
        queues=["Info"],
        reason="Later.",
        admin="Ada",
        desk="https://desk",
    )
    assert "Not approved this time" in fr and "Later." in fr


def test_welcome_fills_queues_and_desk():
    text = wt.welcome_text(
        RecruitingSettings(),
        language="en",
        username="Ann",
        queues=["Info"],
        admin="Ada",
        desk="https://desk.example",
    )
    assert "Ann" in text and "Info" in text and "https://desk.example" in text


def test_public_page_names_rules_terms_and_queues_without_markup_from_settings():
    settings = RecruitingSettings(how_to_apply="Write [[here]] {{tpl}}")
    text = wt.public_page(settings, "https://desk.example/volunteer")
    assert "== Where help is wanted ==" in text
    assert "'''<nowiki>Permissions</nowiki>'''" in text
    assert "<nowiki>Write [[here]] {{tpl}}</nowiki>" in text
    assert "at least 500 edits" in text and "30 days old" in text
    assert "[https://desk.example/volunteer Apply at the help desk]" in text
    assert "terms version <nowiki>1</nowiki>" in text


def test_nowiki_cannot_be_closed_early():
    assert wt.nowiki("a</nowiki>[[b]]") == "<nowiki>a&lt;/nowiki>[[b]]</nowiki>"


def test_an_approval_names_the_queues_even_where_the_template_does_not():
    settings = RecruitingSettings(approved={"en": "'''Approved''' by {admin}: {reason} ~~~~"})
    text = wt.decision_text(
        settings,
        approved=True,
        language="en",
        username="Ann",
        queues=["Info", "Permissions"],
        reason="Welcome.",
        admin="Ada",
        desk="https://desk",
    )
    assert text == "'''Approved''' by [[User:Ada|Ada]]: Welcome. (Info, Permissions) ~~~~"


def test_withdrawal_note_is_neutral():
    assert wt.withdrawal_text("Ann") == (
        ":''The application of [[User:Ann|Ann]] was withdrawn by the applicant.''"
    )
