"""Issue 17 item 2: a class's week grid (pupils × AM/PM, codes coloured by category, totals
per pupil and per session, previous/next week) and the class year view; the query count is
the same for 10 and 30 pupils."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registers.models import Mark, RegistrationGroup
from tests.conftest import client_for

MONDAY = date(2026, 1, 5)


@pytest.fixture
def grid_class(calendar, make_pupil, people):
    def make(n):
        pupils = [make_pupil(group="3B", legal_forename=f"F{i:02d}", legal_surname=f"S{i:02d}")
                  for i in range(n)]
        Mark.objects.bulk_create([Mark(pupil=p, date=MONDAY + timedelta(days=d), session=s,
                                       code=("N" if i % 3 == 0 and s == "PM" else
                                             "I" if i % 3 == 1 and d == 0 else
                                             "/" if s == "AM" else "\\"))
                                  for i, p in enumerate(pupils) for d in range(3)
                                  for s in ("AM", "PM")])
        RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
        return pupils
    return make


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_week_grid_marks_totals_and_colours(grid_class, people):
    pupils = grid_class(3)
    group = pupils[0].registration_group
    response = client_for(people["teacher"]).get(f"/register/{group.pk}/week/{MONDAY + timedelta(days=2)}/")
    html = response.content.decode()
    assert response.context["monday"] == MONDAY
    rows = {r["pupil"].pk: r for r in response.context["rows"]}
    # Pupil 0: present every AM, N every PM for Mon–Wed: 3 of 6, 3 unauthorised.
    assert rows[pupils[0].pk]["total"] == {"attended": 3, "possible": 6, "authorised": 0,
                                          "unauthorised": 3, "pct": 50.0}
    # Pupil 1: ill on Monday (both sessions): 4 of 6, 2 authorised.
    assert rows[pupils[1].pk]["total"]["authorised"] == 2
    assert "code-unauthorised" in html and "code-authorised" in html and "code-present" in html
    # Per session: Monday AM 2 present of 3 marked (pupil 1 ill).
    monday_am = response.context["columns"][0]
    assert (monday_am["attended"], monday_am["marked"]) == (2, 3)
    assert f"/register/{group.pk}/week/{MONDAY - timedelta(days=7)}/" in html
    assert f"/register/{group.pk}/week/{MONDAY + timedelta(days=7)}/" in html
    assert "data-print" in html


def test_week_grid_query_count_same_for_10_and_30_pupils(grid_class, people):
    pupils = grid_class(10)
    client = client_for(people["office"])
    url = f"/register/{pupils[0].registration_group.pk}/week/{MONDAY}/"
    client.get(url)  # the first page of a session fills the navigation's school list
    ten, _ = _queries(client, url)
    grid_class(20)
    thirty, response = _queries(client, url)
    assert len(response.context["rows"]) == 30
    assert ten == thirty, (ten, thirty)


def test_teacher_cannot_open_another_class_grid(grid_class, people, make_pupil):
    grid_class(1)
    other = make_pupil(group="4C", year_group=4)
    c = client_for(people["teacher"])
    assert c.get(f"/register/{other.registration_group.pk}/week/{MONDAY}/").status_code == 404
    assert c.get(f"/register/{other.registration_group.pk}/year/").status_code == 404


def test_class_year_colours_each_day(grid_class, people, monkeypatch):
    pupils = grid_class(3)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: MONDAY)
    response = client_for(people["teacher"]).get(f"/register/{pupils[0].registration_group.pk}/year/")
    cells = {c["day"].date: c for _w, cs in response.context["weeks"] for c in cs if c}
    # Monday: 6 possible sessions, 3 attended (pupil 0 AM only, pupil 1 ill all day, pupil 2
    # both): 50%, at or below the persistent-absence line.
    assert cells[MONDAY]["pct"] == 50.0 and cells[MONDAY]["band"] == "year-low"
    assert cells[MONDAY + timedelta(days=1)]["band"] in ("year-below", "year-good", "year-low")
    assert cells[date(2025, 9, 1)]["band"] == "code-closed"  # the INSET day
    assert cells[MONDAY + timedelta(days=4)]["band"] == "year-none"  # no marks yet
