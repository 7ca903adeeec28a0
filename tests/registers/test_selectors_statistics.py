"""Statistics against domain.md section 3, table-driven, on real tenant schemas."""

from datetime import date, time

import pytest

from registers import codes
from registers.models import Mark, Pupil
from registers.school_year import csa_birth_range, learning_lost, school_year_start
from registers.selectors import national_cohort, stats_by_pupil, stats_total
from registers.services import late_code
from tests.conftest import weekdays

DAYS = weekdays(date(2025, 9, 8), 100)


def put_marks(pupil, code_list):
    """One mark per session, AM then PM, over consecutive school days."""
    sessions = [(d, s) for d in DAYS for s in ("AM", "PM")]
    Mark.objects.bulk_create(Mark(pupil=pupil, date=d, session=s, code=c)
                             for (d, s), c in zip(sessions, code_list, strict=False))


# code -> (possible, attended, authorised, unauthorised, not_possible)
EXPECTED = {
    "/": (1, 1, 0, 0, 0), "\\": (1, 1, 0, 0, 0), "L": (1, 1, 0, 0, 0),
    **{c: (1, 1, 0, 0, 0) for c in ("K", "V", "P", "W", "B")},
    **{c: (1, 0, 1, 0, 0) for c in ("C1", "M", "J1", "S", "C2", "C", "T", "R", "I", "E")},
    **{c: (1, 0, 0, 1, 0) for c in ("G", "N", "O", "U")},
    **{c: (0, 0, 0, 0, 1) for c in ("D", "X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7")},
    "Z": (0, 0, 0, 0, 0), "#": (0, 0, 0, 0, 0),
}


def test_every_national_code_has_an_expected_category():
    assert set(EXPECTED) == set(codes.CODES)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_code_counts_in_its_category(make_pupil, code):
    pupil = make_pupil()
    put_marks(pupil, [code])
    s = stats_total(pupils=Pupil.objects.filter(pk=pupil.pk))
    assert (s.possible, s.attended, s.authorised, s.unauthorised, s.not_possible) == EXPECTED[code]


@pytest.mark.parametrize("attended,absent,pct,pa,sa", [
    (9, 1, 90.0, True, False),        # exactly 10% absence is persistent absence
    (10, 1, 10 / 11 * 100, False, False),  # 9.09% absence is not
    (171, 19, 90.0, True, False),     # exactly 90.0% over a longer run
    (172, 18, 172 / 190 * 100, False, False),
    (1, 1, 50.0, True, True),         # exactly 50% absence is severe absence
    (51, 49, 51.0, True, False),      # 49% absence is persistent, not severe
    (0, 5, 0.0, True, True),
    (5, 0, 100.0, False, False),
])
def test_thresholds_compare_unrounded_values(make_pupil, attended, absent, pct, pa, sa):
    pupil = make_pupil()
    put_marks(pupil, ["/"] * attended + ["I"] * absent)
    s = stats_by_pupil(pupils=Pupil.objects.filter(pk=pupil.pk))[pupil.pk]
    assert s.possible == attended + absent
    assert s.attendance_pct == pytest.approx(pct)
    assert s.absence_pct == pytest.approx(100 - pct)
    assert (s.persistent, s.severe) == (pa, sa)


def test_not_possible_codes_do_not_dilute_the_percentage(make_pupil):
    pupil = make_pupil()
    put_marks(pupil, ["/"] * 9 + ["N"] + ["X", "D", "Y4", "Z", "#", "Q"])
    s = stats_total(pupils=Pupil.objects.filter(pk=pupil.pk))
    assert (s.possible, s.attended, s.unauthorised, s.not_possible) == (10, 9, 1, 4)
    assert s.attendance_pct == 90.0 and s.persistent


def test_no_possible_sessions_gives_no_percentage(make_pupil):
    pupil = make_pupil()
    put_marks(pupil, ["X", "X"])
    s = stats_total(pupils=Pupil.objects.filter(pk=pupil.pk))
    assert s.attendance_pct is None and not s.persistent and not s.severe


def test_lateness_and_minutes(make_pupil):
    pupil = make_pupil()
    put_marks(pupil, ["L", "U", "/"])
    Mark.objects.filter(code="L").update(minutes_late=5)
    Mark.objects.filter(code="U").update(minutes_late=40)
    s = stats_total(pupils=Pupil.objects.filter(pk=pupil.pk))
    assert (s.late_before_close, s.late_after_close, s.minutes_late) == (1, 1, 45)
    assert (s.attended, s.unauthorised) == (2, 1)


def test_date_range_and_groups(make_pupil):
    a, b = make_pupil(group="3A", pupil_premium=True), make_pupil(group="3B")
    put_marks(a, ["/", "N", "/", "/"])
    put_marks(b, ["I", "I", "/", "/"])
    pp = Pupil.objects.filter(pupil_premium=True)
    assert stats_total(pupils=pp).unauthorised == 1
    whole = stats_total()
    assert (whole.possible, whole.absent) == (8, 3)
    first_day = stats_total(date_from=DAYS[0], date_to=DAYS[0])
    assert (first_day.possible, first_day.absent) == (4, 3)
    assert stats_total(date_from=DAYS[1]).absent == 0


@pytest.mark.parametrize("dob,included", [
    (date(2020, 8, 31), True),    # 5 on 31 August 2025
    (date(2020, 9, 1), False),    # still 4 on 31 August: reception, not yet counted
    (date(2009, 9, 1), True),     # 15 on 31 August 2025
    (date(2009, 8, 31), False),   # 16 on 31 August 2025
])
def test_national_statistics_cohort(make_pupil, dob, included):
    pupil = make_pupil(date_of_birth=dob)
    cohort = national_cohort(Pupil.objects.all(), date(2026, 2, 1))
    assert (pupil in cohort) is included


def test_csa_birth_range_for_school_year():
    assert csa_birth_range(date(2025, 10, 1)) == (date(2009, 9, 1), date(2020, 8, 31))
    assert csa_birth_range(date(2026, 7, 31)) == csa_birth_range(date(2025, 8, 1))
    assert school_year_start(date(2026, 7, 31)) == date(2025, 8, 1)


@pytest.mark.parametrize("minutes,code", [(0, "L"), (29, "L"), (30, "L"), (31, "U"), (120, "U")])
def test_late_before_close_is_l_after_is_u(school_a, minutes, code):
    # Beecroft preset: late after 08:40, register closes 09:10.
    assert school_a.am_late_after == time(8, 40) and school_a.am_close == time(9, 10)
    assert late_code(school=school_a, session="AM", minutes_late=minutes) == code


def test_learning_lost_table():
    assert learning_lost(19) == {"sessions": 19, "days": 9.5, "weeks": 1.9, "hours": 47.5}
