"""The penalty-notice window of domain.md section 6 across half terms, closures and years."""

from datetime import date

import pytest
from django.core.management import call_command

from escalation.selectors import penalty_candidates, penalty_window
from registers.models import Mark
from tests.factories import ContactFactory


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


# domain.md section 6: "A penalty notice must be considered when a pupil of compulsory school
# age (section 1, on the evaluation date; sessions before the pupil reached CSA do not count)
# has 10 or more sessions of unauthorised absence within a rolling period of 10 school weeks".

def _all_sessions(days):
    return [(d, s) for d in days for s in ("AM", "PM")]


def test_a_nursery_child_is_never_a_penalty_candidate(two_years, pupil):
    nursery = pupil(date_of_birth=date(2022, 3, 1), year_group=-1, group="Nursery")
    year_3 = pupil(date_of_birth=date(2017, 3, 1))
    days = [date(2025, 9, d) for d in (8, 9, 10, 11, 12)]
    unauthorised(nursery, _all_sessions(days))
    unauthorised(year_3, _all_sessions(days))
    assert [r["upn"] for r in penalty_candidates(as_of=date(2025, 9, 12))] == [year_3.upn]


def test_a_reception_child_counts_only_sessions_from_the_prescribed_day(two_years, pupil):
    # Born 5 November 2020: of compulsory school age from 31 December 2025 (domain.md's example).
    child = pupil(date_of_birth=date(2020, 11, 5), year_group=0, group="R")
    before = [date(2025, 12, d) for d in (15, 16, 17, 18, 19)]   # 10 sessions before CSA
    after = [date(2026, 1, d) for d in (5, 6, 7, 8)]             # 8 sessions after
    unauthorised(child, _all_sessions(before) + _all_sessions(after))
    assert penalty_candidates(as_of=date(2025, 12, 19)) == []    # 10 sessions, but not of CSA yet
    assert penalty_candidates(as_of=date(2026, 1, 8)) == []      # 18 in the window, 8 since CSA
    unauthorised(child, _all_sessions([date(2026, 1, 9)]))
    [row] = penalty_candidates(as_of=date(2026, 1, 9))           # exactly 10 since 31 December
    assert (row["upn"], row["unauthorised_sessions"]) == (child.upn, 10)


def test_no_notice_for_a_child_below_compulsory_school_age(two_years, pupil, people):
    from django.core.exceptions import ValidationError

    from escalation.services import penalty_notice_issue

    child = pupil(date_of_birth=date(2021, 1, 1), year_group=0, group="R")  # CSA from 31 March 2026
    mum = ContactFactory(pupil=child, priority=1, forename="Mary", surname="Parent")
    for kind in ("nti", "penalty"):
        with pytest.raises(ValidationError, match="not of compulsory school age"):
            penalty_notice_issue(pupil=child, parent=mum, kind=kind, issued_on=date(2026, 2, 2),
                                 window_start=date(2025, 11, 24), window_end=date(2026, 2, 2),
                                 unauthorised_sessions=12, user=people["head"])
