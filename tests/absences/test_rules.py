"""Every leave rule with its edge (issue 3): pure functions, no database."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from absences import rules

TODAY = date(2026, 1, 12)  # a Monday


def policy(**kw):
    base = dict(notice_days=0, notice_months=0, no_retrospective=False, ro_days_cap=None,
                refuse_if_unauthorised=False, refuse_if_authorised_above=None,
                assessment_days_before=0)
    base.update(kw)
    return SimpleNamespace(**base)


def draft(first, last=None, reason="exceptional", sessions=None, year_group=3):
    last = last or first
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)
             if (first + timedelta(days=i)).weekday() < 5]
    return rules.Draft(first_day=first, last_day=last, reason=reason, dates=dates,
                       sessions=len(dates) * 2 if sessions is None else sessions,
                       year_group=year_group)


def facts(**kw):
    return rules.Facts(today=TODAY, **kw)


def only(results, rule):
    found = [r for r in results if r.rule == rule]
    assert len(found) == 1, results
    return found[0]


def test_no_rules_switched_on_gives_no_results():
    assert rules.evaluate(policy(), draft(TODAY), facts()) == []


@pytest.mark.parametrize("first,passed", [
    (TODAY + timedelta(days=14), True),   # exactly two weeks: enough
    (TODAY + timedelta(days=13), False),  # one day short
    (TODAY + timedelta(days=30), True),
])
def test_two_weeks_notice_st_lukes(first, passed):
    r = only(rules.evaluate(policy(notice_days=14), draft(first), facts()), rules.NOTICE)
    assert r.passed is passed and not r.blocks
    if not passed:
        assert "14 days" in r.message and "Monday 26 January 2026" in r.message


@pytest.mark.parametrize("first,passed", [
    (date(2026, 2, 12), True),   # exactly one calendar month after 12 January
    (date(2026, 2, 11), False),
])
def test_one_month_notice_beecroft(first, passed):
    r = only(rules.evaluate(policy(notice_months=1), draft(first), facts()), rules.NOTICE)
    assert r.passed is passed
    if not passed:
        assert "1 month" in r.message and "Thursday 12 February 2026" in r.message


def test_month_notice_clamps_to_shorter_month():
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)


@pytest.mark.parametrize("first,passed", [
    (TODAY, True), (TODAY + timedelta(days=1), True), (TODAY - timedelta(days=1), False)])
def test_no_retrospective_requests_blocks(first, passed):
    r = only(rules.evaluate(policy(no_retrospective=True), draft(first), facts()),
             rules.RETROSPECTIVE)
    assert r.passed is passed
    assert rules.blocking([r]) == ([] if passed else [r])


@pytest.mark.parametrize("used_sessions,asked_sessions,passed", [
    (0, 4, True),   # 2 days asked, none used: the cap reached exactly
    (2, 2, True),   # 1 used + 1 asked = 2: reached exactly
    (4, 1, False),  # cap already used: even half a day is over
    (2, 4, False),  # 1 + 2 = 3 > 2
])
def test_religious_observance_cap_beecroft(used_sessions, asked_sessions, passed):
    results = rules.evaluate(policy(ro_days_cap=Decimal("2")),
                             draft(date(2026, 3, 20), reason="religious", sessions=asked_sessions),
                             facts(ro_sessions=used_sessions))
    r = only(results, rules.RO_CAP)
    assert r.passed is passed
    assert "2 days" in r.message


def test_ro_cap_only_applies_to_religious_observance():
    assert rules.evaluate(policy(ro_days_cap=Decimal("2")), draft(TODAY, reason="exceptional"),
                          facts(ro_sessions=10)) == []


SATS = rules.Assessment("Key stage 2 tests", date(2026, 5, 11), date(2026, 5, 14), 6)


@pytest.mark.parametrize("first,last,year_group,passed", [
    (date(2026, 5, 14), date(2026, 5, 15), 6, False),  # last day of the tests
    (date(2026, 5, 15), date(2026, 5, 15), 6, True),   # the day after
    (date(2026, 5, 4), date(2026, 5, 4), 6, False),    # exactly 7 days before: "immediately before"
    (date(2026, 5, 1), date(2026, 5, 1), 6, True),     # 10 days before
    (date(2026, 5, 12), date(2026, 5, 12), 3, True),   # not this pupil's year group
])
def test_statutory_assessment_periods(first, last, year_group, passed):
    results = rules.evaluate(policy(assessment_days_before=7),
                             draft(first, last, year_group=year_group), facts(assessments=[SATS]))
    r = only(results, rules.ASSESSMENT)
    assert r.passed is passed
    if not passed:
        assert "Key stage 2 tests" in r.message


@pytest.mark.parametrize("unauthorised,passed", [(0, True), (1, False)])
def test_any_unauthorised_absence(unauthorised, passed):
    r = only(rules.evaluate(policy(refuse_if_unauthorised=True), draft(TODAY),
                            facts(possible=100, unauthorised=unauthorised)), rules.UNAUTHORISED)
    assert r.passed is passed


@pytest.mark.parametrize("authorised,possible,passed,shown", [
    (10, 100, True, "10.0%"),     # exactly 10%: not above
    (11, 100, False, "11.0%"),
    (31, 300, False, "10.3%"),
    (1000, 10001, True, "10.0%"),  # 9.999%
    (1001, 10000, False, "10.0%"),  # 10.01% shows as 10.0% but is above: unrounded compare
    (0, 0, True, "0.0%"),
])
def test_authorised_absence_above_ten_percent(authorised, possible, passed, shown):
    r = only(rules.evaluate(policy(refuse_if_authorised_above=Decimal("10")), draft(TODAY),
                            facts(possible=possible, authorised=authorised)), rules.AUTHORISED)
    assert r.passed is passed
    assert shown in r.message


def test_st_lukes_combination_lists_every_rule_in_order():
    p = policy(notice_days=14, no_retrospective=True, refuse_if_unauthorised=True,
               refuse_if_authorised_above=Decimal("10"), assessment_days_before=7)
    results = rules.evaluate(p, draft(TODAY + timedelta(days=3)),
                             facts(possible=100, authorised=4, unauthorised=2, assessments=[SATS]))
    assert [(r.rule, r.passed) for r in results] == [
        (rules.RETROSPECTIVE, True), (rules.NOTICE, False), (rules.ASSESSMENT, True),
        (rules.UNAUTHORISED, False), (rules.AUTHORISED, True)]
    assert rules.blocking(results) == []


# --- St Luke's: performance/activity leave (C1) must not take attendance below 95% -----------

@pytest.mark.parametrize("attended,possible,sessions,passed", [
    (190, 190, 10, True),   # 190 / 200 = exactly 95.0% after granting: not below
    (190, 190, 11, False),  # 190 / 201 = 94.5%
    (38, 39, 1, True),      # 38 / 40 = exactly 95.0%, with an absence already
    (38, 39, 2, False),     # 38 / 41 = 92.7%
    (189, 189, 10, False),  # 189 / 199 = 94.97...%: not rounded up to 95.0
    (0, 0, 2, False),       # no figures yet: the leave itself would be all of the year
])
def test_attendance_floor_edge(attended, possible, sessions, passed):
    r = only(rules.evaluate(policy(refuse_if_attendance_below=Decimal("95")),
                            draft(TODAY + timedelta(days=21), reason="performance",
                                  sessions=sessions),
                            facts(attended=attended, possible=possible)), rules.ATTENDANCE_FLOOR)
    assert r.passed is passed and not r.blocks  # the head decides; the parent may still ask
    assert "95%" in r.message
    if not passed:
        assert "below the school's 95%" in r.message


def test_attendance_floor_message_shows_before_and_after():
    r = only(rules.evaluate(policy(refuse_if_attendance_below=Decimal("95.0")),
                            draft(TODAY + timedelta(days=21), reason="performance", sessions=2),
                            facts(attended=38, possible=38)), rules.ATTENDANCE_FLOOR)
    assert r.passed and "100.0%" in r.message and "95.0%" in r.message and "1 day" in r.message


@pytest.mark.parametrize("kw,reason", [
    ({}, "performance"),                                                # not configured: off
    ({"refuse_if_attendance_below": None}, "performance"),              # null = off
    ({"refuse_if_attendance_below": Decimal("95")}, "exceptional"),     # only performance leave
    ({"refuse_if_attendance_below": Decimal("95")}, "religious"),
])
def test_attendance_floor_only_when_switched_on_for_performance(kw, reason):
    results = rules.evaluate(policy(**kw), draft(TODAY + timedelta(days=21), reason=reason),
                             facts(attended=10, possible=20))
    assert rules.ATTENDANCE_FLOOR not in {r.rule for r in results}


def test_attendance_floor_works_with_a_policy_without_the_field():
    # Anything with the policy's attributes: an older object without the new one is "off".
    old = SimpleNamespace(notice_days=0, notice_months=0, no_retrospective=False, ro_days_cap=None,
                          refuse_if_unauthorised=False, refuse_if_authorised_above=None,
                          assessment_days_before=0)
    assert rules.evaluate(old, draft(TODAY, reason="performance"), facts()) == []
