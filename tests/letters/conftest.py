"""Helpers for letter and return tests: marks over school days, contacts, a media folder."""

from datetime import date

import pytest

from tests.conftest import reset_storage  # noqa: F401  (imported from here by older tests)


@pytest.fixture(autouse=True)
def _media(media_root):
    """Every letters test writes its files to a folder of its own."""


def school_days(start: date, n: int) -> list[date]:
    """The next ``n`` open school days from ``start`` (inclusive), from the calendar."""
    from registers.models import SchoolDay

    return list(SchoolDay.objects.filter(closed=False, date__gte=start).order_by("date")
                .values_list("date", flat=True)[:n])


def mark(pupil, days, am: str, pm: str | None = None):
    """Give the pupil the code for both sessions (or AM/PM codes) on each day."""
    from tests.factories import marks_create

    pm = am if pm is None else pm
    pm = "\\" if pm == "/" else pm
    marks_create(pupil, [(d, s, c) for d in days for s, c in (("AM", am), ("PM", pm))])


def contact(pupil, *, correspondence=True, priority=1, email="", **kw):
    from tests.factories import ContactFactory

    defaults = dict(title="Mrs", forename="Jane", surname=pupil.legal_surname,
                    relationship="Mother", address="1 High Street\nLeeds\nLS1 1AA",
                    phone="0113 496 0000", mobile="07700 900123")
    defaults.update(kw)
    return ContactFactory(pupil=pupil, priority=priority, correspondence=correspondence,
                          email=email, **defaults)
