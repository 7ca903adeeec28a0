"""Generated schools for the dashboard tests: pupils of every kind and random marks.

Pupils span nursery to Year 6, so some are below compulsory school age; some join during the
range and some leave during it (leavers keep their marks up to the leaving date). Marks cover
the first weeks of the test term (2025-26) and the same weeks of the year before.
"""

import random
from datetime import date, timedelta

import pytest

from tests.conftest import make_upn, weekdays
from tests.factories import RegistrationGroupFactory
from tests.registers.conftest import clock  # noqa: F401  (the registers clock fixture, for the warm-up tests)

# The test calendar's first open day is Tuesday 2 September 2025 (1 September is INSET).
DAYS = weekdays(date(2025, 9, 2), 20)           # four school weeks, to Mon 29 September
LAST_YEAR_DAYS = weekdays(date(2024, 9, 3), 20)
AS_OF = DAYS[-1]

CODES = ["/"] * 60 + ["L"] * 6 + ["U"] * 2 + ["I"] * 8 + ["M"] * 2 + ["N"] * 3 + ["O"] * 2 + \
    ["G"] * 2 + ["C"] + ["E"] + ["C2"] + ["V"] * 2 + ["X"] + ["Y7"] + ["D"]


# Complexity: test fixture: one block per scenario pupil.
def populate(n: int, *, seed: int = 7, last_year: bool = True):  # noqa: C901
    """``n`` pupils in classes of 25 with marks for DAYS (and LAST_YEAR_DAYS)."""
    from registers.models import Mark, Pupil

    rng = random.Random(seed)
    years = [3, -1, 0, 1, 2, 4, 5, 6]
    groups = []
    for i in range(max(1, -(-n // 25))):
        yg = years[i % len(years)]
        groups.append(RegistrationGroupFactory(
            name=f"{'N' if yg < 0 else ('R' if yg == 0 else yg)}{chr(65 + i // len(years))}",
            year_group=yg))
    pupils = []
    for i in range(n):
        g = groups[i // 25]
        # Born in the school year matching the year group (age 4 at 31 Aug 2025 = Reception).
        born = date(2025 - 4 - g.year_group, 1, 1) + timedelta(days=rng.randrange(0, 365))
        if born.month >= 9:
            born = born.replace(year=born.year - 1)
        admission = date(2020, 9, 1)
        leaving = None
        kind = rng.random()
        if kind < 0.06:
            admission = rng.choice(DAYS[3:15])                  # joined during the range
        elif kind < 0.12:
            leaving = rng.choice(DAYS[2:15])                    # left during the range
        pupils.append(Pupil(
            upn=make_upn(estab=3000 + i // 1000, serial=i % 1000),
            legal_surname=f"Surname{i:04d}", legal_forename=f"Fore{i}",
            date_of_birth=born, gender=rng.choice("FFMMU"), year_group=g.year_group,
            registration_group=g, admission_date=admission, leaving_date=leaving,
            deletion_ground="other_school" if leaving else "",
            pupil_premium=rng.random() < 0.3, fsm=rng.random() < 0.25, eal=rng.random() < 0.2,
            sen_status=rng.choice("NNNNNNKKE"), lac=rng.random() < 0.05,
            child_protection=rng.random() < 0.05))
    Pupil.objects.bulk_create(pupils)
    marks = []
    for p in pupils:
        weight = rng.choice([0.0, 0.02, 0.05, 0.1, 0.3, 0.7])  # some pupils are often absent
        for days in ([DAYS, LAST_YEAR_DAYS] if last_year else [DAYS]):
            for d in days:
                if d < p.admission_date or (p.leaving_date and d > p.leaving_date):
                    continue
                for s in ("AM", "PM"):
                    code = rng.choice(CODES) if rng.random() < 0.25 else (
                        "/" if s == "AM" else "\\")
                    if code in ("/", "\\"):
                        code = "/" if s == "AM" else "\\"
                    if rng.random() < weight:
                        code = rng.choice(["I", "N", "O", "G", "U"])
                    marks.append(Mark(pupil=p, date=d, session=s, code=code,
                                      minutes_late=rng.randrange(1, 30) if code in "LU" else None))
    Mark.objects.bulk_create(marks, batch_size=5000)
    return pupils


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache, caches

    cache.clear()
    caches["dashboards"].clear()  # the figures (a per-process cache under the test settings)
    yield
    cache.clear()
    caches["dashboards"].clear()


@pytest.fixture
def generated(calendar):
    def make(n, **kw):
        return populate(n, **kw)
    return make
