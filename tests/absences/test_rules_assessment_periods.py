"""Issue 12 item 11: statutory assessment periods per school year, edited on the leave-rules
page and carried into the next year with a prompt; St Luke's refusals then work for 2026-27.

St Luke's: leave is refused "during or immediately before statutory assessments" (the preset
refuses 7 days before). Its periods were entered for 2025-26 only, so a request for May 2027
was not refused at all.
"""

from datetime import date, timedelta

import pytest

from absences import presets, rules, selectors
from absences.models import AssessmentPeriod
from tests.conftest import client_for

Y6 = 6


def _evaluate(make_pupil, first: date, last: date):
    pupil = make_pupil(group="6A", year_group=Y6)
    policy = selectors.policy_current()
    facts = selectors.leave_facts(pupil=pupil, today=date(2026, 11, 30), policy=policy, for_day=first)
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)
             if (first + timedelta(days=i)).weekday() < 5]
    draft = rules.Draft(first_day=first, last_day=last, reason="exceptional", dates=dates,
                        sessions=2 * len(dates), year_group=Y6)
    return next(r for r in rules.evaluate(policy, draft, facts) if r.rule == rules.ASSESSMENT)


@pytest.fixture
def stlukes(school_a):
    presets.apply("stlukes")
    assert {a.start_date.year for a in AssessmentPeriod.objects.all()} == {2026}  # 2025-26 only


def test_without_2026_27_dates_the_rule_says_so(stlukes, make_pupil):
    r = _evaluate(make_pupil, date(2027, 5, 10), date(2027, 5, 12))
    assert r.passed and "No statutory assessment periods are entered for 2026-27 yet" in r.message


def test_the_head_carries_the_periods_forward_and_st_lukes_refuses_in_2026_27(stlukes, make_pupil, people,
                                                                              settings):
    client = client_for(people["head"])
    page = client.get("/absences/rules/").content.decode()
    # Today (in 2026-27) has no periods: the page prompts to carry 2025-26's forward.
    assert 'data-testid="carry-prompt"' in page and "No assessment periods for 2026-27 yet" in page
    client.post("/absences/rules/assessments/carry/", {"from_year": "2025"})
    carried = sorted((a.label, a.start_date, a.end_date, a.year_group)
                     for a in AssessmentPeriod.objects.filter(start_date__gte=date(2026, 9, 1)))
    assert carried == [  # 52 weeks on: the same weekdays
        ("Key stage 2 tests (SATs)", date(2027, 5, 10), date(2027, 5, 13), 6),
        ("Multiplication tables check", date(2027, 5, 31), date(2027, 6, 11), 4),
        ("Phonics screening check", date(2027, 6, 7), date(2027, 6, 11), 1)]
    page = client.get("/absences/rules/").content.decode()
    assert 'data-testid="carry-prompt"' not in page and 'data-testid="assessments-2026"' in page
    # Carrying twice is refused, with a message.
    r = client.post("/absences/rules/assessments/carry/", {"from_year": "2025"}, follow=True)
    assert "2026-27 already has assessment periods" in r.content.decode()

    r = _evaluate(make_pupil, date(2027, 5, 12), date(2027, 5, 12))
    assert not r.passed and "Key stage 2 tests (SATs)" in r.message
    assert not _evaluate(make_pupil, date(2027, 5, 3), date(2027, 5, 3)).passed   # exactly 7 days before
    assert _evaluate(make_pupil, date(2027, 4, 30), date(2027, 4, 30)).passed     # 10 days before
    assert _evaluate(make_pupil, date(2027, 5, 14), date(2027, 5, 14)).passed     # the day after


def test_the_head_adds_corrects_and_removes_periods_on_the_page(stlukes, people):
    client = client_for(people["head"])
    client.post("/absences/rules/assessments/add/", {"label": "Year 4 times tables (resit)",
                                                     "start_date": "2027-06-14", "end_date": "2027-06-18",
                                                     "year_group": "4"})
    added = AssessmentPeriod.objects.get(label="Year 4 times tables (resit)")
    assert (added.start_date, added.end_date, added.year_group) == (date(2027, 6, 14), date(2027, 6, 18), 4)
    for data, message in [
        ({"label": "X", "start_date": "2027-07-29", "end_date": "2027-08-02"}, "cannot run past 31 July"),
        ({"label": "X", "start_date": "2027-06-02", "end_date": "2027-06-01"}, "starts after it ends"),
        ({"label": "X", "start_date": "soon", "end_date": "2027-06-01"}, "Enter a valid date"),
    ]:
        r = client.post("/absences/rules/assessments/add/", data, follow=True)
        assert r.status_code == 200 and message in r.content.decode()
    assert AssessmentPeriod.objects.filter(label="X").count() == 0
    client.post(f"/absences/rules/assessments/{added.pk}/delete/")
    assert not AssessmentPeriod.objects.filter(pk=added.pk).exists()
    assert client_for(people["attendance_officer"]).post(
        "/absences/rules/assessments/carry/", {"from_year": "2025"}).status_code == 403
