"""Dashboards in a real browser (issue 6): the head drills from "PA: N pupils" to the list and
into a pupil; a governor gets figures only (no lists, small numbers suppressed); a trust
director compares two schools and opens one school's dashboard.

Uses the ``live`` browser school (conftest.py) and adds, committed and removed at the end: a
class of 12 pupils with marks for every school day so far (4 of them persistently absent), a
head, a governor, a trust director, a second school with its own pupils, and a trust holding
both schools.
"""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import PupilFactory, RegistrationGroupFactory

from .conftest import PASSWORD, SCHEMA, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

HEAD, GOVERNOR, DIRECTOR = "browser_dash_head", "browser_dash_governor", "browser_dash_director"
SECOND = ("browser_dash2", "browser-dash2.localhost", "Second Browser Academy")
TRUST = "browser-dash-trust"
GROUP = "5K"


def _marks_for(pupils, absent_every: dict):
    """Marks for every open school day up to today (AM and PM)."""
    from registers.models import Mark, SchoolDay

    days = list(SchoolDay.objects.filter(closed=False, date__lte=date.today())
                .values_list("date", flat=True))
    marks = []
    for i, p in enumerate(pupils):
        every = absent_every.get(i)
        for n, d in enumerate(days):
            absent = every is not None and n % every == 0
            for s in ("AM", "PM"):
                code = ("I" if n % 2 else "O") if absent else ("/" if s == "AM" else "\\")
                marks.append(Mark(pupil=p, date=d, session=s, code=code))
    Mark.objects.bulk_create(marks)


def _class_of(n: int, group_name: str, serial: int):
    from tests.conftest import make_upn

    group = RegistrationGroupFactory(name=group_name, year_group=5)
    pupils = [PupilFactory(
        upn=make_upn(estab=4000, serial=serial + i), legal_forename=f"Dash{i:02d}",
        legal_surname=f"Pupil{i:02d}", date_of_birth=date(2015, 3, 1), gender="FM"[i % 2],
        year_group=5, registration_group=group, admission_date=date(2020, 9, 1),
        lac=i == 0, child_protection=i == 1, pupil_premium=i % 3 == 0) for i in range(n)]
    return group, pupils


@pytest.fixture(scope="module")
def dash(live, django_db_blocker):
    from django.db import connection
    from django_tenants.utils import schema_context

    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry, Mark, Pupil, RegistrationGroup
    from tenants.models import School, Trust, User
    from tenants.roles import Role
    from tenants.services import person_grant, school_create

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        trust, _ = Trust.objects.get_or_create(slug=TRUST, defaults={"name": "Browser Trust"})
        school = School.objects.get(schema_name=SCHEMA)
        School.objects.filter(pk=school.pk).update(trust=trust)
        second = School.objects.filter(schema_name=SECOND[0]).first() or school_create(
            schema=SECOND[0], name=SECOND[2], domain=SECOND[1], preset="beecroft")
        School.objects.filter(pk=second.pk).update(trust=trust)
        connection.set_schema_to_public()
        person_grant(username=HEAD, role=Role.HEAD, school=school, password=PASSWORD,
                     first_name="Hana", last_name="Head")
        person_grant(username=GOVERNOR, role=Role.GOVERNOR, school=school, password=PASSWORD,
                     first_name="Gil", last_name="Governor")
        person_grant(username=DIRECTOR, role=Role.TRUST_DIRECTOR, trust=trust, password=PASSWORD,
                     first_name="Dee", last_name="Director")
        with schema_context(SCHEMA):
            _, pupils = _class_of(12, GROUP, 500)
            _marks_for(pupils, {0: 2, 1: 3, 2: 4, 3: 5, 4: 40})
        with schema_context(SECOND[0]):
            today = date.today()
            monday = today - timedelta(days=today.weekday())
            calendar_replace(entries=[CalendarEntry(
                kind="term", start_date=monday - timedelta(weeks=3),
                end_date=monday + timedelta(weeks=3, days=4), label="Browser term")])
            _, others = _class_of(8, "6S", 600)
            _marks_for(others, {0: 3})
    yield {"pupils": {p.legal_surname: p.pk for p in pupils}}
    with django_db_blocker.unblock():
        from axes.models import AccessAttempt, AccessLog

        names = [HEAD, GOVERNOR, DIRECTOR]
        with schema_context(SCHEMA):
            group = RegistrationGroup.objects.get(name=GROUP)
            Mark.objects.filter(pupil__registration_group=group).delete()
            Pupil.objects.filter(registration_group=group).delete()
            group.delete()
            AccessLog.objects.filter(username__in=names).delete()
            AccessAttempt.objects.filter(username__in=names).delete()
            User.objects.filter(username__in=names).delete()
        connection.set_schema_to_public()
        School.objects.filter(pk=school.pk).update(trust=None)
        for s in School.objects.filter(schema_name=SECOND[0]):
            s.delete()
        Trust.objects.filter(slug=TRUST).delete()


def _expected_pa() -> int:
    from django_tenants.utils import schema_context

    from registers import selectors
    from registers.school_year import school_year_start

    with schema_context(SCHEMA):
        today = date.today()
        start = school_year_start(today)
        csa = selectors.national_cohort(selectors.pupils_on_roll(start, today), today)
        per = selectors.stats_by_pupil(pupils=csa, date_from=start, date_to=today)
        return sum(s.persistent for s in per.values())


def test_head_drills_from_pa_to_the_list_and_into_a_pupil(page, live, dash):
    login(page, live, HEAD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Attendance dashboard")
    n = _expected_pa()
    assert n >= 4
    pa = page.get_by_role("link", name=f"PA: {n} pupils", exact=True)
    expect(pa).to_be_visible()
    expect(page.locator("svg.line-chart")).to_be_visible()
    shot(page, "dashboard-head")
    pa.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{n} pupils")
    expect(page.get_by_text("Persistently absent (absence ≥ 10%)")).to_be_visible()
    rows = page.locator("table[data-table=pupils] tbody tr")
    expect(rows).to_have_count(n)
    shot(page, "dashboard-head-pa-list")
    # Worst attendance first; the pupil absent every other day is on the list.
    pupil = rows.get_by_role("link", name="Pupil00, Dash00")
    expect(pupil).to_be_visible()
    pupil.click()
    expect(page).to_have_url(re.compile(rf"/pupils/{dash['pupils']['Pupil00']}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dash00")
    shot(page, "dashboard-head-pupil")
    # The half-termly QA report (LAP annex 4a) as a page that prints.
    page.goto("/dashboard/qa/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Attendance quality assurance")
    expect(page.get_by_role("link", name="PDF for governors")).to_be_visible()
    shot(page, "dashboard-qa-report")


def test_governor_sees_figures_only_and_no_safeguarding(page, live, dash):
    login(page, live, GOVERNOR)
    expect(page.get_by_role("heading", level=1)).to_have_text("Attendance dashboard")
    expect(page.locator("[data-figure=pa-csa]")).to_contain_text("PA:")
    expect(page.locator("[data-disclosure]")).to_contain_text("fewer than 5")
    # No figure links to the pupils behind it, and no table of today's registers.
    expect(page.locator("a[href*='/dashboard/pupils/']")).to_have_count(0)
    expect(page.locator("table[data-table=today]")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Pupil00")
    groups = page.locator("table[data-table=pupil_groups]")
    expect(groups).to_be_visible()
    expect(groups).not_to_contain_text("Looked after")
    shot(page, "dashboard-governor")
    # No list of pupils (not even initials), no pupil record, no safeguarding filter.
    for url in ("/dashboard/pupils/?cohort=all", "/dashboard/pupils/?lac=1&cohort=all",
                f"/pupils/{dash['pupils']['Pupil00']}/", "/dashboard/?lac=1",
                "/dashboard/export/pupil_groups.csv?lac=1"):
        assert page.goto(url).status == 403, url


def test_trust_director_compares_two_schools(page, live, dash):
    port = live.url.rsplit(":", 1)[1]
    public = f"http://localhost:{port}"
    page.goto(f"{public}/accounts/login/")
    page.get_by_label("Username").fill(DIRECTOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{public}/trust/{TRUST}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Browser Trust")
    page.get_by_label("Browser Test Primary").check()
    page.get_by_label(SECOND[2]).check()
    page.get_by_role("button", name="Show").click()
    table = page.locator("table[data-table=schools]")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Browser Test Primary")
    expect(table).to_contain_text(SECOND[2])
    expect(table.locator("tfoot")).to_contain_text("Trust total")
    shot(page, "dashboard-trust-compare")
    # Drill into one school's dashboard (read-only; sign in on the school's own site).
    table.get_by_role("link", name="Browser Test Primary").click()
    expect(page).to_have_url(re.compile(r"browser\.localhost:\d+/accounts/login/"))
    page.get_by_label("Username").fill(DIRECTOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attendance dashboard")
    expect(page.get_by_text("Read-only")).to_be_visible()
    expect(page.get_by_role("link", name="Trust dashboard")).to_be_visible()
    shot(page, "dashboard-trust-school")
