"""The ordered ladder (issue 12, items 2-5; domain.md 5 "How a ladder behaves"), on custom
ladders through the real nightly job: where a case opens, how it climbs, steps down, closes,
carries into a new school year, and which ladders configuration refuses."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from escalation.models import Case, CaseEvent, Stage
from escalation.nightly import night_run
from escalation.presets import stage
from escalation.services import stages_replace, stages_validate
from letters.models import Letter
from tests.escalation.helpers import put, put_through

START = date(2025, 9, 2)
END = date(2025, 12, 19)


def fridays(start, end):
    day = start + timedelta(days=(4 - start.weekday()) % 7)
    while day <= end:
        yield day
        day += timedelta(days=7)


def run_fridays(start=START, end=END):
    for day in fridays(start, end):
        night_run(as_of=day)


def history(p):
    return [(e.kind, e.stage.key) for e in CaseEvent.objects.filter(
        pupil=p, kind__in=("opened", "advanced", "stepped_down", "closed")).order_by("at", "pk")]


def three_rungs(**top):
    """Letter (below 96%), meeting (at or below 90%, PA), contract (severe absence)."""
    stages_replace(specs=[
        stage("s1", "Letter", 1, "below", threshold=96, letter="l1", review=14, exit_after_days=14),
        stage("s2", "Meeting", 2, "below", threshold=90, inclusive=True, meeting="parent", review=14,
              exit_after_days=14, recovery_letter="well_done", recovery_task="Positive call home"),
        stage("s3", "Contract", 3, "severe", meeting="attendance_contract", review=14, **top),
    ])


# --- opening and climbing (item 2) -----------------------------------------------------------

def test_a_case_opens_at_the_lowest_stage_whose_trigger_holds(two_years, pupil):
    """domain.md 5: "A case opens at the lowest stage whose trigger holds"."""
    three_rungs()
    p = pupil()
    last = put(p, START, "/" * 10 + "O" * 40)  # 20%: all three triggers hold
    night_run(as_of=last)
    assert Case.objects.get(pupil=p).stage.key == "s1"
    # ... and does not jump between reviews, however high the figures go
    night_run(as_of=last + timedelta(days=3))
    assert history(p) == [("opened", "s1")]


def test_it_climbs_one_stage_at_a_time_at_reviews(two_years, pupil):
    """"It moves up one stage at a time, at a review, when the next stage's condition holds and
    the pupil has not improved by the stage's measure"."""
    three_rungs()
    p = pupil()
    put_through(p, START, END, "/" * 10, "O")
    run_fridays()
    assert history(p) == [("opened", "s1"), ("advanced", "s2"), ("advanced", "s3")]
    nights = [e.night for e in CaseEvent.objects.filter(pupil=p, kind__in=("opened", "advanced"))]
    assert all(b - a >= timedelta(days=14) for a, b in zip(nights, nights[1:], strict=False))


def test_no_climb_while_the_next_stage_condition_does_not_hold(two_years, pupil):
    three_rungs()
    p = pupil()
    put_through(p, START, END, "", "/" * 15 + "I")  # 93.75%, not improving: s2 (<= 90%) never holds
    run_fridays()
    assert history(p) == [("opened", "s1")]
    assert CaseEvent.objects.filter(pupil=p, kind="review", detail__contains=(
        "the next stage's condition does not hold (Meeting): staying at this stage")).exists()


def test_a_direct_entry_opens_there_with_its_reason(two_years, pupil):
    """"... unless the school marks a stage as a direct entry (for example severe absence or a
    safeguarding concern) with a reason"."""
    three_rungs(direct_entry_reason="Severe absence: the contract meeting cannot wait for the letters")
    assert Stage.objects.get(key="s3").direct_entry
    severe, low = pupil(), pupil()
    last = put(severe, START, "/" * 10 + "O" * 40)
    put(low, START, "/" * 47 + "I" * 3)
    night_run(as_of=last)
    case = Case.objects.get(pupil=severe)
    assert case.stage.key == "s3" and "direct entry: Severe absence" in case.explanation
    assert Case.objects.get(pupil=low).stage.key == "s1"


def test_an_open_case_jumps_to_a_direct_entry_at_once(two_years, pupil):
    three_rungs(direct_entry_reason="Severe absence")
    p = pupil()
    last = put(p, START, "/" * 44 + "I" * 4)  # 91.7%: the letter
    night_run(as_of=last)
    put(p, last + timedelta(days=1), "O" * 50)
    night_run(as_of=last + timedelta(days=35))  # before any review? s1 reviews after 14 days
    assert history(p)[:2] == [("opened", "s1"), ("advanced", "s3")]


# --- stepping down and closing (item 4) ---------------------------------------------------------

def test_recovery_steps_down_then_closes_with_recorded_reasons(two_years, pupil):
    """"When the figure recovers above a stage's exit threshold for the configured time, the case
    steps down or closes, with a recorded reason"; the school may want a positive letter or call."""
    last4 = {"window": "last_4_weeks", "min_possible": 36, "review": 14, "exit_after_days": 14}
    stages_replace(specs=[
        stage("s1", "Letter", 1, "below", threshold=96, letter="l1", **last4),
        stage("s2", "Meeting", 2, "below", threshold=90, inclusive=True, meeting="parent", **last4,
              recovery_letter="well_done", recovery_task="Positive call home"),
    ])
    p = pupil()
    put_through(p, START, date(2025, 10, 10), "", "/" * 7 + "O" * 3)              # 70%
    put_through(p, date(2025, 10, 13), date(2025, 11, 28), "", "/" * 12 + "I")   # 92.3%
    put_through(p, date(2025, 12, 1), date(2026, 2, 13), "", "/")                 # 100%
    run_fridays(START, date(2026, 2, 13))
    assert [(e.night, e.kind, e.stage.key) for e in CaseEvent.objects.filter(
        pupil=p, kind__in=("opened", "advanced", "stepped_down", "closed")).order_by("at", "pk")] == [
        (date(2025, 9, 26), "opened", "s1"),         # 38 sessions in the last 4 weeks
        (date(2025, 10, 10), "advanced", "s2"),      # review: 70% is no better, and 70% <= 90%
        (date(2025, 12, 5), "stepped_down", "s1"),   # above 90% since 21 Nov, still below 96%
        (date(2025, 12, 26), "closed", "s1"),        # at or above 96% since 12 Dec (a holiday night)
    ]
    down = CaseEvent.objects.get(pupil=p, kind="stepped_down")
    assert down.detail.startswith("Meeting → Letter: recovered since 21 Nov 2025 (14 days; now 95.0%)")
    assert Letter.objects.filter(pupil=p, template_key="well_done").count() == 1
    assert CaseEvent.objects.get(pupil=p, kind="task").detail == "Positive call home"
    case = Case.objects.get(pupil=p)
    assert case.status == "closed"
    assert case.close_reason.startswith("Recovered from 'Letter': recovered since")


def test_a_dip_restarts_the_recovery_clock(two_years, pupil):
    stages_replace(specs=[stage("s1", "Letter", 1, "below", threshold=96, letter="l1", review=60,
                                exit_after_days=21, window="last_4_weeks", min_possible=36)])
    p = pupil()
    # 4 weeks at 90%, 2 good weeks, one bad week, then good
    put_through(p, START, END, ("/" * 9 + "I") * 4 + "/" * 20 + "I" * 6, "/")
    run_fridays()
    case = Case.objects.get(pupil=p)
    assert case.status == "closed"
    assert case.closed_on - case.opened_on > timedelta(days=21 + 14)


# --- once per year, school years (item 5) -------------------------------------------------------

@pytest.mark.parametrize("once,reopened", [(False, True), (True, False)])
def test_once_per_year_is_a_stage_option(two_years, pupil, once, reopened):
    stages_replace(specs=[stage("s1", "Letter", 1, "below", threshold=96, letter="l1", review=60,
                                exit_after_days=7, window="last_4_weeks", min_possible=36,
                                once_per_year=once)])
    p = pupil()
    put_through(p, START, END, ("/" * 9 + "I") * 4 + "/" * 40, ("/" * 8 + "I" * 2))
    run_fridays()
    cases = list(Case.objects.filter(pupil=p).order_by("pk"))
    assert cases[0].status == "closed"
    assert (len(cases) == 2) is reopened
    assert Letter.objects.filter(pupil=p).count() == (2 if reopened else 1)


def test_open_cases_carry_over_into_the_new_school_year_to_a_review(two_years, pupil):
    """Issue 12 item 5: "A new school year does not forget open cases: they carry over to a
    review; stage triggers evaluate on the new year's marks once the minimum evidence exists"."""
    three_rungs()
    p = pupil()
    put_through(p, date(2025, 6, 2), date(2025, 7, 18), "", "/" * 8 + "I" * 2)  # 80% in Summer 2
    night_run(as_of=date(2025, 7, 11))
    case = Case.objects.get(pupil=p)
    assert case.stage.key == "s1"
    put_through(p, START, END, "", "/" * 6 + "I" * 4)  # 60% this year: worse
    night_run(as_of=date(2025, 9, 5))  # new year: carried over, but no evidence yet
    case.refresh_from_db()
    carried = case.events.get(kind="review", key__startswith="carry:")
    assert "Carried over into the school year 2025/26" in carried.detail
    waiting = case.events.filter(kind="review").exclude(pk=carried.pk).get()
    assert waiting.detail.startswith("Not enough evidence yet (8 of the 40 possible sessions")
    assert case.events.get(kind="opened").night == date(2025, 7, 11)
    assert case.stage.key == "s1" and case.review_due == date(2025, 9, 12)
    night_run(as_of=date(2025, 9, 5))  # rerun: nothing new
    assert case.events.filter(kind="review").count() == 2
    run_fridays(date(2025, 9, 12), date(2025, 10, 10))
    case.refresh_from_db()
    # reviewed on the new year's marks once there were 40 sessions: 80% -> 62.5%, and <= 90%
    assert case.stage.key == "s2" and case.stage_since == date(2025, 10, 3)


# --- configuration refuses ladders that cannot be climbed ---------------------------------------

def _ladder(*specs):
    out = []
    for i, (key, order, trigger, kw) in enumerate(specs, start=1):
        s = Stage(pk=i, key=key, name=key.upper(), order=order, trigger=trigger, task="Act", **kw)
        out.append(s)
    return out


@pytest.mark.parametrize("specs,message", [
    ((("a", 1, "below", {"threshold": 90}), ("b", 2, "below", {"threshold": 96})),
     "'B' \\(order 2\\) is easier to reach than 'A' below it"),
    ((("a", 1, "unauthorised", {"count": 10}), ("b", 2, "unauthorised", {"count": 5})),
     "is easier to reach"),
    ((("a", 1, "persistent", {"enforcement": True}), ("b", 2, "severe", {})), "support comes first"),
    ((("a", 1, "persistent", {"next_stage_id": 3}), ("b", 2, "manual", {}), ("c", 3, "severe", {})),
     "skips the stages at order 2"),
    ((("a", 1, "manual", {}), ("b", 2, "persistent", {})), "nothing on the track"),
])
def test_ladders_that_cannot_be_climbed_are_refused(school_a, specs, message):
    with pytest.raises(ValidationError, match=message):
        stages_validate(_ladder(*specs))


def test_a_sound_ladder_passes(school_a):
    assert stages_validate(_ladder(("a", 1, "below", {"threshold": 96}), ("b", 2, "manual", {}),
                            ("c", 3, "below", {"threshold": 90, "threshold_inclusive": True}),
                            ("d", 4, "severe", {"direct_entry": True, "direct_entry_reason": "Severe"}),
                            ("e", 5, "manual", {"enforcement": True}))) is None  # raises if unsound


def test_the_stage_form_sets_a_direct_entry_and_refuses_one_without_a_reason(two_years, people):
    from escalation import presets
    from tests.conftest import client_for

    presets.apply("lap")
    s = Stage.objects.get(key="lap-letter-3")
    data = {f: getattr(s, f) for f in ("key", "name", "track", "order", "trigger", "window", "min_possible",
                                       "letter_template", "meeting_type", "owner_role", "review_days",
                                       "referral")}
    data.update(enforcement="on", active="on", direct_entry="on", direct_entry_reason="")
    client = client_for(people["head"])
    r = client.post(f"/escalation/policy/stages/{s.pk}/", data)
    assert r.status_code == 200 and "say why this stage may be entered directly" in r.content.decode()
    data["direct_entry_reason"] = "Severe absence: the contract meeting at once"
    assert client.post(f"/escalation/policy/stages/{s.pk}/", data).status_code == 302
    s.refresh_from_db()
    assert s.direct_entry and s.direct_entry_reason.startswith("Severe") and s.exit_after_days == 28
