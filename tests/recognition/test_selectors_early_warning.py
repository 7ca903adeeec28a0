"""Early warning (issue 19 item 4): "pupils at risk of persistent absence: not yet PA, but
projected below 90% by the end of the year at their current rate, or with a sharp fall over
the last four weeks, or PA last year (the 'previously PA' list), with the reason shown per
pupil". St Luke's: "The school will use several methods to help support pupils at risk of PA"."""

from datetime import date

import pytest

from registers.models import Mark, SchoolDay
from registers.selectors import Stats
from tests.recognition.conftest import mark, school_days

TODAY = date(2026, 1, 30)  # a Friday: the last four school weeks start on Monday 5 January


def test_projection_edges():
    from recognition.selectors import projected_absence_pct

    so_far = Stats(possible=100, present=95, authorised=5)
    # 15% absence in the last four weeks, 100 sessions left: (5 + 15) / 200 = exactly 10%: PA.
    assert projected_absence_pct(so_far, Stats(possible=40, present=34, authorised=6), 100) == 10.0
    assert projected_absence_pct(so_far, Stats(possible=40, present=35, authorised=5), 100) == 8.75
    # No recent figures: the rate so far carries on.
    assert projected_absence_pct(so_far, Stats(), 100) == 5.0
    assert projected_absence_pct(Stats(), Stats(), 100) is None


@pytest.fixture
def crafted(calendar, make_pupil):
    days = [d for d in school_days(date(2025, 9, 1), 300) if d <= TODAY]
    recent = [d for d in days if d >= date(2026, 1, 5)]
    assert len(recent) == 20
    last_year = [date(2024, 10, d) for d in range(1, 32) if date(2024, 10, d).weekday() < 5][:10]

    def pupil(name, *, recent_absent=0, year_absent=0, last_year_absent=None):
        p = make_pupil(legal_forename=name, legal_surname=name)
        mark(p, days, "/")
        for d in recent[:recent_absent]:
            Mark.objects.filter(pupil=p, date=d, session="AM").update(code="I")
        for d in days[:year_absent]:
            Mark.objects.filter(pupil=p, date=d).update(code="O")
        if last_year_absent is not None:
            mark(p, last_year, "/")
            for d in last_year[:last_year_absent]:
                Mark.objects.filter(pupil=p, date=d).update(code="O")
        return p

    return {
        "steady": pupil("Steady"),
        # 8 of the last 40 sessions missed (80%): 4.3% absence so far, but a 20-point fall,
        # and 20% absence for the rest of the year takes the year past 10%.
        "faller": pupil("Faller", recent_absent=8),
        "slight": pupil("Slight", recent_absent=2),        # 95% lately: neither
        "was_pa": pupil("Waspa", last_year_absent=2),      # 80% last year, 100% now
        "is_pa": pupil("Ispa", year_absent=12),            # already PA this year: not "at risk"
    }


def test_early_warning_on_crafted_pupils(crafted):
    from recognition.selectors import early_warning, projected_absence_pct

    rows = {r.pupil.legal_forename: r for r in early_warning(today=TODAY)}
    assert set(rows) == {"Faller", "Waspa"}
    faller = rows["Faller"]
    left = 2 * SchoolDay.objects.filter(date__gt=TODAY, date__lte=date(2026, 7, 31), closed=False).count()
    expected = 100 - projected_absence_pct(faller.stats, Stats(possible=40, present=32, authorised=8), left)
    assert faller.projected_pct == pytest.approx(expected) and faller.projected_pct < 90
    assert faller.recent_pct == 80.0
    assert any(r.startswith("Projected") for r in faller.reasons)
    assert any(r.startswith("Sharp fall: 80.0% in the last 4 weeks, 100.0% before") for r in faller.reasons)
    assert rows["Waspa"].reasons == ["Previously PA: 80.0% last school year"]


def test_early_warning_page_and_dashboard_link(crafted, people, settings):
    from tests.conftest import client_for

    page = client_for(people["head"]).get("/recognition/early-warning/").content.decode()
    assert "Previously PA" in page or "No pupils at risk" in page
    assert client_for(people["governor"]).get("/recognition/early-warning/").status_code == 403
