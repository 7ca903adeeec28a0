"""The penalty-notice window of domain.md section 6 across half terms, closures and years."""

from datetime import date

import pytest
from django.core.management import call_command

from escalation.selectors import penalty_candidates, penalty_window
from registers.models import Mark


def unauthorised(pupil, days, code="O"):
    Mark.objects.bulk_create(Mark(pupil=pupil, date=d, session=s, code=code)
                             for d, s in days)


@pytest.mark.parametrize("as_of,start", [
    # 2nd week of the new school year: 2 autumn weeks + 7 of Summer 2 + the last of Summer 1
    (date(2025, 9, 12), date(2025, 5, 19)),
    # evaluated on a Sunday: its own week counts (Mon 8 Sep)
    (date(2025, 9, 14), date(2025, 5, 19)),
    # in the October half term (no sessions that week): the 8 autumn weeks and 2 of July
    (date(2025, 10, 29), date(2025, 7, 7)),
    # across the closed week of 10–14 November, which is not a school week
    (date(2025, 11, 21), date(2025, 9, 1)),
    # across the Christmas holiday into January
    (date(2026, 1, 9), date(2025, 10, 6)),
])
def test_window_is_the_ten_most_recent_school_weeks(two_years, as_of, start):
    assert penalty_window(as_of) == (start, as_of)


def test_window_spans_the_summer_holiday(two_years, pupil):
    p = pupil()
    # 5 sessions on Friday 16 May (just outside), 5 on Monday 19 May (first day inside), 4 in September.
    unauthorised(p, [(date(2025, 5, 16), "AM"), (date(2025, 5, 16), "PM"),
                     (date(2025, 5, 15), "AM"), (date(2025, 5, 15), "PM"), (date(2025, 5, 14), "AM")])
    unauthorised(p, [(date(2025, 5, 19), "AM"), (date(2025, 5, 19), "PM"), (date(2025, 5, 20), "AM"),
                     (date(2025, 5, 20), "PM"), (date(2025, 5, 21), "AM")], code="G")
    unauthorised(p, [(date(2025, 9, 8), "AM"), (date(2025, 9, 9), "PM"), (date(2025, 9, 10), "AM")], code="U")
    assert penalty_candidates(as_of=date(2025, 9, 12)) == []  # 8 inside the window
    unauthorised(p, [(date(2025, 9, 11), "AM")], code="N")
    assert penalty_candidates(as_of=date(2025, 9, 12)) == []  # 9: not yet
    unauthorised(p, [(date(2025, 9, 12), "PM")])
    assert penalty_candidates(as_of=date(2025, 9, 11)) == []  # marks after the date do not count
    [row] = penalty_candidates(as_of=date(2025, 9, 12))        # exactly 10
    assert (row["upn"], row["unauthorised_sessions"], row["window_start"], row["window_end"]) == (
        p.upn, 10, "2025-05-19", "2025-09-12")


def test_authorised_and_present_do_not_count(two_years, pupil):
    p = pupil()
    days = [(date(2025, 9, d), s) for d in (8, 9, 10, 11, 12) for s in ("AM", "PM")]
    unauthorised(p, days[:9])
    unauthorised(p, days[9:], code="I")
    assert penalty_candidates(as_of=date(2025, 9, 12)) == []


def test_export_penalty_candidates_command(two_years, pupil, capsys):
    import json

    p = pupil()
    unauthorised(p, [(date(2025, 9, d), s) for d in (8, 9, 10, 11, 12) for s in ("AM", "PM")])
    call_command("export_penalty_candidates", "--schema", "test_a", "--as-of", "2025-09-12",
                 "--format", "json")
    assert json.loads(capsys.readouterr().out) == [
        {"upn": p.upn, "unauthorised_sessions": 10, "window_start": "2025-05-19",
         "window_end": "2025-09-12"}]
