"""Issue 17 item 3: pupils sort and are found by the name the school uses (preferred where
set, legal name beside it); the navigation's search box finds a pupil by any name or UPN
among the pupils the person may see; the query count does not grow with the roll."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registers.models import Pupil, RegistrationGroup
from tests.conftest import client_for, make_upn


@pytest.fixture
def named(calendar, make_pupil, people):
    max_allen = make_pupil(group="3B", legal_forename="Maximilian", legal_surname="Zeller",
                           preferred_forename="Max", preferred_surname="Allen")
    bea = make_pupil(group="3B", legal_forename="Beatrice", legal_surname="Brown")
    other = make_pupil(group="4C", year_group=4, legal_forename="Cara", legal_surname="Allenby")
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    return {"max": max_allen, "bea": bea, "other": other}


def names(response):
    return [p.pk for p in response.context["pupils"]]


@pytest.mark.parametrize("q", ["Allen", "Max Allen", "max allen", "Maximilian Zeller", "Zeller Max"])
def test_found_by_any_name(named, people, q):
    response = client_for(people["office"]).get("/pupils/", {"q": q})
    assert named["max"].pk in names(response)
    assert named["bea"].pk not in names(response)


def test_found_by_upn_and_sorted_by_name_used(named, people):
    c = client_for(people["office"])
    assert names(c.get("/pupils/", {"q": named["bea"].upn})) == [named["bea"].pk]
    everyone = names(c.get("/pupils/"))
    # Allen (Max) before Allenby before Brown: the school's name, not the legal "Zeller".
    assert everyone == [named["max"].pk, named["other"].pk, named["bea"].pk]
    html = c.get("/pupils/", {"q": "Max"}).content.decode()
    assert "Allen, Max" in html and "legal name: Maximilian Zeller" in html


def test_teacher_finds_only_own_class(named, people):
    response = client_for(people["teacher"]).get("/pupils/", {"q": "Allen"})
    assert names(response) == [named["max"].pk]  # not Cara Allenby of 4C


def test_nav_search_box_on_staff_pages_only(named, people):
    assert 'id="nav-search"' in client_for(people["office"]).get("/pupils/").content.decode()
    assert 'id="nav-search"' in client_for(people["teacher"]).get("/pupils/").content.decode()
    parent = client_for(people["parent"]).get("/absences/", follow=True).content.decode()
    assert 'id="nav-search"' not in parent


def test_register_sorts_by_name_used(named, people):
    group = named["max"].registration_group
    response = client_for(people["teacher"]).get(f"/register/{group.pk}/2026-01-06/AM/")
    assert [r["pupil"].pk for r in response.context["rows"]] == [named["max"].pk, named["bea"].pk]


def _roll(n, start):
    group = RegistrationGroup.objects.get(name="3B")
    Pupil.objects.bulk_create([Pupil(
        upn=make_upn(year=40 + i // 1000, serial=i % 1000), legal_surname=f"Surname{i:04d}",
        legal_forename="Kid",
        date_of_birth=date(2017, 3, 1), gender="F", year_group=3, registration_group=group,
        admission_date=date(2020, 9, 1)) for i in range(start, start + n)])


def test_search_query_count_same_for_200_and_1000(named, people):
    c = client_for(people["office"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = c.get("/pupils/", {"q": "Kid Surname00"})
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.context["pupils"])

    c.get("/pupils/")  # the first page of a session fills the navigation's school list
    _roll(197, 0)
    small, found = count()
    assert found == 100  # Surname0000–Surname0099
    _roll(800, 197)
    large, found = count()
    assert found == 100 and small == large, (small, large)
