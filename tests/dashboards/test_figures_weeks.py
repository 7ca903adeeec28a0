"""The dashboards' figures read from the week counts equal the same figures read from every
mark (issue 18.4).

``figures._marks_counted`` takes each whole week (Monday to Sunday) a pupil was on roll
throughout from registers_markweek, and the rest (the days around the whole weeks, the week a
pupil joined or left, one day of the week or one session) from the marks. The reference here
is the same query with no whole weeks (``_whole_weeks`` -> None), which reads only the marks,
and which the figures' own tests check against ``registers.selectors``. Ranges cover the
edges: a range shorter than a week, exactly Monday to Sunday, starting on a Sunday, a
Wednesday to a Tuesday, the year to date; with pupils joining and leaving mid-week, rows of
changes not yet merged, and after the nightly merge.
"""

import random
from datetime import date

import pytest

from dashboards import figures as dashboard
from escalation.services import active_bands
from registers.models import Mark, MarkWeek
from registers.services import mark_weeks_compact
from tests.dashboards.conftest import AS_OF, DAYS, LAST_YEAR_DAYS

RANGES = {
    "year to date (1 August to a Monday)": (date(2025, 8, 1), AS_OF),
    "Tuesday 2 to Monday 29 September": (DAYS[0], AS_OF),
    "one week, Monday to Sunday": (date(2025, 9, 8), date(2025, 9, 14)),
    "Wednesday to Tuesday (no whole week)": (date(2025, 9, 10), date(2025, 9, 16)),
    "Sunday to Saturday, two weeks": (date(2025, 9, 7), date(2025, 9, 20)),
    "a single day": (date(2025, 9, 17), date(2025, 9, 17)),
    "last year's whole year": (date(2024, 8, 1), date(2025, 7, 31)),
}
FILTERS = {
    "none": {},
    "a year group": {"dims": (("year_group", 3),)},
    "pupil premium girls": {"dims": (("pp", True), ("gender", "F"))},
    "one code": {"code": "I"},
    "Wednesdays (marks only)": {"dow": 3},
    "afternoons (marks only)": {"session": "PM"},
}


def from_marks_only(monkeypatch, compute):
    with monkeypatch.context() as m:
        m.setattr(dashboard, "_whole_weeks", lambda c: None)
        return compute()


def everything(c):
    bands = active_bands()
    roll = dashboard.rollup(c, bands=bands)
    return {"total": roll.total, "by": roll.by, "patterns": dashboard.patterns(c).by,
            "codes": dashboard.patterns(c).code_counts,
            "pupils": sorted(dashboard.pupil_figures(c, bands=bands)),
            "code_pupils": dashboard.code_pupils(c)}


@pytest.fixture
def school(generated):
    pupils = generated(120)
    # Rows of changes not yet merged: marks amended after they were counted, some moved.
    rng = random.Random(11)
    marks = list(Mark.objects.order_by("id"))
    changed = rng.sample(marks, 400)
    for m in changed:
        m.code = rng.choice(["I", "N", "/", "L", "U"])
        m.minutes_late = rng.randrange(1, 30) if m.code in "LU" else None
    Mark.objects.bulk_update(changed, ["code", "minutes_late"])
    Mark.objects.filter(pk__in=[m.pk for m in changed[:30]]).delete()
    return pupils


@pytest.mark.parametrize("label", list(RANGES))
def test_every_range_equals_the_marks(school, monkeypatch, label):
    c = dashboard.Criteria(*RANGES[label], cohort="all")
    assert everything(c) == from_marks_only(monkeypatch, lambda: everything(c))


@pytest.mark.parametrize("label", list(FILTERS))
def test_every_filter_equals_the_marks(school, monkeypatch, label):
    c = dashboard.Criteria(DAYS[0], AS_OF).with_(**FILTERS[label])
    got = everything(c)
    assert got == from_marks_only(monkeypatch, lambda: everything(c))
    assert got["total"]["all"].stats.possible > 0  # the filter still selects marks


def test_joiners_and_leavers_mid_week_are_counted_from_their_first_and_to_their_last_day(
        school, monkeypatch):
    from registers.models import Pupil

    c = dashboard.Criteria(DAYS[0], AS_OF, cohort="all")
    mid_week = Pupil.objects.filter(admission_date__in=DAYS[3:15]).exclude(
        admission_date__week_day=2).exists()  # joined on a day other than Monday
    assert mid_week and Pupil.objects.filter(leaving_date__in=DAYS[2:15]).exists()
    assert everything(c) == from_marks_only(monkeypatch, lambda: everything(c))


def test_after_the_nightly_merge(school, monkeypatch):
    c = dashboard.Criteria(date(2025, 8, 1), AS_OF)
    before = MarkWeek.objects.count()
    assert mark_weeks_compact() > 0
    assert MarkWeek.objects.count() < before
    assert everything(c) == from_marks_only(monkeypatch, lambda: everything(c))
    last = dashboard.last_year_whole(c)
    assert dashboard.patterns(last, kinds=("week",)).by == from_marks_only(
        monkeypatch, lambda: dashboard.patterns(last, kinds=("week",)).by)
    assert len(LAST_YEAR_DAYS) and dashboard.patterns(last, kinds=("week",)).by["week"]["all"]


def test_whole_weeks_are_read_from_the_counts(school):
    """Not the marks: a count changed behind the marks' back shows in the figures (the reason
    only the triggers write the counts)."""
    c = dashboard.Criteria(DAYS[0], AS_OF, cohort="all")
    assert dashboard._whole_weeks(c) == (date(2025, 9, 8), date(2025, 9, 22))
    before = dashboard.rollup(c).total["all"].stats.possible
    row = MarkWeek.objects.filter(week=date(2025, 9, 15), code="/").first()
    MarkWeek.objects.create(pupil_id=row.pupil_id, week=row.week, code="/", n=5, n_am=5, n_d1=5)
    assert dashboard.rollup(c).total["all"].stats.possible == before + 5
    assert dashboard._whole_weeks(c.with_(session="AM")) is None
    assert dashboard._whole_weeks(c.with_(date_from=date(2025, 9, 10), date_to=date(2025, 9, 16))) is None
