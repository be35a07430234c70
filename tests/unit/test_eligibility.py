"""The recruiting rules against what the wiki says of an account."""

from __future__ import annotations

import datetime as dt

from tickets.eligibility import EligibilityFacts, Rule, check, merge_facts, unmet_rules
from tickets.recruiting_settings import Eligibility

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
RULES = Eligibility(min_account_days=30, min_edits=500, confirmed_email=True, groups=())


def facts(**kw) -> EligibilityFacts:
    base = {
        "username": "Ann",
        "editcount": 800,
        "registered": NOW - dt.timedelta(days=400),
        "confirmed_email": True,
    }
    return EligibilityFacts(**{**base, **kw})


def test_everything_met():
    assert unmet_rules(RULES, facts(), NOW) == []
    assert check(RULES, facts(), NOW).eligible


def test_young_account_says_the_day_it_is_old_enough():
    (unmet,) = unmet_rules(RULES, facts(registered=NOW - dt.timedelta(days=10)), NOW)
    assert unmet.rule is Rule.ACCOUNT_AGE
    assert unmet.met_on == dt.date(2026, 12, 23)
    assert unmet.required == 30
    assert "2026-12-23" in unmet.message


def test_naive_registration_counts_as_utc():
    young = facts(registered=dt.datetime(2026, 12, 1))
    (unmet,) = unmet_rules(RULES, young, NOW)
    assert unmet.met_on == dt.date(2026, 12, 31)


def test_undated_old_account_is_old_enough():
    assert unmet_rules(RULES, facts(registered=None), NOW) == []


def test_missing_edits_are_counted():
    (unmet,) = unmet_rules(RULES, facts(editcount=120), NOW)
    assert unmet.rule is Rule.EDITS
    assert unmet.missing == 380


def test_email_unknown_or_unconfirmed_is_unmet():
    for value in (False, None):
        (unmet,) = unmet_rules(RULES, facts(confirmed_email=value), NOW)
        assert unmet.rule is Rule.CONFIRMED_EMAIL


def test_blocked_is_always_refused():
    rules = Eligibility(min_account_days=0, min_edits=0, confirmed_email=False)
    (unmet,) = unmet_rules(rules, facts(blocked=True), NOW)
    assert unmet.rule is Rule.BLOCKED


def test_groups_each_named():
    rules = Eligibility(min_account_days=0, min_edits=0, confirmed_email=False, groups=("a", "b"))
    unmet = unmet_rules(rules, facts(groups=("a",)), NOW)
    assert [(u.rule, u.group) for u in unmet] == [(Rule.GROUP, "b")]


def test_rules_at_zero_are_off():
    rules = Eligibility(min_account_days=0, min_edits=0, confirmed_email=False)
    assert unmet_rules(rules, facts(editcount=0, registered=NOW, confirmed_email=None), NOW) == []


def test_several_unmet_at_once():
    unmet = unmet_rules(RULES, facts(editcount=0, registered=NOW, confirmed_email=False), NOW)
    assert [u.rule for u in unmet] == [Rule.ACCOUNT_AGE, Rule.EDITS, Rule.CONFIRMED_EMAIL]


def test_merge_prefers_the_fresh_wiki_read_but_keeps_identify_email():
    identity = facts(editcount=400, confirmed_email=True, groups=("user",), sources=("identify",))
    wiki = EligibilityFacts(
        username="Ann",
        editcount=520,
        registered=NOW - dt.timedelta(days=50),
        blocked=False,
        confirmed_email=None,
        groups=("user", "autoconfirmed"),
        sources=("wiki",),
    )
    merged = merge_facts(identity, wiki)
    assert merged.editcount == 520
    assert merged.confirmed_email is True
    assert merged.groups == ("user", "autoconfirmed")
    assert merged.registered == wiki.registered
    assert merged.sources == ("identify", "wiki")


def test_merge_block_from_either_counts():
    assert merge_facts(facts(blocked=True), facts()).blocked
    assert merge_facts(facts(), facts(blocked=True)).blocked


def test_facts_survive_the_document():
    original = facts(groups=("user",), sources=("identify", "wiki"))
    assert EligibilityFacts.from_document(original.to_document()) == original
