"""The drill-down's measures have one meaning in SQL and in Python: the dashboard's counts and
the QA report filter the per-pupil figures in SQL (``_MEASURE_SQL``), the lists behind the
numbers filter the cached per-pupil figures in Python (``_MEASURE_TEST``). For every measure and
both cohorts, the two choose the same pupils on the generated school."""

import pytest
from django.db import connection

from dashboards import figures as dashboard
from escalation.services import active_bands
from tests.dashboards.conftest import AS_OF, DAYS

C = dashboard.Criteria(DAYS[0], AS_OF)


@pytest.fixture
def school(generated):
    return generated(160)


def test_every_measure_has_both_forms():
    assert set(dashboard._MEASURE_TEST) == set(dashboard._MEASURE_SQL)


@pytest.mark.parametrize("cohort", ["csa", "all"])
@pytest.mark.parametrize("measure", sorted(dashboard._MEASURE_SQL))
def test_python_and_sql_choose_the_same_pupils(school, measure, cohort):
    c = C.with_(measure=measure, cohort=cohort)
    bands = active_bands()
    params: dict = {}
    where = " AND csa" if cohort == "csa" else ""
    sql = dashboard._per_pupil_sql(c, params, bands) + (
        f"\nSELECT id FROM pp WHERE {dashboard._MEASURE_SQL[measure]}{where}")
    with connection.cursor() as cur:
        cur.execute(sql, params)
        expected = {r[0] for r in cur.fetchall()}
    assert {r.pupil.pk for r in dashboard.pupil_rows(c, bands=bands)} == expected
    if measure in ("pa", "absent", "marked"):
        assert expected, "the generated school has pupils for this measure"
