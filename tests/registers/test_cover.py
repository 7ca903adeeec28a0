"""Cover (issue 13 item 4): "the office can assign a member of staff to take a class's
registers for a day; that person sees those registers under 'My register' for that day only".

Tuesday 6 January 2026 is "today" (tests/registers/conftest.py clock)."""

from datetime import date

import pytest
from django.db import connection

from registers import cover
from registers.models import Mark, RegisterCover, RegistrationGroup
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for

MONDAY, TODAY, WEDNESDAY = date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)


@pytest.fixture
def classes(calendar, make_pupil, people, monkeypatch):
    """4A (Ms Own's class) and 3B (a_teacher's class); a_teacher covers 4A today."""
    own = person_grant(username="a_own", role=Role.TEACHER, school=calendar,
                       first_name="Olive", last_name="Own")
    ava = make_pupil(group="4A", year_group=4, admission=date(2025, 9, 1), legal_forename="Ava")
    bo = make_pupil(group="3B", year_group=3, admission=date(2025, 9, 1), legal_forename="Bo")
    g4, g3 = RegistrationGroup.objects.get(name="4A"), RegistrationGroup.objects.get(name="3B")
    g4.teachers.add(own)
    g3.teachers.add(people["teacher"])
    monkeypatch.setattr("registers.views.current_session", lambda school, now=None: (TODAY, "AM"))
    return {"own": own, "ava": ava, "bo": bo, "g4": g4, "g3": g3}


def assign(classes, people, day=TODAY):
    return cover.cover_assign(school=connection.tenant, group=classes["g4"], day=day,
                              user=people["teacher"], by=people["office"])


def test_office_assigns_cover_and_the_teacher_sees_it_under_my_register(classes, people, clock,
                                                                       monkeypatch):
    clock(TODAY, 8, 45)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
    office = client_for(people["office"])
    r = office.post("/office/cover/", {"group": classes["g4"].pk, "day": TODAY.isoformat(),
                                       "user": people["teacher"].pk})
    assert r.status_code == 302
    assert b"Class A" in office.get("/office/cover/").content
    page = client_for(people["teacher"]).get("/register/")
    assert [g.name for g in page.context["groups"]] == ["3B", "4A"]
    assert b"Cover, today only" in page.content


def test_cover_teacher_saves_the_register_on_the_day(classes, people, clock):
    assign(classes, people)
    clock(TODAY, 8, 50)
    c = client_for(people["teacher"])
    url = f"/register/{classes['g4'].pk}/{TODAY}/AM/"
    assert c.get(url).status_code == 200
    r = c.post(url, {"all_present": "1"})
    assert r.status_code == 302
    mark = Mark.objects.get(pupil=classes["ava"], date=TODAY, session="AM")
    assert mark.code == "/" and mark.recorded_by_id == people["teacher"].pk


@pytest.mark.parametrize("day", [MONDAY, WEDNESDAY])
def test_cover_is_refused_on_another_day(classes, people, clock, day):
    """Cover is for the day assigned: the class's register on any other day is not theirs."""
    assign(classes, people)
    clock(day, 8, 50)
    c = client_for(people["teacher"])
    url = f"/register/{classes['g4'].pk}/{day}/AM/"
    assert c.get(url).status_code == 404
    assert c.post(url, {"all_present": "1", f"code-{classes['ava'].pk}": "/"}).status_code == 404
    assert not Mark.objects.filter(pupil=classes["ava"]).exists()


def test_without_cover_the_class_is_not_theirs(classes, people, clock):
    clock(TODAY, 8, 50)
    c = client_for(people["teacher"])
    assert c.get(f"/register/{classes['g4'].pk}/{TODAY}/AM/").status_code == 404
    assert c.get("/register/").status_code == 302  # straight to their one class, 3B
    # Cover for another day does not show today.
    assign(classes, people, day=WEDNESDAY)
    assert c.get("/register/")["Location"] == f"/register/{classes['g3'].pk}/{TODAY}/AM/"


def test_cover_assign_refusals(classes, people):
    with pytest.raises(cover.CoverError, match="teacher role"):
        cover.cover_assign(school=connection.tenant, group=classes["g4"], day=TODAY,
                           user=people["governor"], by=people["office"])
    with pytest.raises(cover.CoverError, match="not a school day"):
        assign(classes, people, day=date(2026, 1, 10))  # a Saturday
    with pytest.raises(cover.CoverError, match="already teaches"):
        cover.cover_assign(school=connection.tenant, group=classes["g4"], day=TODAY,
                           user=classes["own"], by=people["office"])
    assign(classes, people)
    with pytest.raises(cover.CoverError, match="already covers"):
        assign(classes, people)
    assert RegisterCover.objects.count() == 1


def test_removed_cover_takes_the_register_away(classes, people, clock):
    c_ = assign(classes, people)
    clock(TODAY, 8, 50)
    client_for(people["office"]).post(f"/office/cover/{c_.pk}/remove/")
    assert client_for(people["teacher"]).get(
        f"/register/{classes['g4'].pk}/{TODAY}/AM/").status_code == 404
