"""Pages: who may see what (404 for strangers and other families, 403 for wrong roles),
the parent's flows through the web, and pinned query counts."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from absences import services
from absences.models import AbsenceReport, LeaveDecision, LeaveRequest
from registers.models import Contact, Mark, Pupil, RegistrationGroup
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for, make_upn

from .conftest import next_school_day

ALL = ["office", "teacher", "attendance_officer", "head", "governor", "trust_director",
       "la_officer", "parent", "other_school_office", None]
DENIED = {"other_school_office": 404, None: 302}
PARENT_OK = {"parent": 200}
OFFICE_OK = {"office": 200, "attendance_officer": 200, "head": 200}
HEAD_OK = {"head": 200}


def expected(ok, who):
    return DENIED[who] if who in DENIED else ok.get(who, 403)


def status(people, who, url):
    return client_for(people[who] if who else None).get(url).status_code


def leave_for(child, user, first=None, days=5):
    today = timezone.localdate()
    first = first or next_school_day(today + timedelta(days=35))
    return services.leave_request_submit(
        pupil=child, user=user, first_day=first, first_session="AM",
        last_day=next_school_day(first - timedelta(days=1), days), last_session="PM",
        reason="exceptional", explanation="Family wedding abroad")


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("name,ok", [
    ("portal", PARENT_OK), ("child", PARENT_OK), ("report", PARENT_OK), ("leave", PARENT_OK),
    ("leave_detail", {**OFFICE_OK, "parent": 200}), ("inbox", OFFICE_OK),
    ("unexplained", OFFICE_OK), ("queue", HEAD_OK), ("decide", HEAD_OK), ("policy", HEAD_OK),
])
def test_role_matrix(live_family, people, who, name, ok):
    child = live_family["child"]
    leave = leave_for(child, people["parent"])
    urls = {"portal": "/absences/", "child": f"/absences/children/{child.pk}/",
            "report": f"/absences/children/{child.pk}/report/",
            "leave": f"/absences/children/{child.pk}/leave/",
            "leave_detail": f"/absences/leave/{leave.pk}/", "inbox": "/absences/inbox/",
            "unexplained": "/absences/unexplained/", "queue": "/absences/leave/",
            "decide": f"/absences/leave/{leave.pk}/decide/", "policy": "/absences/rules/"}
    assert status(people, who, urls[name]) == expected(ok, who)


def test_parent_gets_404_for_another_familys_child(live_family, people):
    other = live_family["other"]
    other_parent = person_grant(username="other_parent", role=Role.PARENT,
                                school=connection.tenant)
    Contact.objects.filter(pupil=other).update(user=other_parent)
    theirs = leave_for(other, other_parent)
    client = client_for(people["parent"])
    for url in [f"/absences/children/{other.pk}/", f"/absences/children/{other.pk}/report/",
                f"/absences/children/{other.pk}/leave/", f"/absences/leave/{theirs.pk}/",
                f"/absences/leave/{theirs.pk}/letter/", f"/absences/leave/{theirs.pk}/document/"]:
        assert client.get(url).status_code == 404, url
    day = next_school_day(timezone.localdate())
    # Editing the form's target: posting a report or a leave request for the other child.
    r = client.post(f"/absences/children/{other.pk}/report/",
                    {"reason": "illness", "first_day": day, "first_session": "AM",
                     "last_day": day, "last_session": "PM"})
    assert r.status_code == 404 and not AbsenceReport.objects.exists()
    r = client.post(f"/absences/children/{other.pk}/leave/",
                    {"step": "submit", "reason": "exceptional", "first_day": day,
                     "first_session": "AM", "last_day": day, "last_session": "PM",
                     "explanation": "x"})
    assert r.status_code == 404 and LeaveRequest.objects.count() == 1
    # Parents cannot act for the school.
    report = services.absence_report_create(
        school=connection.tenant, pupil=live_family["child"], user=people["parent"],
        reason="illness", first_day=day, last_day=day)
    assert client.post(f"/absences/reports/{report.pk}/accept/", {f"r{report.pk}-code": "I"}) \
        .status_code == 403
    assert client.post(f"/absences/leave/{theirs.pk}/decide/", {"outcome": "granted"}) \
        .status_code == 403
    assert not Mark.objects.exists() and not LeaveDecision.objects.exists()
    portal = client.get("/absences/")
    assert b"Amira" in portal.content and b"Oscar" not in portal.content


def test_staff_of_another_school_get_404(live_family, people):
    leave = leave_for(live_family["child"], people["parent"])
    client = client_for(people["office"], host="b.localhost")
    for url in ["/absences/inbox/", "/absences/unexplained/", f"/absences/leave/{leave.pk}/",
                "/absences/leave/", "/absences/"]:
        assert client.get(url).status_code == 404, url
    r = client.post(f"/absences/leave/{leave.pk}/decide/", {"outcome": "granted"})
    assert r.status_code == 404


def test_parent_reports_and_office_accepts_through_the_web(live_family, people):
    child = live_family["child"]
    day = next_school_day(timezone.localdate())
    last = next_school_day(day)
    parent = client_for(people["parent"])
    bad = parent.post(f"/absences/children/{child.pk}/report/",
                      {"reason": "illness", "first_day": last, "first_session": "AM",
                       "last_day": day, "last_session": "PM"})
    assert bad.status_code == 200 and b"The last day is before the first day" in bad.content
    assert not AbsenceReport.objects.exists()
    r = parent.post(f"/absences/children/{child.pk}/report/",
                    {"reason": "illness", "first_day": day, "first_session": "AM",
                     "last_day": last, "last_session": "PM", "details": "Sickness bug"})
    assert r.status_code == 302
    report = AbsenceReport.objects.get()
    office = client_for(people["office"])
    inbox = office.get("/absences/inbox/")
    assert b"Sickness bug" in inbox.content
    assert office.post(f"/absences/reports/{report.pk}/accept/",
                       {f"r{report.pk}-code": "I"}).status_code == 302
    assert sorted(Mark.objects.filter(pupil=child).values_list("code", flat=True)) == ["I"] * 4
    page = parent.get(f"/absences/children/{child.pk}/")
    assert b"Accepted" in page.content and b"Absence report accepted" in page.content


def test_leave_preview_then_submit_then_decide(live_family, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    child = live_family["child"]
    today = timezone.localdate()
    first = next_school_day(today, 3)  # Beecroft wants a month's notice
    last = next_school_day(first - timedelta(days=1), 5)
    data = {"reason": "exceptional", "first_day": first, "first_session": "AM",
            "last_day": last, "last_session": "PM", "explanation": "Funeral abroad"}
    parent = client_for(people["parent"])
    check = parent.post(f"/absences/children/{child.pk}/leave/", {**data, "step": "check"})
    assert check.status_code == 200
    assert b"Not enough notice" in check.content and b"Send the request anyway" in check.content
    assert not LeaveRequest.objects.exists()  # the preview saves nothing
    wrong = parent.post(f"/absences/children/{child.pk}/leave/",
                        {**data, "step": "submit", "document": _file("notes.txt", b"hello")})
    assert b"PDF, JPEG or PNG" in wrong.content and not LeaveRequest.objects.exists()
    sent = parent.post(f"/absences/children/{child.pk}/leave/",
                       {**data, "step": "submit", "document": _file("letter.pdf", b"%PDF-1.4 x")})
    assert sent.status_code == 302
    leave = LeaveRequest.objects.get()
    assert [r["rule"] for r in leave.rule_results if not r["passed"]] == ["notice"]
    head = client_for(people["head"])
    queue = head.get("/absences/leave/")
    assert b"Not enough notice" in queue.content and b"Funeral abroad" in queue.content
    assert head.get(f"/absences/leave/{leave.pk}/document/").status_code == 200
    granted = leave.sessions[:6]
    r = head.post(f"/absences/leave/{leave.pk}/decide/",
                  {"outcome": "part_granted", "granted": granted, "code": "C", "reason": "Three days."})
    assert r.status_code == 302
    assert Mark.objects.filter(pupil=child, code="C").count() == 6
    letter = parent.get(f"/absences/leave/{leave.pk}/letter/")
    assert b"I have granted 3 of the 5 days" in letter.content


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_one_login_sees_children_in_two_schools(live_family, people, school_b):
    parent = people["parent"]
    person_grant(username=parent.username, role=Role.PARENT, school=school_b)
    with schema_context(school_b.schema_name):
        group = RegistrationGroup.objects.create(name="6Z", year_group=6)
        sibling = Pupil.objects.create(
            upn=make_upn(serial=799), legal_forename="Bilal", legal_surname="Khan",
            date_of_birth=date(2014, 1, 1), gender="M", year_group=6, registration_group=group,
            admission_date=date(2020, 9, 1))
        Contact.objects.create(pupil=sibling, forename="Pat", surname="Khan", user=parent)
    page = client_for(parent).get("/absences/")
    assert b"Amira Khan" in page.content and b"Bilal Khan" in page.content
    assert b"Test School B" in page.content
    assert f"http://b.localhost/absences/children/{sibling.pk}/".encode() in page.content


def _count(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as q:
        assert client.get(url).status_code == 200
    return len(q)


def test_portal_queries_do_not_grow_with_children(live_calendar, make_pupil, people):
    client = client_for(people["parent"])
    counts = []
    for n in (1, 3):
        for i in range(n - Contact.objects.filter(user=people["parent"]).count()):
            p = make_pupil(group="3B", legal_forename=f"Child{n}{i}")
            Contact.objects.create(pupil=p, forename="Pat", surname="Khan", user=people["parent"])
        counts.append(_count(client, "/absences/"))
    assert counts[0] == counts[1]
    assert counts[0] <= 17  # 5 for the tenant, session and roles; 3 + 4 per school


def test_queue_queries_do_not_grow_with_requests(live_calendar, make_pupil, people):
    client = client_for(people["head"])
    counts = []
    for n in (1, 3):
        while LeaveRequest.objects.count() < n:
            p = make_pupil(group="3B")
            leave_for(p, people["head"])
        counts.append(_count(client, "/absences/leave/"))
    assert counts[0] == counts[1]
    assert counts[0] <= 10
