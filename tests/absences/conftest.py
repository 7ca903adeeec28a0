"""Fixtures for the parent side: a family, another family, and a term around today."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.factories import ContactFactory


@pytest.fixture
def family(calendar, make_pupil, people):
    """The parent's child in 3B, and another family's child in the same class."""
    child = make_pupil(group="3B", legal_forename="Amira", legal_surname="Khan", serial=701)
    other = make_pupil(group="3B", legal_forename="Oscar", legal_surname="Other", serial=702)
    ContactFactory(pupil=child, forename="Pat", surname="Khan", user=people["parent"],
                   correspondence=True, email="pat@example.org", mobile="07700 900001")
    ContactFactory(pupil=other, forename="Olu", surname="Other", email="olu@example.org",
                   mobile="07700 900002")
    return {"child": child, "other": other}


@pytest.fixture
def live_calendar(school_a):
    """A term from four weeks ago to ten weeks ahead, so "today" is a term day in view tests."""
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry

    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    calendar_replace(entries=[CalendarEntry(kind="term", start_date=monday - timedelta(weeks=4),
                                            end_date=monday + timedelta(weeks=10, days=4),
                                            label="Live term")])
    return school_a


@pytest.fixture
def live_family(live_calendar, make_pupil, people):
    child = make_pupil(group="3B", legal_forename="Amira", legal_surname="Khan", serial=711,
                       admission=date(2020, 9, 1))
    other = make_pupil(group="3B", legal_forename="Oscar", legal_surname="Other", serial=712,
                       admission=date(2020, 9, 1))
    ContactFactory(pupil=child, forename="Pat", surname="Khan", user=people["parent"],
                   correspondence=True, email="pat@example.org")
    ContactFactory(pupil=other, forename="Olu", surname="Other")
    return {"child": child, "other": other}


def next_school_day(after: date, n: int = 1) -> date:
    from registers.models import SchoolDay

    return list(SchoolDay.objects.filter(closed=False, date__gt=after).order_by("date")
                .values_list("date", flat=True)[:n])[-1]


@pytest.fixture
def eager():
    """Celery runs each task in this process as it is queued (what is sent is the point)."""
    from attendance_site.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
