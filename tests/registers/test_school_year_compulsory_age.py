"""Compulsory school age per pupil (Education Act 1996 s8 and the prescribed days order).

domain.md section 1: "a child reaches CSA on the prescribed day — 31 December, 31 March or
31 August — on which, or next after which, they turn five (born 5 Nov 2020 → 31 Dec 2025;
born 31 Dec 2020 → 31 Dec 2025; born 1 Jan 2021 → 31 Mar 2026). CSA ends on the last Friday
in June of the school year in which the pupil turns 16."
"""

from datetime import date, timedelta

import pytest

from registers.models import Pupil
from registers.school_year import csa_dob_bounds, csa_end, csa_start, of_compulsory_school_age
from registers.selectors import compulsory_school_age


@pytest.mark.parametrize("dob,starts", [
    (date(2020, 11, 5), date(2025, 12, 31)),   # domain.md's first example
    (date(2020, 12, 31), date(2025, 12, 31)),  # turns five on the prescribed day itself
    (date(2021, 1, 1), date(2026, 3, 31)),     # the day after: the next prescribed day
    (date(2021, 3, 31), date(2026, 3, 31)),
    (date(2021, 4, 1), date(2026, 8, 31)),
    (date(2021, 8, 31), date(2026, 8, 31)),
    (date(2021, 9, 1), date(2026, 12, 31)),
    (date(2016, 2, 29), date(2021, 3, 31)),    # a leap-day birthday: five on 1 March 2021
])
def test_csa_starts_on_the_prescribed_day_on_or_after_the_fifth_birthday(dob, starts):
    assert csa_start(dob) == starts


@pytest.mark.parametrize("dob,ends", [
    (date(2010, 8, 31), date(2026, 6, 26)),   # 16 on 31 Aug 2026: school year 2025-26
    (date(2010, 9, 1), date(2027, 6, 25)),    # 16 on 1 Sep 2026: school year 2026-27
    (date(2011, 6, 26), date(2027, 6, 25)),   # turns 16 the day after that year's last Friday in June
    (date(2011, 1, 15), date(2027, 6, 25)),
])
def test_csa_ends_on_the_last_friday_in_june_of_the_school_year_they_turn_16(dob, ends):
    assert csa_end(dob) == ends
    assert ends.weekday() == 4 and ends.month == 6 and (ends + timedelta(days=7)).month == 7


@pytest.mark.parametrize("dob,on,of_age", [
    (date(2020, 11, 5), date(2025, 12, 30), False),  # the day before the prescribed day
    (date(2020, 11, 5), date(2025, 12, 31), True),   # the prescribed day itself
    (date(2021, 1, 1), date(2026, 1, 5), False),     # reception child, not yet of CSA in spring term
    (date(2010, 8, 31), date(2026, 6, 26), True),    # the last day of CSA
    (date(2010, 8, 31), date(2026, 6, 27), False),
    (date(2022, 6, 1), date(2026, 2, 2), False),     # a nursery child
])
def test_of_compulsory_school_age_on_a_day(dob, on, of_age):
    assert of_compulsory_school_age(dob, on) is of_age


def test_date_of_birth_bounds_agree_with_the_rule_for_every_day_of_two_years():
    """The SQL filter (a date-of-birth range) must say what the per-pupil rule says."""
    dobs = [date(2007, 1, 1) + timedelta(days=n) for n in range(0, 365 * 17, 3)]
    for n in range(0, 730, 7):
        on = date(2025, 8, 1) + timedelta(days=n)
        oldest, youngest = csa_dob_bounds(on)
        for dob in dobs:
            assert (oldest <= dob <= youngest) == of_compulsory_school_age(dob, on), (dob, on)


def test_queryset_filter_follows_each_pupil(make_pupil):
    reception_dec = make_pupil(date_of_birth=date(2020, 11, 5), year_group=0)  # CSA from 31 Dec 2025
    reception_mar = make_pupil(date_of_birth=date(2021, 1, 1), year_group=0)   # CSA from 31 Mar 2026
    nursery = make_pupil(date_of_birth=date(2022, 2, 1), year_group=-1)
    year_6 = make_pupil(date_of_birth=date(2014, 6, 1), year_group=6)
    on = date(2026, 1, 12)
    assert set(compulsory_school_age(Pupil.objects.all(), on)) == {reception_dec, year_6}
    assert nursery not in compulsory_school_age(Pupil.objects.all(), date(2026, 6, 1))
    assert reception_mar in compulsory_school_age(Pupil.objects.all(), date(2026, 6, 1))
