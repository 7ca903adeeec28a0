"""Issue 17 item 5: date inputs are filled in ISO form (a date input cannot read
dd/mm/yyyy and would come up blank); the LA attendance return shows the period asked for and,
on each row, why the pupil is on it: irregular attendance with its figure over that period,
or the continuous unauthorised run with its dates (domain.md section 7: "pupils ... who fail
to attend regularly, or who have been absent for a continuous period of 10 school days with
absence recorded with unauthorised codes (G, N, O, U)")."""

import re
from datetime import date

from letters import returns, services
from tests.conftest import client_for

from .conftest import mark, school_days


def _date_values(html: str) -> list[str]:
    values = re.findall(r'<input[^>]*type="date"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', v).group(1) for v in values if 'value="' in v]


def test_date_inputs_are_iso(calendar, make_pupil, people):
    p = make_pupil()
    c = client_for(people["attendance_officer"])
    for url in ("/letters/returns/", f"/letters/pupil/{p.pk}/", f"/pupils/{p.pk}/"):
        html = c.get(url).content.decode()
        values = _date_values(html)
        assert values, url
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values), (url, values)


def test_return_rows_say_why_with_figure_or_run(calendar, make_pupil, people):
    ill = make_pupil(legal_surname="Ill")
    away = make_pupil(legal_surname="Away")
    days = school_days(date(2025, 9, 2), 40)
    mark(ill, days[:8], "I")       # 8 of 40 days: 20% absence, all authorised
    mark(ill, days[8:], "/")
    mark(away, days[:25], "/")
    mark(away, days[25:37], "N")   # 12 school days unauthorised in a row
    mark(away, days[37:], "/")
    as_of = days[-1]
    ret = services.return_generate(kind="attendance", period_start=date(2025, 9, 1),
                                   period_end=as_of)
    rows = {e.legal_surname: e for e in ret.entries.all()}
    assert rows["Ill"].reason == (f"Fails to attend regularly (irregular attendance): absence "
                                  f"20.0% (16 of 80 sessions), 2025-09-01 to {as_of.isoformat()}")
    assert rows["Ill"].dates.startswith("2025-09-01 to ")  # the period asked for, not 1 August
    assert f"12 school days, {days[25].isoformat()} to {days[36].isoformat()}" in rows["Away"].reason
    html = client_for(people["attendance_officer"]).get(f"/letters/returns/{ret.pk}/").content.decode()
    assert "Period asked for: 1 September 2025 to" in html
    assert "irregular attendance" in html and "12 school days" in html


def test_irregular_attendance_measured_over_the_period_asked_for(calendar, make_pupil):
    p = make_pupil()
    days = school_days(date(2025, 9, 2), 40)
    mark(p, days[:10], "I")   # all the absence in September
    mark(p, days[10:], "/")
    rules = returns.Rules(regular_min_possible=20)
    assert returns.attendance_return(as_of=days[-1], rules=rules)  # year to date: 25%
    assert returns.attendance_return(as_of=days[-1], period_start=days[10], rules=rules) == []
