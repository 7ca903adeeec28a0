"""Every trigger type and its edge, table-driven, through the real nightly job."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from escalation.models import Case, Stage
from escalation.nightly import night_run
from escalation.presets import stage
from escalation.services import stages_replace, stages_validate
from tests.escalation.helpers import put

START = date(2025, 9, 2)  # first open day of the autumn term (1 September is INSET)


def one_stage(trigger, **kw):
    kw.setdefault("task", "Act")
    stages_replace(specs=[stage("s", "Stage under test", 1, trigger, **kw)])


def fired(p, as_of):
    night_run(as_of=as_of)
    return Case.objects.filter(pupil=p).exists()


P, A, O, U, N = "/", "I", "O", "U", "N"  # noqa: E741

CASES = [
    # (id, trigger, stage options, pattern, fires)
    ("below-96-exactly", "below", {"threshold": 96}, P * 48 + A * 2, False),    # 96.0% is not below 96
    ("below-96-under", "below", {"threshold": 96}, P * 47 + A * 3, True),       # 94%
    ("at-or-below-91-exactly", "below", {"threshold": 91, "inclusive": True}, P * 91 + A * 9, True),
    ("at-or-below-91-over", "below", {"threshold": 91, "inclusive": True}, P * 92 + A * 8, False),
    ("below-min-sessions", "below", {"threshold": 96, "min_possible": 60}, P * 40 + A * 10, False),
    ("pa-exactly-10pct", "persistent", {}, P * 45 + A * 5, True),               # absence exactly 10%
    ("pa-under", "persistent", {}, P * 46 + A * 4, False),
    ("sa-exactly-50pct", "severe", {}, P * 25 + O * 25, True),
    ("sa-under", "severe", {}, P * 26 + O * 24, False),
    # The last 4 school weeks to 3 Nov hold 32 sessions (half term), the 4 before them 40.
    ("declining", "below_declining", {"threshold": 90, "min_possible": 30}, P * 40 + P * 20 + A * 20, True),
    # '"declining" compares two windows that both meet it' (domain.md 5): 32 of 40 is too few.
    ("declining-needs-evidence-in-both-windows", "below_declining", {"threshold": 90},
     P * 40 + P * 20 + A * 20, False),
    # 'a minimum of possible sessions in its window (default four school weeks)' (domain.md 5).
    ("below-96-before-four-weeks", "below", {"threshold": 96}, P * 30 + A * 8, False),   # 38 sessions
    ("below-96-after-four-weeks", "below", {"threshold": 96}, P * 32 + A * 8, True),     # 40 sessions
    ("pa-before-four-weeks", "persistent", {}, P * 20 + A * 18, False),
    ("below-not-declining", "below_declining", {"threshold": 90}, A * 20 + P * 60, False),
    ("unauth-10-in-10-weeks", "unauthorised", {"count": 10, "window": "rolling_weeks", "window_n": 10},
     P * 30 + O * 4 + U * 3 + "G" * 2 + N, True),
    ("unauth-9", "unauthorised", {"count": 10, "window": "rolling_weeks", "window_n": 10},
     P * 30 + O * 9 + A * 5, False),
    ("u-count-3", "u_count", {"count": 3, "window": "term"}, P * 20 + U * 3, True),
    ("u-count-2", "u_count", {"count": 3, "window": "term"}, P * 20 + U * 2 + "L" * 5, False),
    ("continuous-3-days", "continuous", {"count": 3}, P * 20 + A * 2 + O * 4, True),
    ("continuous-2-days", "continuous", {"count": 3}, P * 20 + A * 4, False),
    ("continuous-broken", "continuous", {"count": 3}, P * 20 + A * 3 + P + A * 2, False),
    ("continuous-never-in-school", "continuous", {"count": 3}, A * 6, True),   # from the first mark
    ("continuous-never-in-school-2-days", "continuous", {"count": 3}, A * 4, False),
    ("no-contact-3-days", "no_contact", {"count": 3}, P * 20 + N * 6, True),
    ("no-contact-from-the-first-day", "no_contact", {"count": 3}, N * 6, True),
    ("no-contact-from-the-first-day-2-days", "no_contact", {"count": 3}, N * 4, False),
    ("no-contact-reason-given", "no_contact", {"count": 3}, P * 20 + N * 2 + A * 2 + N * 2, False),
    ("last-4-weeks-window", "below", {"threshold": 96, "window": "last_4_weeks"}, A * 20 + P * 80, False),
    ("ytd-window", "below", {"threshold": 96}, A * 20 + P * 80, True),
    ("months-window", "unauthorised", {"count": 5, "window": "months", "window_n": 1},
     O * 5 + P * 60, False),
]


@pytest.mark.parametrize("trigger,options,pattern,expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_trigger(two_years, pupil, trigger, options, pattern, expected):
    one_stage(trigger, **options)
    p = pupil()
    last = put(p, START, pattern)
    assert fired(p, last) is expected


@pytest.mark.parametrize("absent_sessions,expected", [(4, False), (6, True)])
def test_a_run_of_absence_starts_after_the_last_day_in_school_across_the_summer(
        two_years, pupil, absent_sessions, expected):
    """In school every day to the end of the summer term, then absent from September: the run
    counts September's school days only, not the summer holiday nor July's days in school."""
    one_stage("continuous", count=3)
    p = pupil()
    put(p, date(2025, 7, 7), P * 20)  # the last two weeks of the 2024/25 summer term
    last = put(p, START, A * absent_sessions)
    assert fired(p, last) is expected


def test_trigger_explains_itself(two_years, pupil):
    one_stage("below", threshold=96)
    p = pupil()
    last = put(p, START, P * 47 + A * 3)
    night_run(as_of=last)
    case = Case.objects.get(pupil=p)
    assert "94.0% = 47 of 50 possible sessions; below 96%" in case.explanation
    assert case.policy_version.snapshot["stages"][0]["key"] == "s"


@pytest.mark.parametrize("spec,message", [
    ({"trigger": "below"}, "needs X between 0 and 100"),
    ({"trigger": "below", "threshold": 120}, "needs X between 0 and 100"),
    ({"trigger": "unauthorised"}, "needs N"),
    ({"trigger": "unauthorised", "count": 10, "window": "rolling_weeks"}, "needs N between 1 and 60"),
    ({"trigger": "persistent", "count": 3}, "N only applies"),
    ({"trigger": "persistent", "task": ""}, "at least one action"),
    ({"trigger": "persistent", "monitor_school_days": 15}, "needs a next stage"),
    ({"trigger": "manual"}, "nothing on the track 'attendance' comes below it"),
    ({"trigger": "persistent", "direct_entry": True}, "say why this stage may be entered directly"),
    ({"trigger": "manual", "direct_entry": True, "direct_entry_reason": "x"},
     "a direct entry needs a trigger"),
    ({"trigger": "below", "threshold": 96, "window": "last_4_weeks", "min_possible": 41}, "could never fire"),
    ({"trigger": "below", "threshold": 96, "window": "rolling_weeks", "window_n": 2}, "could never fire"),
    ({"trigger": "persistent", "exit_threshold": 101}, "exit threshold"),
    ({"trigger": "persistent", "review_days": 0}, "review interval"),
])
def test_bad_stages_are_rejected_with_a_clear_message(school_a, spec, message):
    s = Stage(key="x", name="X", order=1, **{"task": "Act", **spec})
    with pytest.raises(ValidationError, match=message):
        stages_validate([s])


def test_next_stage_must_be_later_on_the_same_track(school_a):
    a = Stage(pk=1, key="a", name="A", order=2, trigger="persistent", task="x", next_stage_id=2)
    b = Stage(pk=2, key="b", name="B", order=1, trigger="severe", task="x")
    with pytest.raises(ValidationError, match="must come later"):
        stages_validate([a, b])
    b.order, b.track = 3, "other"
    with pytest.raises(ValidationError, match="on another track"):
        stages_validate([a, b])


# domain.md section 1: children below compulsory school age "are never subject to
# enforcement; support (a conversation, a meeting) is still allowed where a school's policy
# offers it." An enforcement stage counts sessions only from the day the child reached CSA.

def _two_stages():
    stages_replace(specs=[
        stage("support", "Support meeting", 1, "unauthorised", count=10, window="rolling_weeks", window_n=10,
              meeting="attendance_support", track="support"),
        stage("warning", "Penalty warning", 1, "unauthorised", count=10, window="rolling_weeks", window_n=10,
              task="Warn", track="penalty"),
    ])
    assert Stage.objects.get(key="warning").enforcement and not Stage.objects.get(key="support").enforcement


@pytest.mark.parametrize("dob,year_group,tracks", [
    (date(2017, 3, 1), 3, {"support", "penalty"}),   # of compulsory school age
    (date(2022, 3, 1), -1, {"support"}),             # nursery: support only, never enforcement
    (date(2021, 1, 1), 0, {"support"}),              # reception, of CSA only from 31 March 2026
])
def test_enforcement_only_for_children_of_compulsory_school_age(two_years, pupil, dob, year_group, tracks):
    _two_stages()
    p = pupil(date_of_birth=dob, year_group=year_group)
    last = put(p, START, P * 20 + O * 12)
    night_run(as_of=last)
    assert set(Case.objects.filter(pupil=p).values_list("track", flat=True)) == tracks


def test_enforcement_waits_until_the_window_lies_within_compulsory_school_age(two_years, pupil):
    """Born 5 November 2020: CSA from 31 December 2025. Unauthorised absence in December does
    not count towards a penalty warning evaluated in January."""
    _two_stages()
    p = pupil(date_of_birth=date(2020, 11, 5), year_group=0, group="R")
    last = put(p, date(2025, 12, 8), O * 20 + O * 2, end=date(2026, 1, 5))
    assert last == date(2026, 1, 5)
    night_run(as_of=last)
    assert set(Case.objects.filter(pupil=p).values_list("track", flat=True)) == {"support"}
