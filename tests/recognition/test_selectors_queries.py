"""Query counts pinned: the recognition, improvers and early-warning lists take the same
number of queries for 200 pupils as for 1,000 (issue 19, "Done means")."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import make_upn
from tests.recognition.conftest import school_days

TODAY = date(2025, 12, 19)


def _populate(n: int, days):
    from registers.models import Mark, Pupil, RegistrationGroup

    groups = [RegistrationGroup.objects.get_or_create(name=f"Q{i}", defaults={"year_group": 3})[0]
              for i in range(max(1, n // 25))]
    pupils = Pupil.objects.bulk_create([
        Pupil(upn=make_upn(year=30 + i // 1000, serial=i % 1000), legal_surname=f"S{i}",
              legal_forename="Q", date_of_birth=date(2016, 5, 1),
              gender="F", year_group=3, registration_group=groups[i % len(groups)],
              admission_date=date(2020, 9, 1), sen_status="E" if i % 10 == 0 else "N")
        for i in range(n)])
    codes = ["/", "/", "/", "M", "/", "O", "/", "I"]
    Mark.objects.bulk_create([
        Mark(pupil=p, date=d, session=s, code=codes[(i + j) % len(codes)] if i % 3 else "/")
        for i, p in enumerate(pupils) for j, d in enumerate(days)
        for s in ("AM", "PM")], batch_size=5000)


def _counts(rule_kinds):
    from recognition import services
    from recognition.models import Rule
    from recognition.selectors import early_warning, improvers, periods, recognition_list

    settings = services.settings_get()
    settings.fair_alternative = "best_ever"
    settings.save()
    period = next(p for p in periods(TODAY) if p.kind == "term" and p.start == date(2025, 9, 1))
    out = {}
    for kind in rule_kinds:
        rule = Rule(name=kind, qualifies=kind, gift="certificate", years=2)
        rule.save()
        with CaptureQueriesContext(connection) as ctx:
            rows = recognition_list(rule=rule, period=period, today=TODAY, settings=settings)
            [r.pupil.registration_group.name for r in rows]
        out[kind] = len(ctx)
    with CaptureQueriesContext(connection) as ctx:
        early_warning(today=TODAY)
    out["early_warning"] = len(ctx)
    with CaptureQueriesContext(connection) as ctx:
        improvers(today=TODAY, settings=settings)
    out["improvers"] = len(ctx)
    return out


@pytest.mark.parametrize("n", [200, 1000])
def test_list_queries_do_not_grow_with_pupils(calendar, n, request):
    days = [d for d in school_days(date(2025, 11, 3), 12)] + school_days(date(2025, 12, 8), 10)
    _populate(n, days)
    kinds = ["term_100", "most_improved", "consecutive_years"]
    counts = _counts(kinds)
    # Pinned: the same whatever the number of pupils.
    assert counts == {"term_100": 6, "most_improved": 6, "consecutive_years": 5,
                      "early_warning": 6, "improvers": 7}, counts
