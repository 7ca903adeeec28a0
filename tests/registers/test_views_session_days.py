"""The register's day and its neighbouring sessions, read in one query (issue 18.5), are
what the three queries before it found, on every kind of day: INSET, weekends, half term,
the first and last days of the year."""

from datetime import date, timedelta

from registers.models import SchoolDay
from registers.views import _session_days


def three_queries(day, session):
    """The answer as registers.views worked it out until issue 18.5."""
    schoolday = SchoolDay.objects.filter(date=day).first()
    if session == "PM":
        prev = (day, "AM")
    else:
        d = SchoolDay.objects.filter(closed=False, date__lt=day).order_by("-date") \
            .values_list("date", flat=True).first()
        prev = (d, "PM") if d else None
    if session == "AM":
        nxt = (day, "PM")
    else:
        d = SchoolDay.objects.filter(closed=False, date__gt=day).order_by("date") \
            .values_list("date", flat=True).first()
        nxt = (d, "AM") if d else None
    return schoolday, prev, nxt


def test_the_day_and_its_neighbours_as_before(calendar, django_assert_num_queries):
    days = [date(2025, 8, 25) + timedelta(days=n) for n in range(80)]  # INSET, half term
    days += [date(2026, 7, 10) + timedelta(days=n) for n in range(14)]  # the year's end
    for day in days:
        for session in ("AM", "PM"):
            with django_assert_num_queries(1):
                got = _session_days(day, session)
            assert got == three_queries(day, session), (day, session)
    assert _session_days(date(2025, 9, 1), "PM") == (
        SchoolDay.objects.get(date=date(2025, 9, 1), closed=True), (date(2025, 9, 1), "AM"),
        (date(2025, 9, 2), "AM"))
    assert _session_days(date(2025, 11, 3), "AM")[1] == (date(2025, 10, 24), "PM")
    assert _session_days(date(2026, 7, 17), "PM")[2] is None
