"""Dashboard figures equal the statistics selectors for the same pupils and range.

Both ways on generated data: the dashboard's SQL rollups (GROUPING SETS) against
``registers.selectors`` run on the matching queryset of pupils, for the compulsory-school-age
cohort and for all pupils, with joiners and leavers in the range.
"""

from datetime import date

import pytest
from django.db.models import Count, Q
from django.db.models.functions import ExtractIsoWeekDay

from dashboards import figures as dashboard
from escalation.services import active_bands, band_for
from registers import selectors
from registers.models import Mark, Pupil, RegistrationGroup
from tests.dashboards.conftest import AS_OF, DAYS, LAST_YEAR_DAYS

C = dashboard.Criteria(DAYS[0], AS_OF)


def cohort_pupils(cohort: str, c=C):
    qs = selectors.pupils_on_roll(c.date_from, c.date_to)
    return selectors.national_cohort(qs, c.date_to) if cohort == "csa" else qs


def expected(pupils, c=C) -> dashboard.Figures:
    """What the dashboard should show for ``pupils``, from the selectors."""
    per = selectors.stats_by_pupil(pupils=pupils, date_from=c.date_from, date_to=c.date_to)
    total = selectors.stats_total(pupils=pupils, date_from=c.date_from, date_to=c.date_to)
    counted = [s for s in per.values() if s.possible]
    broken = _broken_weeks(pupils, c)
    return dashboard.Figures(stats=total, pupils=pupils.count(), counted=len(counted),
                             pa=sum(s.persistent for s in counted),
                             sa=sum(s.severe for s in counted),
                             broken_weeks=sum(broken.values()),
                             pupils_broken=sum(1 for n in broken.values() if n))


def _broken_weeks(pupils, c) -> dict:
    """Independent count: distinct Monday-weeks per pupil with an absence mark (Python)."""
    out = {}
    for pupil_id, d in Mark.objects.filter(
            pupil__in=pupils, date__range=(c.date_from, c.date_to),
            code__in=selectors.codes.ABSENCE_CODES).values_list("pupil_id", "date"):
        out.setdefault(pupil_id, set()).add(d.isocalendar()[:2])
    return {k: len(v) for k, v in out.items()}


def same(a: dashboard.Figures, b: dashboard.Figures):
    assert a.stats == b.stats
    assert (a.pupils, a.counted, a.pa, a.sa, a.broken_weeks, a.pupils_broken) == \
        (b.pupils, b.counted, b.pa, b.sa, b.broken_weeks, b.pupils_broken)


@pytest.fixture
def school(generated):
    pupils = generated(160)
    return pupils


@pytest.mark.parametrize("cohort", ["csa", "all"])
def test_totals_equal_selectors(school, cohort):
    roll = dashboard.rollup(C)
    qs = cohort_pupils(cohort)
    same(roll.total[cohort], expected(qs))
    # The data covers what the rules are about: non-CSA pupils, joiners and leavers.
    assert cohort_pupils("csa").count() < cohort_pupils("all").count()
    assert qs.filter(leaving_date__range=(C.date_from, C.date_to)).exists()
    assert qs.filter(admission_date__range=(C.date_from, C.date_to)).exists()


@pytest.mark.parametrize("cohort", ["csa", "all"])
def test_breakdowns_equal_selectors(school, cohort):
    roll = dashboard.rollup(C)
    qs = cohort_pupils(cohort)
    year_groups = set(qs.values_list("year_group", flat=True))
    assert len(year_groups) > 1 and RegistrationGroup.objects.count() > 1  # real breakdowns
    for yg in year_groups:
        same(roll.get("year_group", yg, cohort), expected(qs.filter(year_group=yg)))
    for g in RegistrationGroup.objects.all():
        same(roll.get("group", g.pk, cohort), expected(qs.filter(registration_group=g)))
    for dim, value, _ in dashboard.PUPIL_GROUPS:
        field = dashboard.DIMENSIONS[dim]
        same(roll.get(dim, value, cohort), expected(qs.filter(**{field: value})))
        same(roll.rest(dim, value, cohort), expected(qs.exclude(**{field: value})))


def test_bands_equal_band_for(school):
    bands = active_bands()
    roll = dashboard.rollup(C, bands=bands)
    per = selectors.stats_by_pupil(pupils=cohort_pupils("csa"), date_from=C.date_from,
                                   date_to=C.date_to)
    want: dict = {}
    for s in per.values():
        b = band_for(s.attendance_pct, bands)
        if s.possible:
            want[b.pk] = want.get(b.pk, 0) + 1
    got = {b.pk: roll.get("band", b.pk).pupils for b in bands}
    assert got == {b.pk: want.get(b.pk, 0) for b in bands}
    assert sum(got.values()) > 0


def test_patterns_equal_orm(school):
    p = dashboard.patterns(C)
    for cohort in ("csa", "all"):
        qs = cohort_pupils(cohort)
        marks = Mark.objects.filter(pupil__in=qs, date__range=(C.date_from, C.date_to))
        for dow in range(1, 6):
            want = marks.annotate(d=ExtractIsoWeekDay("date")).filter(d=dow) \
                .aggregate(**selectors.STAT_AGGREGATES)
            assert p.get("dow", dow, cohort) == selectors.Stats(**want)
        for s in ("AM", "PM"):
            want = marks.filter(session=s).aggregate(**selectors.STAT_AGGREGATES)
            assert p.get("session", s, cohort) == selectors.Stats(**want)
        assert p.code_counts[cohort] == selectors.code_counts(
            pupils=qs, date_from=C.date_from, date_to=C.date_to)
        weeks = sum(p.by["week"][cohort].values(), selectors.Stats())
        assert weeks == selectors.stats_total(pupils=qs, date_from=C.date_from,
                                              date_to=C.date_to)


def test_last_year_line_uses_last_years_pupils_and_marks(school):
    last = dashboard.last_year_whole(C)
    assert (last.date_from, last.date_to) == (date(2024, 8, 1), date(2025, 7, 31))
    weeks = dashboard.patterns(last, kinds=("week",)).by["week"]["all"]
    total = sum(weeks.values(), selectors.Stats())
    pupils = selectors.pupils_on_roll(last.date_from, last.date_to)
    assert total == selectors.stats_total(pupils=pupils, date_from=last.date_from,
                                          date_to=last.date_to)
    assert total.possible > 0 and min(weeks) >= LAST_YEAR_DAYS[0].replace(day=2)


@pytest.mark.parametrize("measure", ["pa", "sa", "broken", "unauthorised", "full"])
def test_drill_down_lists_the_pupils_counted(school, measure):
    rows = dashboard.pupil_rows(C.with_(measure=measure))
    per = selectors.stats_by_pupil(pupils=cohort_pupils("csa"), date_from=C.date_from,
                                   date_to=C.date_to)
    broken = _broken_weeks(cohort_pupils("csa"), C)
    test = {"pa": lambda pk, s: s.persistent, "sa": lambda pk, s: s.severe,
            "broken": lambda pk, s: broken.get(pk, 0) > 0,
            "unauthorised": lambda pk, s: s.unauthorised > 0,
            "full": lambda pk, s: s.possible > 0 and s.attended == s.possible}[measure]
    assert {r.pupil.pk for r in rows} == {pk for pk, s in per.items() if test(pk, s)}
    for r in rows:
        assert r.stats == per[r.pupil.pk]
    roll = dashboard.rollup(C)
    if measure in ("pa", "sa"):
        assert len(rows) == getattr(roll.total["csa"], measure)


def test_drill_down_by_group_code_and_day(school):
    yg = 3
    rows = dashboard.pupil_rows(C.with_(dims=(("year_group", yg),), measure="pa"))
    assert len(rows) == dashboard.rollup(C).get("year_group", yg).pa
    # Pupils with a code: exactly those with at least one such mark in the range.
    rows = dashboard.pupil_rows(C.with_(code="G", measure="marked", cohort="all"))
    want = set(Mark.objects.filter(code="G", date__range=(C.date_from, C.date_to))
               .values_list("pupil_id", flat=True))
    assert {r.pupil.pk for r in rows} == want
    # Absent on a Monday.
    rows = dashboard.pupil_rows(C.with_(dow=1, measure="absent", cohort="all"))
    want = set(Mark.objects.annotate(d=ExtractIsoWeekDay("date"))
               .filter(d=1, code__in=selectors.codes.ABSENCE_CODES,
                       date__range=(C.date_from, C.date_to)).values_list("pupil_id", flat=True))
    assert {r.pupil.pk for r in rows} == want


def test_today_counts(school):
    day = DAYS[5]
    total, rows = dashboard.today(day)
    on_roll = Pupil.objects.filter(admission_date__lte=day).exclude(leaving_date__lt=day)
    assert total.on_roll == on_roll.count() == sum(r.on_roll for r in rows)
    for s in ("AM", "PM"):
        marks = Mark.objects.filter(date=day, session=s, pupil__in=on_roll)
        agg = marks.aggregate(n=Count("id"), present=Count("id", filter=Q(
            code__in=selectors.codes.ATTENDED_CODES)), no_reason=Count("id", filter=Q(code="N")))
        assert (total.marked[s], total.present[s], total.no_reason[s]) == \
            (agg["n"], agg["present"], agg["no_reason"])
    assert {p.pk for p in dashboard.today_pupils(day, "no_reason", "AM")} == set(
        Mark.objects.filter(date=day, session="AM", code="N").values_list("pupil_id", flat=True))


def test_thresholds_compare_unrounded(calendar, make_pupil):
    """Exactly 10% absence is PA; exactly 90.0% attendance is in the band that includes 90."""
    bands = active_bands()
    a = make_pupil(legal_surname="Ten", date_of_birth=date(2017, 3, 1))
    b = make_pupil(legal_surname="Under", date_of_birth=date(2017, 3, 1))
    days = DAYS[:10]
    marks = []
    for i, d in enumerate(days):
        for s in ("AM", "PM"):
            k = i * 2 + (s == "PM")
            marks.append(Mark(pupil=a, date=d, session=s, code="I" if k < 2 else "/"))
            marks.append(Mark(pupil=b, date=d, session=s, code="I" if k < 2 and s == "AM"
                              else "/"))
    Mark.objects.bulk_create(marks)
    c = dashboard.Criteria(days[0], days[-1])
    roll = dashboard.rollup(c, bands=bands)
    assert roll.total["csa"].pa == 1  # a: 2 of 20 = exactly 10.0% absence; b: 1 of 20 = 5%
    rows = dashboard.pupil_rows(c.with_(measure="pa"), bands=bands)
    assert [r.pupil.pk for r in rows] == [a.pk]
    assert rows[0].stats.attendance_pct == 90.0
    assert rows[0].band_id == band_for(90.0, bands).pk  # Beecroft: Red is <= 90 (inclusive)
