"""Issue 12 item 6: clocks start when the family was told, never when something was queued.

A monitoring stage holds its clock while its letter waits (or, with no letter of ours, until a
person records that the warning was issued): no review, no step, no penalty request. The clock
then runs from the day the letter was emailed or posted, the meeting held, the warning issued.
"""

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalation import presets
from escalation.models import Case, CaseEvent, Stage
from escalation.nightly import night_run
from escalation.selectors import cases_export
from escalation.services import case_told_by_hand
from letters.models import Letter
from letters.services import letter_check_resolve, letter_mark_posted
from tests.conftest import client_for
from tests.escalation.helpers import open_days, put, put_through
from tests.factories import CaseFactory, LetterFactory

START = date(2025, 9, 2)


def _rendered(letter: Letter, on: date) -> Letter:
    Letter.objects.filter(pk=letter.pk).update(
        status=Letter.Status.RENDERED, rendered_at=timezone.make_aware(datetime(on.year, on.month, on.day)))
    return Letter.objects.get(pk=letter.pk)


def _history(case: Case, as_of: date) -> list[tuple[str, str]]:
    row = next(r for r in cases_export(as_of=as_of)
               if r["track"] == case.track and r["upn"] == case.pupil.upn)
    return [(h["date"], h["event"]) for h in row["history"]]


def _banks_lane_warning(pupil) -> Case:
    presets.apply("bankslane")
    p = pupil()
    last = put(p, START, "/" * 20 + "O" * 10)  # 10 unauthorised sessions: the warning (Mon 22 Sep)
    night_run(as_of=last)
    return Case.objects.get(pupil=p, track="penalty")


@pytest.mark.parametrize("u_in_monitoring", [True, False])
def test_banks_lane_15_school_days_run_from_when_the_warning_was_sent(two_years, pupil, people,
                                                                     u_in_monitoring):
    """Banks Lane: "Before being issued with an Education Penalty Notice, parents will receive a
    written warning. This gives them an opportunity to avoid a fine by ensuring that no
    unauthorised absences – including late after the close registration marks – are recorded
    against their child during the next 15 school days." The 15 days follow the warning the
    parents received: a U while the letter still waits in the queue is not in them, and a
    penalty-notice request never comes before the warning was sent."""
    case = _banks_lane_warning(pupil)
    p = case.pupil
    assert case.stage.key == "bl-warning" and case.monitor_until is None and case.clock_waiting
    assert case.waiting_for == "waiting for letter 'bankslane_penalty_warning' to be sent"
    # Marks from Tue 23 Sep: a U on Wed 24 Sep (PM), before the letter goes.
    monitoring = open_days(date(2025, 9, 30))[:15]  # the 15 school days after Mon 29 Sep
    u_day = monitoring[6]                             # Wed 8 Oct
    days = open_days(date(2025, 9, 23), monitoring[-1])
    pattern = "".join("/U" if d == date(2025, 9, 24) or (u_in_monitoring and d == u_day) else "//"
                      for d in days)
    put(p, date(2025, 9, 23), pattern)
    night_run(as_of=date(2025, 9, 26))
    case.refresh_from_db()
    assert case.stage.key == "bl-warning" and case.monitor_until is None, "no clock before it is sent"
    # The queue says what it waits for.
    page = client_for(people["attendance_officer"]).get("/escalation/").content.decode()
    assert "Clock held: waiting for letter &#x27;bankslane_penalty_warning&#x27; to be sent" in page

    letter = _rendered(Letter.objects.get(case=case), date(2025, 9, 26))
    letter_mark_posted(letter=letter, on=date(2025, 9, 29), user=people["attendance_officer"])
    case.refresh_from_db()
    assert (case.told_on, case.monitor_until) == (date(2025, 9, 29), monitoring[-1])  # Mon 20 Oct
    assert case.events.get(kind="told").detail.startswith(
        "Family told on 29 September 2025 (letter 'bankslane_penalty_warning' posted or handed over)")

    night_run(as_of=monitoring[-1])
    case.refresh_from_db()
    if u_in_monitoring:
        assert case.stage.key == "bl-penalty-request"
        assert "during the monitoring period (8 Oct)" in case.explanation  # not 24 Sep
        advanced = case.events.get(kind="advanced")
        assert advanced.night > case.letters.get(template_key="bankslane_penalty_warning").printed_at.date()
    else:
        assert case.status == "closed" and "no unauthorised absence" in case.close_reason
    history = _history(case, monitoring[-1])
    assert history[:3] == [("2025-09-22", "opened"), ("2025-09-22", "letter_queued"),
                           ("2025-09-29", "letter_sent")]
    assert history[3] == ("2025-10-20", "advanced" if u_in_monitoring else "closed")
    assert next(r for r in cases_export(as_of=monitoring[-1]) if r["track"] == "penalty")["letters"][0][
        "sent_on"] == "2025-09-29"


def test_an_emailed_warning_starts_the_clock_on_the_day_it_was_emailed(two_years, pupil, people):
    case = _banks_lane_warning(pupil)
    letter = _rendered(Letter.objects.get(case=case), date(2025, 9, 23))
    claimed = timezone.make_aware(datetime(2025, 9, 24, 10, 0))
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.CHECK, claimed_at=claimed)
    assert letter_check_resolve(letter=letter, sent=True, user=people["attendance_officer"])
    case.refresh_from_db()
    assert case.told_on == date(2025, 9, 24) and case.monitor_until == open_days(date(2025, 9, 25))[14]
    # Only the first telling counts: posting a copy later does not restart the clock.
    assert case.events.filter(kind="told").count() == 1


def test_a_queued_letter_of_another_stage_does_not_start_the_clock(two_years, pupil, people):
    case = _banks_lane_warning(pupil)
    other = LetterFactory(pupil=case.pupil, case=case, template_key="something_else",
                          trigger_key="other", night=date(2025, 9, 22))
    letter_mark_posted(letter=_rendered(other, date(2025, 9, 23)), on=date(2025, 9, 24), user=None)
    case.refresh_from_db()
    assert case.clock_waiting and case.told_on is None


def _st_lukes_at_the_warning(pupil) -> Case:
    presets.apply("stlukes")
    p = pupil()
    put_through(p, START, date(2026, 2, 13), "", "/" * 8 + "O" * 2)  # 80%, an O pair every week
    case = CaseFactory(pupil=p, track="attendance", stage=Stage.objects.get(key="stl-85"),
                       opened_on=date(2025, 10, 3), stage_since=date(2025, 10, 3),
                       review_due=date(2025, 11, 14), owner_role="head", entry_measure=84.0)
    night_run(as_of=date(2025, 11, 14))  # the half-termly check: no improvement
    case.refresh_from_db()
    return case


def test_st_lukes_15_days_run_from_when_the_warning_was_issued(two_years, pupil, people):
    """St Luke's: "6. Pupil's attendance is monitored every half term, if attendance does not
    improve, school will request a written warning letter be sent from the School Attendance
    Improvement Service 7. If there are no improvements in attendance after 15 days, a
    fixed-penalty notice will be issued." The 15 days are after the warning, which another
    service sends: they start when the school records it was issued, not when it was requested."""
    case = _st_lukes_at_the_warning(pupil)
    assert case.stage.key == "stl-warning" and case.clock_waiting
    assert case.waiting_for == "waiting for the warning to be recorded as issued"
    night_run(as_of=date(2025, 12, 5))  # 15 school days on, O marks every week: still waiting
    case.refresh_from_db()
    assert case.stage.key == "stl-warning", "no fixed penalty before the warning was issued"

    assert case_told_by_hand(case=case, on=date(2025, 12, 8), how="letter", user=people["head"])
    case.refresh_from_db()
    assert case.monitor_until == open_days(date(2025, 12, 9))[14]  # Mon 12 Jan 2026, over Christmas
    with pytest.raises(ValidationError, match="not waiting"):
        case_told_by_hand(case=case, on=date(2025, 12, 9), how="letter", user=people["head"])
    night_run(as_of=date(2025, 12, 19))
    case.refresh_from_db()
    # O marks fall on Mondays: 8 Dec (the day it was issued) is not in the 15 days, 15 Dec is.
    assert case.stage.key == "stl-fpn" and case.explanation.endswith("monitoring period (15 Dec)")
    assert _history(case, date(2025, 12, 19))[-2:] == [("2025-12-08", "letter_sent"),
                                                        ("2025-12-19", "advanced")]


def test_telling_by_hand_refuses_bad_dates(two_years, pupil, people):
    case = _st_lukes_at_the_warning(pupil)
    with pytest.raises(ValidationError, match="before the case reached"):
        case_told_by_hand(case=case, on=date(2025, 11, 13), how="letter", user=people["head"])
    with pytest.raises(ValidationError, match="in the future"):
        case_told_by_hand(case=case, on=timezone.localdate().replace(year=timezone.localdate().year + 1),
                          how="letter", user=people["head"])
    client = client_for(people["attendance_officer"])
    url = f"/escalation/cases/{case.pk}/told/"
    r = client.post(url, {"on": "not a date", "how": "letter"}, follow=True)
    assert r.status_code == 200 and "Enter a valid date" in r.content.decode()
    client.post(url, {"on": "2025-12-08", "how": "in_person"})
    case.refresh_from_db()
    assert case.told_on == date(2025, 12, 8)
    assert CaseEvent.objects.get(case=case, kind="told").data["channel"] == "in_person"
    assert ("2025-12-08", "meeting_held") in _history(case, date(2025, 12, 8))


def test_a_monitoring_stage_with_a_meeting_starts_when_the_meeting_is_held(two_years, pupil, people):
    """"...or the meeting was held": a warning given at a meeting starts the clock that day."""
    from escalation.services import case_outcome_record, meeting_schedule

    presets.apply("bankslane")
    Stage.objects.filter(key="bl-warning").update(letter_template="", meeting_type="parent")
    p = pupil()
    night_run(as_of=put(p, START, "/" * 20 + "O" * 10))
    case = Case.objects.get(pupil=p, track="penalty")
    assert case.waiting_for == "waiting for the Meeting with parents to be held"
    ao = people["attendance_officer"]
    meeting = meeting_schedule(case=case, kind="parent", user=ao,
                               starts_at=timezone.make_aware(datetime(2025, 9, 25, 15, 30)))
    assert Case.objects.get(pk=case.pk).clock_waiting  # scheduled is not held
    case_outcome_record(case=case, outcome="Warning explained to both parents", user=ao, meeting=meeting,
                        meeting_status="held")
    case.refresh_from_db()
    assert case.told_on == date(2025, 9, 25) and case.monitor_until == open_days(date(2025, 9, 26))[14]
    assert ("2025-09-25", "meeting_held") in _history(case, date(2025, 10, 20))
