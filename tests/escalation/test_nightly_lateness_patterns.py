"""The triggers the seed policies ask for beyond percentages: lateness (L count, minutes late,
U count), days absent in a term, unauthorised sessions in the school year, and patterns of
absence (Mondays and Fridays; next to a weekend or holiday). Table-driven at the edges, through
the real nightly job, then each as its preset loads it, quoting the policy line."""

from datetime import date

import pytest

from escalation import presets
from escalation.models import Case, Stage
from escalation.nightly import night_run
from escalation.presets import stage
from escalation.services import stages_replace
from letters.models import Letter
from registers.calendar import days_next_to_breaks
from registers.models import Mark
from registers.selectors import absence_pattern
from tests.escalation.helpers import open_days, put

START = date(2025, 9, 2)  # Tuesday, first open day of the autumn term (Monday 1 September is INSET)
P, A, O, U, L = "/", "I", "O", "U", "L"  # noqa: E741


def one_stage(trigger, **kw):
    kw.setdefault("task", "Act")
    stages_replace(specs=[stage("s", "Stage under test", 1, trigger, **kw)])


def by_day(absent_on, n_days: int, code: str = A) -> str:
    """A pattern over the first ``n_days`` open days from START: both sessions of each day for
    which ``absent_on(day)`` holds are ``code``, the rest present."""
    return "".join(code * 2 if absent_on(d) else P * 2 for d in open_days(START)[:n_days])


def mondays_fridays(k: int):
    """The first ``k`` Mondays and Fridays from START (a day each)."""
    days = [d for d in open_days(START) if d.weekday() in (0, 4)][:k]
    return lambda d: d in days


def weekdays_mid(k: int):
    days = [d for d in open_days(START) if d.weekday() in (1, 2, 3) and d != START][:k]
    return lambda d: d in days


def six_weeks(**kw):
    return dict(window="rolling_weeks", window_n=6, **kw)


CASES = [
    # (id, trigger, stage options, pattern, fires)
    # Beecroft: "The head will send letters to parents of children who are persistently late".
    ("late-8-in-6-weeks", "late_count", six_weeks(count=8), P * 40 + L * 8, True),
    ("late-7-in-6-weeks", "late_count", six_weeks(count=8), P * 40 + L * 7 + P, False),
    ("late-U-is-not-L", "late_count", six_weeks(count=8), P * 40 + L * 7 + U, False),
    # LAP: "Where these 'U' lates accumulate ... the school will send a letter".
    ("u-5-in-6-weeks", "u_count", six_weeks(count=5), P * 40 + U * 5, True),
    ("u-4-in-6-weeks", "u_count", six_weeks(count=5), P * 40 + U * 4 + L * 3, False),
    # St Luke's: "more than 10 school days in one term": 10 days (20 sessions) is not more.
    ("days-absent-10.5", "days_absent", {"count": 10, "window": "term"}, P * 20 + A * 11 + O * 10, True),
    ("days-absent-10", "days_absent", {"count": 10, "window": "term"}, P * 20 + A * 10 + O * 10, False),
    ("days-absent-lates-are-present", "days_absent", {"count": 10, "window": "term"},
     P * 20 + A * 20 + L * 10, False),
    # ... "in one term": the autumn 1 absences do not count in autumn 2 (3 November on).
    ("days-absent-last-term", "days_absent", {"count": 10, "window": "term"},
     A * 22 + P * 54 + P * 10, False),
    # St Luke's: "The school will inform the LA ... of the details of pupils who ... have missed 10
    # school days or more without authorisation": cumulative, in the school year.
    ("unauthorised-20-ytd", "unauthorised", {"count": 20},
     O * 6 + P * 60 + "G" * 10 + P * 20 + U * 4, True),
    ("unauthorised-19-ytd", "unauthorised", {"count": 20},
     O * 6 + P * 60 + "G" * 10 + P * 20 + U * 3, False),
]


@pytest.mark.parametrize("trigger,options,pattern,expected", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_trigger(two_years, pupil, trigger, options, pattern, expected):
    one_stage(trigger, **options)
    p = pupil()
    last = put(p, START, pattern)
    night_run(as_of=last)
    assert Case.objects.filter(pupil=p).exists() is expected


def test_unauthorised_in_the_school_year_starts_again_in_september(two_years, pupil):
    """Last school year's unauthorised sessions are not this year's (the window is the year to date)."""
    one_stage("unauthorised", count=20)
    p = pupil()
    put(p, date(2025, 6, 2), O * 30)           # summer 2, the year before
    last = put(p, START, O * 19 + P * 21)
    night_run(as_of=last)
    assert not Case.objects.filter(pupil=p).exists()


@pytest.mark.parametrize("minutes,expected", [(120, True), (119, False)])
def test_minutes_late(two_years, pupil, minutes, expected):
    """Beecroft: "minutes late will be input by office staff": 120 minutes in 6 weeks opens it."""
    one_stage("minutes_late", **six_weeks(count=120))
    p = pupil()
    last = put(p, START, P * 40 + L * 4)
    lates = list(Mark.objects.filter(pupil=p, code="L").order_by("date", "session"))
    for m, n in zip(lates, [30, 30, 30, minutes - 90], strict=True):
        m.minutes_late = n
    Mark.objects.bulk_update(lates, ["minutes_late"])
    night_run(as_of=last)
    case = Case.objects.filter(pupil=p).first()
    assert (case is not None) is expected
    if case:
        assert case.entry_measure == 120 and "120 minutes late" in case.explanation


MON_FRI = {"count": 6, "threshold": 60}
PATTERNS = [
    # (id, trigger, options, absent days, fires)
    # 3 Mondays/Fridays (6 sessions) all on Mondays and Fridays: 100%.
    ("mon-fri-all", "mon_fri", MON_FRI, lambda: mondays_fridays(3), True),
    # Too few absences to call it a pattern: 2 days (4 sessions) of the 6 it needs.
    ("mon-fri-too-few", "mon_fri", MON_FRI, lambda: mondays_fridays(2), False),
    # Exactly 60%: 3 Mon/Fri days and 2 midweek days (6 of 10 sessions).
    ("mon-fri-exactly-60", "mon_fri", MON_FRI,
     lambda: (lambda a, b: lambda d: a(d) or b(d))(mondays_fridays(3), weekdays_mid(2)), True),
    # 50%: 3 Mon/Fri days and 3 midweek days.
    ("mon-fri-50", "mon_fri", MON_FRI,
     lambda: (lambda a, b: lambda d: a(d) or b(d))(mondays_fridays(3), weekdays_mid(3)), False),
    ("mon-fri-midweek", "mon_fri", MON_FRI, lambda: weekdays_mid(4), False),
    # Tuesday 2 September follows the INSET day: next to a break though not a Monday.
    ("next-to-break-after-inset", "next_to_break", {"count": 2, "threshold": 100},
     lambda: (lambda d: d == START), True),
    ("after-inset-is-not-mon-fri", "mon_fri", {"count": 2, "threshold": 100},
     lambda: (lambda d: d == START), False),
    ("next-to-break-midweek", "next_to_break", {"count": 2, "threshold": 50}, lambda: weekdays_mid(3), False),
]


@pytest.mark.parametrize("trigger,options,days,expected", [c[1:] for c in PATTERNS],
                         ids=[c[0] for c in PATTERNS])
def test_pattern(two_years, pupil, trigger, options, days, expected):
    """Optional triggers for a pattern of absence ('Rigorously use attendance data to identify
    patterns of poor attendance ... as soon as possible', LAP; St Luke's 'act as early as possible
    to address patterns of absence')."""
    one_stage(trigger, window="term", **options)
    p = pupil()
    last = put(p, START, by_day(days(), 25))
    night_run(as_of=last)
    assert Case.objects.filter(pupil=p).exists() is expected


def test_days_next_to_breaks(two_years):
    edges = days_next_to_breaks(date(2025, 9, 1), date(2025, 11, 21))
    assert date(2025, 9, 2) in edges          # Tuesday after the INSET Monday
    assert date(2025, 9, 3) not in edges      # Wednesday
    assert date(2025, 10, 24) in edges        # last day before half term
    assert date(2025, 11, 7) in edges and date(2025, 11, 17) in edges   # either side of the closed week
    assert all(d.weekday() in (0, 4) or d in (date(2025, 9, 2),) for d in edges)


def test_pupil_page_pattern_figure(two_years, pupil):
    p = pupil()
    put(p, START, by_day(lambda d: mondays_fridays(3)(d) or weekdays_mid(1)(d), 25))
    pattern = absence_pattern(pupil_id=p.pk, date_from=START, date_to=date(2025, 10, 24))
    assert (pattern.absent, pattern.mon_fri, pattern.next_to_break) == (8, 6, 6)
    assert pattern.mon_fri_pct == 75.0


def test_pattern_trigger_costs_no_query_per_pupil(two_years, pupil, django_assert_max_num_queries):
    """Set-based: the night's queries do not grow with the pupils."""
    one_stage("next_to_break", window="term", count=2, threshold=60)
    for i in range(3):
        put(pupil(legal_forename=f"P{i}"), START, by_day(mondays_fridays(2), 25))
    night_run(as_of=date(2025, 10, 3))
    for i in range(3, 9):
        put(pupil(legal_forename=f"P{i}"), START, by_day(mondays_fridays(2), 25))
    Case.objects.all().delete()
    with django_assert_max_num_queries(40) as few:
        night_run(as_of=date(2025, 10, 3))
    n_few = len(few.captured_queries)
    for i in range(9, 30):
        put(pupil(legal_forename=f"P{i}"), START, by_day(mondays_fridays(2), 25))
    Case.objects.all().delete()
    with django_assert_max_num_queries(n_few) as many:
        night_run(as_of=date(2025, 10, 3))
    assert Case.objects.count() == 30
    assert len(many.captured_queries) == n_few


# --- the presets ------------------------------------------------------------------------------

def test_beecroft_head_invites_persistently_late_parents_in(two_years, pupil):
    """Beecroft: "The head will send letters to parents of children who are persistently late to
    invite them in for a meeting." """
    presets.apply("beecroft")
    late, on_time = pupil(legal_forename="Late"), pupil(legal_forename="OnTime")
    last = put(late, START, (L + P) * 8 + P * 24)
    put(on_time, START, (L + P) * 7 + P * 26)
    night_run(as_of=last)
    case = Case.objects.get(pupil=late, track="lateness")
    assert case.stage.key == "bee-late" and case.owner_role == "head"
    assert list(Letter.objects.filter(pupil=late).values_list("template_key", flat=True)) == [
        "beecroft_late_meeting"]
    assert case.meetings.get().kind == "parent"
    assert not Case.objects.filter(pupil=on_time, track="lateness").exists()


def test_lap_letter_when_u_lates_accumulate(two_years, pupil):
    """LAP: "Where these 'U' lates accumulate and is having impact on their learning, the school will
    send a letter to the parents/carers of the pupil in question to discuss any support needs and
    ways of accessing support." """
    presets.apply("lap")
    p = pupil()
    last = put(p, START, (U + P) * 5 + P * 30)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p, track="lateness")
    assert case.stage.key == "lap-u-lates"
    assert Letter.objects.filter(pupil=p, template_key="lap_u_lates").count() == 1


def test_stlukes_more_than_10_days_in_a_term_means_a_meeting(two_years, pupil):
    """St Luke's: "Where a pupil is absent for more than three school days in a row, or more than 10
    school days in one term, the pupil's parent will be expected to meet with the school"."""
    presets.apply("stlukes")
    # 11 single days of illness in autumn 1 (2 September to 24 October), never two in a row.
    p, q = pupil(legal_forename="Eleven"), pupil(legal_forename="Ten")
    last = put(p, START, (A * 2 + P * 4) * 11)
    put(q, START, (A * 2 + P * 4) * 10 + P * 6)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p, track="absence")
    assert case.stage.key == "stl-10-days"
    assert case.meetings.get().kind == "parent"
    assert "absent 11 school days (22 sessions)" in case.explanation
    assert not Case.objects.filter(pupil=q, track="absence").exists()


def test_stlukes_la_told_of_10_unauthorised_days_in_the_year(two_years, pupil):
    """St Luke's: "The school will inform the LA, on a half termly basis, of the details of pupils who
    fail to attend regularly, or who have missed 10 school days or more without authorisation."
    Only children of compulsory school age: a reception child who is not yet is not reported."""
    presets.apply("stlukes")
    pattern = (O * 2 + P * 8) * 10       # 20 unauthorised sessions, one day in five
    p = pupil(legal_forename="Year3")
    young = pupil(legal_forename="Reception", year_group=0, group="R", date_of_birth=date(2021, 1, 10))
    last = put(p, START, pattern)
    put(young, START, pattern)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p, track="la-notification")
    assert case.stage.key == "stl-la-unauthorised"
    assert "Local Authority" in case.stage.referral
    assert not Case.objects.filter(pupil=young, track="la-notification").exists()
    assert Stage.objects.get(key="stl-la-unauthorised").once_per_year


def test_pupil_page_shows_the_pattern_to_staff(two_years, pupil, people, client_as, monkeypatch):
    """The pattern as a figure on the pupil page ("day-of-week pattern", domain.md section 4)."""
    p = pupil()
    put(p, START, by_day(lambda d: mondays_fridays(3)(d) or weekdays_mid(1)(d), 25))
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: date(2025, 10, 24))
    page = client_as(people["attendance_officer"]).get(f"/pupils/{p.pk}/").content.decode()
    assert 'data-testid="absence-pattern"' in page
    assert "6 of 8 (75.0%)" in page

