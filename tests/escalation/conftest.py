"""Escalation test fixtures."""

from datetime import date

import pytest

# Two school years with half terms, a whole week closed and an INSET day:
#   Summer 1 2025: 22 Apr – 23 May; Summer 2: 2 Jun – 18 Jul (holiday to 31 Aug)
#   Autumn 1: 1 Sep – 24 Oct (1 Sep INSET); Autumn 2: 3 Nov – 19 Dec (10–14 Nov closed)
#   Spring 1 2026: 5 Jan – 13 Feb
TWO_YEARS = [
    ("term", date(2025, 4, 22), date(2025, 5, 23), "Summer 1"),
    ("term", date(2025, 6, 2), date(2025, 7, 18), "Summer 2"),
    ("term", date(2025, 9, 1), date(2025, 10, 24), "Autumn 1"),
    ("term", date(2025, 11, 3), date(2025, 12, 19), "Autumn 2"),
    ("term", date(2026, 1, 5), date(2026, 2, 13), "Spring 1"),
    ("closure", date(2025, 9, 1), date(2025, 9, 1), "INSET"),
    ("closure", date(2025, 11, 10), date(2025, 11, 14), "Heating failure"),
]


@pytest.fixture
def two_years(school_a):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry

    calendar_replace(entries=[CalendarEntry(kind=k, start_date=s, end_date=e, label=label)
                              for k, s, e, label in TWO_YEARS])
    return school_a


@pytest.fixture
def pupil(make_pupil):
    def make(**kw):
        kw.setdefault("admission", date(2024, 9, 1))
        return make_pupil(**kw)
    return make
