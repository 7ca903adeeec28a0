"""Pages: who may see what (404 for strangers and other families, 403 for wrong roles),
the parent's flows through the web, and pinned query counts."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from absences import services
from absences.models import AbsenceReport, LeaveDecision, LeavePolicy, LeaveRequest
from registers.models import Contact, Mark, Pupil
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for, make_upn
from tests.factories import ContactFactory, PupilFactory, RegistrationGroupFactory

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
        group = RegistrationGroupFactory(name="6Z", year_group=6)
        sibling = PupilFactory(
            upn=make_upn(serial=799), legal_forename="Bilal", legal_surname="Khan",
            date_of_birth=date(2014, 1, 1), gender="M", year_group=6, registration_group=group,
            admission_date=date(2020, 9, 1))
        ContactFactory(pupil=sibling, forename="Pat", surname="Khan", user=parent)
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
            ContactFactory(pupil=p, forename="Pat", surname="Khan", user=people["parent"])
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


# --- the office records an absence a parent phoned in -----------------------------------------------

def _phoned_data(pupil, day, **kw):
    data = {"pupil": pupil.pk, "caller": "Dad, Sam Khan", "reason": "illness", "code": "",
            "first_day": day, "first_session": "AM", "last_day": day, "last_session": "PM",
            "details": "Sickness bug"}
    data.update(kw)
    return data


def test_office_finds_the_pupil_and_records_a_phoned_absence(live_family, people, make_pupil):
    child = live_family["child"]
    make_pupil(group="3B", legal_forename="Amir", legal_surname="Khanom", serial=713,
               admission=date(2020, 9, 1), leaving=date(2021, 7, 1))  # off roll: not offered
    office = client_for(people["office"])
    found = office.get("/absences/inbox/", {"q": "amira KHAN"})
    assert found.status_code == 200
    assert f"?pupil={child.pk}".encode() in found.content
    assert b"Oscar" not in found.content and b"Khanom" not in found.content
    assert b"No pupil on roll matches" in office.get("/absences/inbox/", {"q": "zzz"}).content
    form = office.get("/absences/inbox/", {"pupil": child.pk})
    assert b'name="caller"' in form.content and b"Amira Khan" in form.content
    day = next_school_day(timezone.localdate())
    r = office.post("/absences/reports/phoned/", _phoned_data(child, day))
    assert r.status_code == 302
    report = AbsenceReport.objects.get()
    assert (report.status, report.caller, report.taken_by_name) == ("accepted", "Dad, Sam Khan",
                                                                    "Office A")
    assert sorted(Mark.objects.filter(pupil=child).values_list("code", flat=True)) == ["I", "I"]
    inbox = office.get("/absences/inbox/")
    assert b"phoned in by Dad, Sam Khan, taken by Office A" in inbox.content
    # The parent sees it in the portal.
    page = client_for(people["parent"]).get(f"/absences/children/{child.pk}/")
    assert b"Absence recorded" in page.content


def test_phoned_absence_with_bad_input_shows_the_error_and_saves_nothing(live_family, people):
    child = live_family["child"]
    day = next_school_day(timezone.localdate())
    office = client_for(people["office"])
    r = office.post("/absences/reports/phoned/", _phoned_data(child, day, caller=""))
    assert r.status_code == 200 and b'id="phoned-form"' in r.content
    assert b"This field is required" in r.content
    r = office.post("/absences/reports/phoned/", _phoned_data(child, day, reason="other"))
    assert r.status_code == 200 and b"Choose the absence code" in r.content
    assert not AbsenceReport.objects.exists() and not Mark.objects.exists()


@pytest.mark.parametrize("who", ["teacher", "governor", "trust_director", "la_officer", "parent",
                                 "other_school_office", None])
def test_only_the_office_can_record_a_phoned_absence(live_family, people, who):
    child = live_family["child"]
    day = next_school_day(timezone.localdate())
    client = client_for(people[who] if who else None)
    assert client.post("/absences/reports/phoned/", _phoned_data(child, day)).status_code == \
        expected({}, who)
    assert client.get("/absences/inbox/", {"pupil": child.pk}).status_code == expected({}, who)
    assert not AbsenceReport.objects.exists() and not Mark.objects.exists()


@pytest.mark.parametrize("who", ["office", "attendance_officer", "head"])
def test_admin_staff_can_record_a_phoned_absence(live_family, people, who):
    child = live_family["child"]
    day = next_school_day(timezone.localdate())
    r = client_for(people[who]).post("/absences/reports/phoned/", _phoned_data(child, day))
    assert r.status_code == 302 and AbsenceReport.objects.get().taken_by == people[who]


def test_phoned_absence_for_a_pupil_of_another_school_is_404(live_family, people, school_b):
    with schema_context(school_b.schema_name):
        group = RegistrationGroupFactory(name="6Z", year_group=6)
        theirs = PupilFactory(
            upn=make_upn(serial=798), legal_forename="Bea", legal_surname="Elsewhere",
            date_of_birth=date(2014, 1, 1), gender="F", year_group=6, registration_group=group,
            admission_date=date(2020, 9, 1))
    missing = max(Pupil.objects.values_list("pk", flat=True)) + theirs.pk + 1000
    office = client_for(people["office"])
    day = next_school_day(timezone.localdate())
    data = {**_phoned_data(live_family["child"], day), "pupil": missing}
    assert office.post("/absences/reports/phoned/", data).status_code == 404
    assert office.post("/absences/reports/phoned/", {**data, "pupil": "x"}).status_code == 404
    assert office.get("/absences/inbox/", {"pupil": missing}).status_code == 404
    assert b"Elsewhere" not in office.get("/absences/inbox/", {"q": "Bea"}).content
    assert not AbsenceReport.objects.exists()
    with schema_context(school_b.schema_name):
        assert not AbsenceReport.objects.exists()


# --- the head's view of the attendance floor and the new-request email ------------------------------

def test_parent_sees_the_attendance_floor_before_submitting_and_head_sees_it(
        live_family, people, mailoutbox, django_capture_on_commit_callbacks):
    from absences import presets

    presets.apply("stlukes")
    child = live_family["child"]
    people["head"].email = "head@a.example"
    people["head"].save()
    today = timezone.localdate()
    first = next_school_day(today + timedelta(days=15))
    data = {"reason": "performance", "first_day": first, "first_session": "AM", "last_day": first,
            "last_session": "PM", "explanation": "Licensed performance"}
    parent = client_for(people["parent"])
    # No figures yet this year: one day of leave would be all of it (0.0%).
    check = parent.post(f"/absences/children/{child.pk}/leave/", {**data, "step": "check"})
    assert b"below the school&#x27;s 95%" in check.content or b"below the school's 95%" in check.content
    with django_capture_on_commit_callbacks(execute=True):
        sent = parent.post(f"/absences/children/{child.pk}/leave/", {**data, "step": "submit"})
    assert sent.status_code == 302
    leave = LeaveRequest.objects.get()
    assert [m.to for m in mailoutbox] == [["head@a.example"]]
    assert "performance or activity absence" in mailoutbox[0].body
    head = client_for(people["head"])
    for url in ["/absences/leave/", f"/absences/leave/{leave.pk}/decide/"]:
        page = head.get(url)
        assert b"performance or activity absence" in page.content, url


# --- issue 14: reports for today after the morning register closes ---------------------------

def _today_is_a_school_day():
    from registers.models import SchoolDay

    today = timezone.localdate()
    if not SchoolDay.objects.filter(date=today, closed=False).exists():
        pytest.skip("today is not a school day in the live term")
    return today


def _set_times(school, am_close, pm_close):
    from tenants.models import School

    School.objects.filter(pk=school.pk).update(am_close=am_close, pm_close=pm_close)


def test_after_the_morning_register_a_parent_reports_the_afternoon_and_the_office_sees_it_late(
        live_family, people, school_a):
    from datetime import time

    today = _today_is_a_school_day()
    _set_times(school_a, time(0, 0), time(23, 59, 59))  # the morning closed, the afternoon open
    child = live_family["child"]
    parent = client_for(people["parent"])
    form = parent.get(f"/absences/children/{child.pk}/report/").content.decode()
    assert "choose the afternoon" in form and "0113" not in form  # no number on file yet
    r = parent.post(f"/absences/children/{child.pk}/report/", {
        "reason": "medical", "first_day": today, "first_session": "PM", "last_day": today,
        "last_session": "PM", "details": "Dentist at 2"})
    assert r.status_code == 302
    report = AbsenceReport.objects.get()
    assert (report.first_session, report.late) == ("PM", False)
    AbsenceReport.objects.all().delete()
    # Why the morning was missed: accepted, and the office sees it flagged late.
    r = parent.post(f"/absences/children/{child.pk}/report/", {
        "reason": "medical", "first_day": today, "first_session": "AM", "last_day": today,
        "last_session": "AM", "details": "Arrived at 10 after the GP"})
    assert r.status_code == 302 and AbsenceReport.objects.get().late
    inbox = client_for(people["office"]).get("/absences/inbox/").content.decode()
    assert "Late report: sent after the register closed" in inbox


def test_when_the_portal_refuses_it_shows_the_schools_number(live_family, people, school_a):
    from datetime import time

    from tenants.models import School

    today = _today_is_a_school_day()
    _set_times(school_a, time(0, 0), time(0, 0, 1))  # both registers closed
    School.objects.filter(pk=school_a.pk).update(phone="0113 496 0000")
    child = live_family["child"]
    r = client_for(people["parent"]).post(f"/absences/children/{child.pk}/report/", {
        "reason": "illness", "first_day": today, "first_session": "PM", "last_day": today,
        "last_session": "PM"})
    page = r.content.decode()
    assert r.status_code == 200 and not AbsenceReport.objects.exists()
    assert "phone the school office on 0113 496 0000" in page
    assert 'href="tel:01134960000"' in page


# --- issue 14: a family holiday request is told the truth -------------------------------------

def _leave_data(reason, live_family):
    from absences.rules import earliest_start

    first = next_school_day(earliest_start(LeavePolicy.objects.first(), timezone.localdate()))
    last = next_school_day(first, 4)
    return {"reason": reason, "first_day": first, "first_session": "AM", "last_day": last,
            "last_session": "PM", "explanation": "A week in Spain"}


def test_a_family_holiday_shows_the_warning_and_no_ticks(live_family, people):
    child = live_family["child"]
    parent = client_for(people["parent"])
    data = _leave_data("holiday", live_family)  # enough notice, in the future: rules that pass
    check = parent.post(f"/absences/children/{child.pk}/leave/", {**data, "step": "check"})
    page = check.content.decode()
    assert check.status_code == 200
    assert "Meets the rule" not in page and "✓" not in page and "rule-pass" not in page
    assert "A family holiday in term time will normally be refused" in page
    assert "Likely to be refused" in page and "exceptional circumstances" in page
    assert "£80" in page and "£160" in page and "penalty notice" in page
    assert "Send the request anyway" in page  # the head still decides
    with_ticks = parent.post(f"/absences/children/{child.pk}/leave/",
                             {**data, "step": "submit"})
    leave = LeaveRequest.objects.get()
    assert with_ticks.status_code == 302 and leave.reason == "holiday"
    # Afterwards too: the parent's and the head's pages show no ticks for it.
    for who, url in (("parent", f"/absences/leave/{leave.pk}/"),
                     ("head", f"/absences/leave/{leave.pk}/decide/"), ("head", "/absences/leave/")):
        shown = client_for(people[who]).get(url).content.decode()
        assert "Meets the rule" not in shown and "Likely to be refused" in shown, (who, url)


def test_other_reasons_keep_their_ticks_and_learn_the_law(live_family, people):
    child = live_family["child"]
    data = _leave_data("exceptional", live_family)
    page = client_for(people["parent"]).post(f"/absences/children/{child.pk}/leave/",
                                             {**data, "step": "check"}).content.decode()
    assert "Meets the rule" in page
    assert "Leave in term time: what the law says" in page and "£80" in page
    assert "will normally be refused" not in page
