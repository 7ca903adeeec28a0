"""Every view checks tenant and role: strangers get 404, wrong roles 403 (style.md)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registers.models import Mark, MarkAmendment, RegistrationGroup
from tests.conftest import client_for
from tests.factories import ContactFactory, MarkFactory

DAY = date(2025, 9, 2)
ALL = ["office", "teacher", "attendance_officer", "head", "governor", "trust_director",
       "la_officer", "parent", "other_school_office", None]


@pytest.fixture
def site(calendar, make_pupil, people):
    child = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Own")
    other = make_pupil(group="4C", year_group=4, admission=date(2025, 9, 1), legal_forename="Other")
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    ContactFactory(pupil=child, forename="Pat", surname="Parent", user=people["parent"],
                   correspondence=True)
    return {"child": child, "other": other, "own_group": child.registration_group,
            "other_group": other.registration_group}


def status(people, who, url, method="get", data=None):
    client = client_for(people[who] if who else None)
    response = getattr(client, method)(url, data or {})
    return response.status_code


MARKERS_OK = {"office": 200, "teacher": 200, "attendance_officer": 200, "head": 200}
WHOLE_SCHOOL_OK = {"office": 200, "attendance_officer": 200, "head": 200}
DENIED = {"other_school_office": 404, None: 302}


def expected(ok: dict, who):
    if who in DENIED:
        return DENIED[who]
    return ok.get(who, 403)


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("url_name,ok", [
    ("register", MARKERS_OK),
    ("office_session", WHOLE_SCHOOL_OK),
    ("pupil_list", MARKERS_OK),
    ("child", {**MARKERS_OK, "parent": 200}),
    ("calendar", WHOLE_SCHOOL_OK),
    ("import_pupils", WHOLE_SCHOOL_OK),
])
def test_role_matrix(site, people, who, url_name, ok):
    urls = {
        "register": f"/register/{site['own_group'].pk}/{DAY}/AM/",
        "office_session": f"/office/{DAY}/AM/",
        "pupil_list": "/pupils/",
        "child": f"/pupils/{site['child'].pk}/",
        "calendar": "/calendar/",
        "import_pupils": "/imports/pupils/",
    }
    assert status(people, who, urls[url_name]) == expected(ok, who)


def test_teacher_cannot_open_another_class(site, people):
    assert status(people, "teacher", f"/register/{site['other_group'].pk}/{DAY}/AM/") == 404
    response = client_for(people["teacher"]).post(
        f"/register/{site['other_group'].pk}/{DAY}/AM/", {f"code-{site['other'].pk}": "N"})
    assert response.status_code == 404
    assert not Mark.objects.exists()


def test_parent_sees_only_own_child(site, people):
    client = client_for(people["parent"])
    own = client.get(f"/pupils/{site['child'].pk}/")
    assert own.status_code == 200 and b"Own" in own.content
    assert b"Amendment history" not in own.content  # staff-only detail
    assert client.get(f"/pupils/{site['other'].pk}/").status_code == 404
    home = client.get("/", follow=True)
    assert b"Own" in home.content and b"Other Pupil" not in home.content


def test_parent_cannot_amend(site, people):
    response = client_for(people["parent"]).post(
        f"/pupils/{site['child'].pk}/amend/",
        {"day": DAY, "session": "AM", "code": "I", "reason": "x"})
    assert response.status_code == 403
    assert not Mark.objects.exists()


def test_staff_of_another_school_get_404_on_its_objects(site, people, school_b):
    """School A's office, signed in, asks school B's host for school A's pupil ids."""
    client = client_for(people["office"], host="b.localhost")
    for url in ["/pupils/", f"/pupils/{site['child'].pk}/", f"/office/{DAY}/AM/",
                f"/register/{site['own_group'].pk}/{DAY}/AM/", "/calendar/"]:
        assert client.get(url).status_code == 404, url


def test_amend_through_the_web(site, people):
    MarkFactory(pupil=site["child"], date=DAY, session="AM", code="N")
    client = client_for(people["office"])
    response = client.post(f"/pupils/{site['child'].pk}/amend/",
                           {"day": DAY, "session": "AM", "code": "M", "reason": "Dentist letter"})
    assert response.status_code == 302
    a = MarkAmendment.objects.get()
    assert (a.original_code, a.new_code, a.role) == ("N", "M", "Office / admin")
    page = client.get(f"/pupils/{site['child'].pk}/")
    assert b"Dentist letter" in page.content
    missing_reason = client.post(f"/pupils/{site['child'].pk}/amend/",
                                 {"day": DAY, "session": "AM", "code": "I", "reason": ""})
    assert missing_reason.status_code == 302
    assert Mark.objects.get(pupil=site["child"]).code == "M"


def register_post(pupils, code="/"):
    return {f"code-{p.pk}": code for p in pupils}


@pytest.mark.parametrize("size", [10, 30])
def test_register_queries_do_not_grow_with_class_size(calendar, make_pupil, people, size):
    pupils = [make_pupil(group="5Q", year_group=5, admission=date(2025, 9, 1))
              for _ in range(size)]
    group = pupils[0].registration_group
    client = client_for(people["office"])
    url = f"/register/{group.pk}/{DAY}/AM/"
    client.get(url)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as get_q:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as post_q:
        assert client.post(url, register_post(pupils)).status_code == 302
    assert Mark.objects.count() == size
    with CaptureQueriesContext(connection) as amend_q:
        data = {**register_post(pupils, "I"), **{f"reason-{p.pk}": "ill" for p in pupils}}
        assert client.post(url, data).status_code == 302
    assert MarkAmendment.objects.count() == size
    # Page load, first save, amending save: the same numbers for 10 and 30 pupils. The page
    # load reads session patterns, part-time timetables and off-site provision in one query
    # (registers.arrangements), and the day with its neighbouring session in one; the school
    # is found without a search path set first (tenants.middleware.SchoolMiddleware).
    assert (len(get_q), len(post_q), len(amend_q)) == (12, 13, 14)


def test_office_session_lists_missing_registers_and_calling_list(site, people):
    ContactFactory(pupil=site["other"], priority=1, forename="Kim", surname="Carer",
                   mobile="07700 900555")
    MarkFactory(pupil=site["other"], date=DAY, session="AM", code="N")
    page = client_for(people["office"]).get(f"/office/{DAY}/AM/")
    html = page.content.decode()
    assert "07700 900555" in html and "Other Pupil" in html  # first-day calling list
    assert page.context["totals"]["unexplained"] == 1
    missing = {g.name for g in page.context["missing"]}
    assert missing == {"3B"}  # 4C is fully marked, 3B is not


@pytest.mark.parametrize("size", [5, 25])
def test_office_session_queries_do_not_grow(calendar, make_pupil, people, size):
    pupils = [make_pupil(group=f"G{i % 5}", admission=date(2025, 9, 1)) for i in range(size)]
    for p in pupils:
        ContactFactory(pupil=p, forename="C", surname="P", mobile="07700 900000")
        MarkFactory(pupil=p, date=DAY, session="AM", code="N")
    client = client_for(people["office"])
    client.get(f"/office/{DAY}/AM/")
    with CaptureQueriesContext(connection) as q:
        client.get(f"/office/{DAY}/AM/")
    # The same for 5 and 25 pupils: one is the first-day messages, three the waiting badges
    # (issue 17: one query each) and one the day's register reminders; the day and its
    # neighbouring sessions are one.
    assert len(q) == 19
