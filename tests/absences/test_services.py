"""Services: reports, leave requests and decisions, the unexplained worklist (issue 3)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from absences import presets, selectors, services
from absences.models import (
    AbsenceReport,
    AssessmentPeriod,
    ContactAttempt,
    LeaveDecision,
    LeavePolicy,
    LeaveRequest,
    PortalMessage,
)
from registers.models import Mark, MarkAmendment
from registers.services import Entry, marks_save

LONDON = ZoneInfo("Europe/London")
MON = date(2026, 1, 12)
TUE, WED, THU, FRI = (date(2026, 1, d) for d in (13, 14, 15, 16))
ROLE = "Office / admin"


def at(day, hh, mm):
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def mark(pupil, day, session, code, school):
    marks_save(school=school, day=day, session=session, pupils=[pupil],
               entries=[Entry(pupil.pk, code)], user=None, role=ROLE)


def codes_of(pupil):
    return {(m.date, m.session): m.code for m in Mark.objects.filter(pupil=pupil)}


def use_policy(**kw):
    LeavePolicy.objects.all().delete()
    return LeavePolicy.objects.create(**kw)


# --- reporting an absence ---------------------------------------------------------------------

def report(school, pupil, user, **kw):
    args = dict(school=school, pupil=pupil, user=user, reason="illness", first_day=MON,
                last_day=MON, now=at(MON, 8, 30))
    args.update(kw)
    return services.absence_report_create(**args)


def test_report_today_until_the_afternoon_register_closes(family, people, school_a):
    # Beecroft's morning register closes at 9.10, the afternoon's at 13.45.
    on_time = report(school_a, family["child"], people["parent"], now=at(MON, 9, 10))
    assert on_time.pk and not on_time.late
    AbsenceReport.objects.all().delete()
    # After 9.10: an afternoon appointment is accepted and is not late for its session...
    pm = report(school_a, family["child"], people["parent"], first_session="PM",
                reason="medical", now=at(MON, 9, 11))
    assert (pm.first_session, pm.late) == ("PM", False)
    AbsenceReport.objects.all().delete()
    # ...and why the morning was missed is accepted, flagged late for the office.
    assert report(school_a, family["child"], people["parent"], now=at(MON, 11, 0)).late
    AbsenceReport.objects.all().delete()


def test_after_the_afternoon_register_closes_the_parent_is_given_the_number(family, people,
                                                                            school_a):
    school_a.phone = "0113 496 0000"
    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], first_session="PM",
               now=at(MON, 13, 46))
    assert "closed at 13:45" in str(exc.value)
    assert "phone the school office on 0113 496 0000" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], first_day=MON - timedelta(days=3),
               last_day=MON - timedelta(days=3))
    assert "0113 496 0000" in str(exc.value)
    school_a.phone = ""
    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], now=at(MON, 14, 0))
    assert "phone the school office." in str(exc.value)


def test_illness_over_consecutive_days_is_one_report(family, people, school_a, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    LeavePolicy.objects.update(office_email="office@beecroft.example")
    with django_capture_on_commit_callbacks(execute=True):
        r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=THU,
                   details="Chickenpox")
    assert (r.first_day, r.last_day, r.status, r.suggested_code) == (TUE, THU, "new", "I")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["office@beecroft.example"]
    assert "Amira Khan" in mailoutbox[0].subject and "Chickenpox" in mailoutbox[0].body


@pytest.mark.parametrize("kw,field,text", [
    ({"first_day": TUE, "last_day": MON}, "last_day", "before the first day"),
    ({"first_day": MON, "last_day": MON, "first_session": "PM", "last_session": "AM"},
     "last_day", "before the first day"),
    ({"first_day": date(2026, 1, 9), "last_day": MON}, "first_day", "already happened"),
    ({"first_day": date(2026, 1, 17), "last_day": date(2026, 1, 18)}, "first_day", "no school sessions"),
    ({"first_day": date(2026, 7, 20), "last_day": date(2026, 7, 24)}, "first_day",
     "outside the school's term"),
    ({"reason": "holiday"}, "reason", "Choose a reason"),
])
def test_bad_reports_are_refused_and_nothing_saved(family, people, school_a, kw, field, text):
    with pytest.raises(ValidationError) as exc:
        report(school_a, family["child"], people["parent"], **kw)
    assert text in " ".join(exc.value.message_dict[field])
    assert not AbsenceReport.objects.exists()


def test_report_twice_for_the_same_days_is_refused(family, people, school_a):
    report(school_a, family["child"], people["parent"], first_day=TUE, last_day=WED)
    with pytest.raises(ValidationError, match="already reported"):
        report(school_a, family["child"], people["parent"], first_day=WED, last_day=THU)
    assert AbsenceReport.objects.count() == 1


def test_accepting_a_report_prefills_i_and_amends_n(family, people, school_a):
    child = family["child"]
    r = report(school_a, child, people["parent"], first_day=MON, last_day=TUE)
    mark(child, MON, "AM", "N", school_a)   # the teacher took the register first
    mark(child, MON, "PM", "\\", school_a)  # came in after lunch: left alone
    result = services.absence_report_accept(school=school_a, report=r, user=people["office"],
                                            role=ROLE)
    assert codes_of(child) == {(MON, "AM"): "I", (MON, "PM"): "\\", (TUE, "AM"): "I",
                               (TUE, "PM"): "I"}
    amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code) == ("N", "I")
    assert "Parent reported illness" in amendment.reason
    assert result["kept"] == [(MON, "PM", "\\")]
    r.refresh_from_db()
    assert (r.status, r.code_applied, r.handled_by_name) == ("accepted", "I", "Office A")
    msg = PortalMessage.objects.get()
    assert msg.pupil == child and "accepted" in msg.subject
    with pytest.raises(ValidationError, match="already been accepted"):
        services.absence_report_accept(school=school_a, report=r, user=people["office"], role=ROLE)


def test_other_reason_needs_a_code_from_the_office(family, people, school_a):
    r = report(school_a, family["child"], people["parent"], reason="other", first_day=TUE,
               last_day=TUE)
    with pytest.raises(ValidationError):
        services.absence_report_accept(school=school_a, report=r, user=people["office"], role=ROLE)
    assert not Mark.objects.exists()
    services.absence_report_accept(school=school_a, report=r, user=people["office"], role=ROLE,
                                   code="C")
    assert set(codes_of(family["child"]).values()) == {"C"}


def test_query_a_report(family, people, school_a):
    r = report(school_a, family["child"], people["parent"], first_day=TUE, last_day=TUE)
    with pytest.raises(ValidationError):
        services.absence_report_query(report=r, user=people["office"], message=" ")
    services.absence_report_query(report=r, user=people["office"],
                                  message="Please send the appointment letter.")
    r.refresh_from_db()
    assert r.status == "queried" and not Mark.objects.exists()
    # Issue 14: the question is framed for the parent, with how to answer.
    assert "\n\nPlease send the appointment letter.\n\n" in PortalMessage.objects.get().body


# --- leave requests ----------------------------------------------------------------------------

def submit(pupil, user, **kw):
    args = dict(pupil=pupil, user=user, first_day=date(2026, 3, 2), first_session="AM",
                last_day=date(2026, 3, 6), last_session="PM", reason="exceptional",
                explanation="Grandmother's funeral in Lahore", today=MON)
    args.update(kw)
    return services.leave_request_submit(**args)


def test_preview_shows_the_beecroft_rules_before_submitting(family, school_a):
    # test_a was created with the Beecroft preset: one month's notice, 2 RO days a year.
    policy = selectors.policy_current()
    assert (policy.notice_months, policy.ro_days_cap) == (1, Decimal("2.0"))
    sessions, results = services.leave_preview(
        pupil=family["child"], first_day=date(2026, 1, 26), first_session="AM",
        last_day=date(2026, 1, 26), last_session="PM", reason="religious", today=MON)
    assert sessions == [(date(2026, 1, 26), "AM"), (date(2026, 1, 26), "PM")]
    by_rule = {r.rule: r for r in results}
    assert not by_rule["notice"].passed and "Thursday 12 February 2026" in by_rule["notice"].message
    assert by_rule["religious_observance_cap"].passed


def test_ro_cap_counts_r_marks_already_in_the_register(family, school_a):
    child = family["child"]
    for day in (MON, TUE):  # two days of religious observance already granted
        mark(child, day, "AM", "R", school_a)
        mark(child, day, "PM", "R", school_a)
    _, results = services.leave_preview(pupil=child, first_day=date(2026, 3, 20), first_session="AM",
                                        last_day=date(2026, 3, 20), last_session="AM",
                                        reason="religious", today=WED)
    cap = next(r for r in results if r.rule == "religious_observance_cap")
    assert not cap.passed and "2 days used so far" in cap.message


def test_st_lukes_rules_from_the_register(family, school_a):
    presets.apply("stlukes")
    child = family["child"]
    # 10 sessions possible, 1 authorised (I): 10.0% authorised, not above 10.
    for day in (MON, TUE, WED, THU, FRI):
        mark(child, day, "AM", "/", school_a)
        mark(child, day, "PM", "\\" if day != FRI else "I", school_a)
    _, results = services.leave_preview(
        pupil=child, first_day=date(2026, 2, 2), first_session="AM", last_day=date(2026, 2, 2),
        last_session="PM", reason="exceptional", today=date(2026, 1, 19))
    by_rule = {r.rule: r.passed for r in results}
    assert by_rule == {"retrospective": True, "notice": True, "statutory_assessment": True,
                       "unauthorised_absence": True, "authorised_absence": True}
    mark(child, date(2026, 1, 19), "AM", "O", school_a)
    _, results = services.leave_preview(
        pupil=child, first_day=date(2026, 2, 2), first_session="AM", last_day=date(2026, 2, 2),
        last_session="PM", reason="exceptional", today=date(2026, 1, 19))
    assert {r.rule: r.passed for r in results}["unauthorised_absence"] is False
    assert AssessmentPeriod.objects.filter(year_group=6).exists()


def test_submit_keeps_the_rule_results_the_parent_saw(family, people, school_a):
    req = submit(family["child"], people["parent"])
    assert req.status == "pending" and len(req.sessions) == 10
    assert req.sessions[0] == "2026-03-02 AM" and req.days_requested == 5
    assert {r["rule"]: r["passed"] for r in req.rule_results} == {"retrospective": True,
                                                                  "notice": True}


def test_retrospective_request_cannot_be_submitted(family, people, school_a):
    with pytest.raises(ValidationError, match="already passed"):
        submit(family["child"], people["parent"], first_day=date(2026, 1, 5),
               last_day=date(2026, 1, 6))
    assert not LeaveRequest.objects.exists()


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@pytest.mark.parametrize("kw,field,text", [
    ({"first_day": date(2026, 3, 6), "last_day": date(2026, 3, 2)}, "last_day", "before the first day"),
    ({"first_day": date(2026, 8, 3), "last_day": date(2026, 8, 7)}, "first_day", "outside the school's term"),
    ({"explanation": ""}, "explanation", "Explain"),
    ({"document": SimpleUploadedFile("letter.pdf", PDF + b"0" * (5 * 1024 * 1024))},
     "document", "largest file you can upload is 5 MB"),
    ({"document": SimpleUploadedFile("letter.docx", b"PK\x03\x04word")}, "document", "PDF, JPEG or PNG"),
    ({"document": SimpleUploadedFile("fake.pdf", b"MZ\x90\x00 an exe")}, "document", "PDF, JPEG or PNG"),
])
def test_bad_leave_requests_save_nothing(family, people, school_a, kw, field, text, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationError) as exc:
        submit(family["child"], people["parent"], **kw)
    assert text in " ".join(exc.value.message_dict[field])
    assert not LeaveRequest.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_leave_for_sessions_already_marked_is_refused(family, people, school_a):
    mark(family["child"], date(2026, 3, 3), "PM", "V", school_a)  # a school trip already booked
    with pytest.raises(ValidationError, match="Tue 3 Mar 2026 PM is already in the register as V"):
        submit(family["child"], people["parent"])
    assert not LeaveRequest.objects.exists()


def test_good_documents_are_stored(family, people, school_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    req = submit(family["child"], people["parent"], document=SimpleUploadedFile("scan.PNG", png))
    assert req.document.name.startswith("leave/")
    assert req.document.read() == png


# --- decisions ----------------------------------------------------------------------------------

def test_head_grants_three_of_five_days(family, people, school_a, mailoutbox, eager,
                                        django_capture_on_commit_callbacks):
    child = family["child"]
    req = submit(child, people["parent"])
    # The office had already marked Monday AM as N: the grant must amend it, with a trail.
    mark(child, date(2026, 3, 2), "AM", "N", school_a)
    granted = req.sessions[:6]
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.leave_request_decide(
            school=school_a, request=req, user=people["head"], role="Headteacher", outcome="part_granted",
            granted=granted, reason="Three days are granted for the funeral.")
    assert (decision.outcome, decision.code, decision.days_granted) == ("part_granted", "C", 3)
    marks = codes_of(child)
    assert marks == {(date(2026, 3, d), s): "C" for d in (2, 3, 4) for s in ("AM", "PM")}
    amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code, amendment.role) == ("N", "C", "Headteacher")
    req.refresh_from_db()
    assert req.status == "part_granted"
    assert "I have granted 3 of the 5 days you asked for" in decision.letter_html
    assert "Thursday 5 March 2026 (all day)" in decision.letter_html  # listed as not granted
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["pat@example.org"]
    assert mailoutbox[0].alternatives and "Amira" in mailoutbox[0].alternatives[0][0]
    assert PortalMessage.objects.get(pupil=child).link.endswith(f"/leave/{req.pk}/letter/")
    with pytest.raises(ValidationError, match="already been decided"):
        services.leave_request_decide(school=school_a, request=req, user=people["head"],
                                      role="Headteacher", outcome="granted")


def test_decision_is_also_a_pdf_letter_from_the_letters_app(family, people, school_a,
                                                             django_capture_on_commit_callbacks):
    """Queued with the decision, rendered once it commits (issue 15: no PDF rendering inside
    a request transaction)."""
    import io

    from pypdf import PdfReader

    from letters.models import Letter

    child = family["child"]
    req = submit(child, people["parent"])
    with django_capture_on_commit_callbacks(execute=True):
        services.leave_request_decide(school=school_a, request=req, user=people["head"],
                                      role="Headteacher", outcome="refused",
                                      reason="Term-time holidays are not exceptional circumstances.")
        assert Letter.objects.get(pupil=child, template_key="leave_decision").status == "queued"
    letter = Letter.objects.get(pupil=child, template_key="leave_decision")
    assert letter.status == "rendered", letter.error
    text = " ".join(" ".join(p.extract_text().split())
                    for p in PdfReader(io.BytesIO(letter.file.read())).pages)
    assert "refused" in text and "Term-time holidays are not exceptional" in text


def test_religious_observance_grant_prefills_r(family, people, school_a):
    req = submit(family["child"], people["parent"], reason="religious", first_day=date(2026, 3, 20),
                 last_day=date(2026, 3, 20))
    services.leave_request_decide(school=school_a, request=req, user=people["head"], role="Head",
                                  outcome="granted")
    assert set(codes_of(family["child"]).values()) == {"R"}


@pytest.mark.parametrize("kw,field", [
    ({"outcome": "refused", "reason": ""}, "reason"),
    ({"outcome": "part_granted", "granted": []}, "granted"),
    ({"outcome": "part_granted", "granted": ["2026-03-09 AM"]}, "granted"),
    ({"outcome": "granted", "code": "I"}, "code"),
    ({"outcome": "maybe"}, "outcome"),
])
def test_bad_decisions_change_nothing(family, people, school_a, kw, field):
    req = submit(family["child"], people["parent"])
    with pytest.raises(ValidationError) as exc:
        services.leave_request_decide(school=school_a, request=req, user=people["head"],
                                      role="Head", **kw)
    assert field in exc.value.message_dict
    assert not Mark.objects.exists() and not LeaveDecision.objects.exists()
    req.refresh_from_db()
    assert req.status == "pending"


def test_refused_leave_taken_prompts_the_office_to_mark_g(family, people, school_a):
    child = family["child"]
    req = submit(child, people["parent"], first_day=date(2026, 3, 2), last_day=date(2026, 3, 3))
    services.leave_request_decide(school=school_a, request=req, user=people["head"], role="Head",
                                  outcome="refused", reason="Not exceptional.")
    assert selectors.refused_leave_due(date(2026, 3, 1)) == []
    mark(child, date(2026, 3, 2), "AM", "N", school_a)
    mark(child, date(2026, 3, 2), "PM", "N", school_a)
    mark(child, date(2026, 3, 3), "AM", "/", school_a)  # came in after all
    due = selectors.refused_leave_due(date(2026, 3, 3))
    assert [(d["request"], d["sessions"]) for d in due] == [
        (req, [(date(2026, 3, 2), "AM"), (date(2026, 3, 2), "PM")])]
    n = services.leave_mark_unauthorised(school=school_a, request=req, user=people["office"],
                                         role=ROLE, today=date(2026, 3, 3))
    assert n == 2
    assert codes_of(child)[(date(2026, 3, 2), "AM")] == "G"
    assert MarkAmendment.objects.filter(original_code="N", new_code="G").count() == 2
    assert selectors.refused_leave_due(date(2026, 3, 3)) == []


# --- unexplained absences ---------------------------------------------------------------------------

def test_worklist_flags_overdue_and_home_visits(family, people, school_a):
    child, other = family["child"], family["other"]
    # Child: N on Mon 5 Jan (older than 5 school days by Tue 13 Jan) and N Thu 8 – Tue 13 (4 days).
    mark(child, date(2026, 1, 5), "AM", "N", school_a)
    for d in (date(2026, 1, 8), date(2026, 1, 9), MON, TUE):
        mark(child, d, "AM", "N", school_a)
    mark(other, TUE, "AM", "N", school_a)
    rows = {r["pupil"].pk: r for r in selectors.unexplained_worklist(TUE)}
    c, o = rows[child.pk], rows[other.pk]
    assert c["overdue"] and [m.date for m in c["overdue_marks"]] == [date(2026, 1, 5)]
    assert c["days_in_a_row"] == 4 and c["home_visit"]
    assert not o["overdue"] and not o["home_visit"] and o["days_in_a_row"] == 1
    assert [x.forename for x in c["contacts"]] == ["Pat"]
    # Calls without an answer do not stop the home-visit flag; a reason received does.
    services.contact_attempt_add(pupil=child, user=people["office"], outcome="called")
    assert selectors.unexplained_worklist(TUE)[0]["home_visit"]
    services.unexplained_resolve(school=school_a, pupil=child, sessions=[(TUE, "AM")], code="I",
                                 note="Mum rang: tonsillitis", user=people["office"], role=ROLE)
    row = next(r for r in selectors.unexplained_worklist(TUE) if r["pupil"] == child)
    assert not row["home_visit"]
    a = MarkAmendment.objects.get(new_code="I")
    assert a.original_code == "N" and "tonsillitis" in a.reason
    assert ContactAttempt.objects.filter(outcome="reason_received").count() == 1


def test_resolve_only_touches_n_marks(family, people, school_a):
    child = family["child"]
    mark(child, MON, "AM", "/", school_a)
    with pytest.raises(ValidationError) as exc:
        services.unexplained_resolve(school=school_a, pupil=child, sessions=[(MON, "AM")],
                                     code="I", note="x", user=people["office"], role=ROLE)
    assert "sessions" in exc.value.message_dict
    assert codes_of(child) == {(MON, "AM"): "/"} and not ContactAttempt.objects.exists()


def test_presets_load_each_seed_school():
    assert set(presets.PRESETS) == {"beecroft", "cheetwood", "lap", "stlukes", "bankslane"}
    assert presets.PRESETS["stlukes"]["notice_days"] == 14
    assert presets.PRESETS["beecroft"]["notice_months"] == 1


# --- St Luke's attendance floor for performance leave, from the register -------------------------

def _present(pupil, school, days):
    for day in days:
        mark(pupil, day, "AM", "/", school)
        mark(pupil, day, "PM", "\\", school)


def test_st_lukes_preset_sets_the_95_percent_floor(school_a):
    presets.apply("stlukes")
    assert LeavePolicy.objects.get().refuse_if_attendance_below == Decimal("95.0")
    presets.apply("beecroft")
    assert LeavePolicy.objects.get().refuse_if_attendance_below is None


@pytest.mark.parametrize("last_session,passed,after", [
    ("PM", True, "95.0%"),   # 38 present of 40 after granting one day: exactly 95.0%
    ("AM", True, "97.4%"),   # half a day: 38 of 39
])
def test_performance_leave_floor_from_the_register(family, people, school_a, last_session,
                                                    passed, after):
    presets.apply("stlukes")
    child = family["child"]
    days = [d for d in (date(2026, 1, 5) + timedelta(days=i)
                        for i in range(27)) if d.weekday() < 5][:19]
    _present(child, school_a, days)  # 19 days, 38 sessions present: 100%
    _, results = services.leave_preview(
        pupil=child, first_day=date(2026, 2, 23), first_session="AM", last_day=date(2026, 2, 23),
        last_session=last_session, reason="performance", today=date(2026, 2, 2))
    floor = next(r for r in results if r.rule == "attendance_floor")
    assert floor.passed is passed and after in floor.message


def test_performance_leave_below_the_floor_is_recorded_for_the_head(family, people, school_a):
    presets.apply("stlukes")
    child = family["child"]
    days = [date(2026, 1, 5 + i) for i in range(5)] + [date(2026, 1, 12 + i) for i in range(5)]
    _present(child, school_a, days)  # 20 sessions present
    # Three days asked for: 20 of 26 = 76.9%, below 95%. Still sent: the head decides.
    req = submit(child, people["parent"], reason="performance", first_day=date(2026, 3, 2),
                 last_day=date(2026, 3, 4), explanation="Licensed theatre role",
                 today=date(2026, 1, 19))
    floor = next(r for r in req.rule_results if r["rule"] == "attendance_floor")
    assert floor["passed"] is False and "76.9%" in floor["message"]
    assert "attendance_floor" in [r["rule"] for r in req.rules_failed]
    # Other reasons are not subject to it.
    other = submit(child, people["parent"], reason="exceptional", first_day=date(2026, 3, 9),
                   last_day=date(2026, 3, 9), today=date(2026, 1, 19))
    assert "attendance_floor" not in [r["rule"] for r in other.rule_results]


# --- the head hears about a new request ------------------------------------------------------------

def test_new_leave_request_emails_every_head_after_commit(family, people, school_a, school_b,
                                                          mailoutbox,
                                                          django_capture_on_commit_callbacks):
    from tenants.roles import Role
    from tenants.services import person_grant

    people["head"].email = "head@beecroft.example"
    people["head"].save()
    person_grant(username="champion", role=Role.HEAD, school=school_a,
                 email="champion@beecroft.example")
    person_grant(username="b_head", role=Role.HEAD, school=school_b, email="head@b.example")
    people["office"].email = "office-person@beecroft.example"
    people["office"].save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        req = submit(family["child"], people["parent"], first_day=date(2026, 1, 26),
                     last_day=date(2026, 1, 27))
    assert not mailoutbox  # nothing is sent until the request is committed
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["champion@beecroft.example", "head@beecroft.example"]
    assert "Amira Khan" in email.subject and "3B" in email.subject
    assert "Grandmother's funeral" in email.body and "Not enough notice" in email.body
    assert "a.localhost/absences/leave/" in email.body
    assert req.pk


def test_request_without_head_addresses_falls_back_to_the_school(family, people, school_a,
                                                                 mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    from tenants.models import School

    with django_capture_on_commit_callbacks(execute=True):
        submit(family["child"], people["parent"])
    assert not mailoutbox and LeaveRequest.objects.count() == 1  # nobody to tell: still saved
    School.objects.filter(pk=school_a.pk).update(email="office@beecroft.example")
    with django_capture_on_commit_callbacks(execute=True):
        submit(family["child"], people["parent"], first_day=date(2026, 3, 9),
               last_day=date(2026, 3, 9))
    assert [m.to for m in mailoutbox] == [["office@beecroft.example"]]
    School.objects.filter(pk=school_a.pk).update(email="")


def test_a_refused_request_sends_no_head_email(family, people, school_a, mailoutbox,
                                               django_capture_on_commit_callbacks):
    people["head"].email = "head@beecroft.example"
    people["head"].save()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        submit(family["child"], people["parent"], explanation="")
    assert not mailoutbox


# --- the office records an absence a parent phoned in ---------------------------------------------

def phoned(school, pupil, user, **kw):
    args = dict(school=school, pupil=pupil, user=user, role=ROLE, reason="illness", first_day=MON,
                last_day=TUE, caller="Mum, Pat Khan", today=MON)
    args.update(kw)
    return services.absence_report_record(**args)


def test_phoned_absence_is_accepted_and_prefilled(family, people, school_a, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    child = family["child"]
    mark(child, MON, "AM", "N", school_a)   # the register was taken before the call
    mark(child, TUE, "PM", "V", school_a)   # a trip already in the register: left alone
    with django_capture_on_commit_callbacks(execute=True):
        report, result = phoned(school_a, child, people["office"], details="Temperature")
    assert codes_of(child) == {(MON, "AM"): "I", (MON, "PM"): "I", (TUE, "AM"): "I",
                               (TUE, "PM"): "V"}
    assert result["kept"] == [(TUE, "PM", "V")] and len(result["written"]) == 3
    amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code) == ("N", "I")
    assert "Parent phoned (Mum, Pat Khan), taken by Office A" in amendment.reason
    report.refresh_from_db()
    assert (report.status, report.code_applied, report.caller, report.taken_by_name,
            report.handled_by_name, report.reported_by) == (
        "accepted", "I", "Mum, Pat Khan", "Office A", "Office A", None)
    assert report.taken_by == people["office"] and report.by_phone
    msg = PortalMessage.objects.get()
    assert msg.recipient == people["parent"] and "recorded" in msg.body
    assert not mailoutbox  # the office took the call: no email to itself


def test_phoned_other_reason_needs_a_code(family, people, school_a):
    with pytest.raises(ValidationError) as exc:
        phoned(school_a, family["child"], people["office"], reason="other")
    assert "code" in exc.value.message_dict
    assert not AbsenceReport.objects.exists() and not Mark.objects.exists()
    report, _ = phoned(school_a, family["child"], people["office"], reason="other", code="C")
    assert report.code_applied == "C" and set(codes_of(family["child"]).values()) == {"C"}


@pytest.mark.parametrize("kw,field,text", [
    ({"caller": "  "}, "caller", "who phoned"),
    ({"first_day": TUE, "last_day": MON}, "last_day", "before the first day"),
    ({"first_day": date(2026, 1, 17), "last_day": date(2026, 1, 18)}, "first_day",
     "no school sessions"),
    ({"first_day": date(2025, 12, 28), "last_day": MON}, "first_day", "up to 14 days back"),
    ({"reason": "holiday"}, "reason", "Choose a reason"),
    ({"code": "P"}, "code", "Choose the absence code"),
    ({"code": "N"}, "code", "Choose the absence code"),
    ({"last_day": date(2026, 2, 20)}, "last_day", "up to 31 days"),
])
def test_bad_phoned_reports_save_nothing(family, people, school_a, kw, field, text):
    with pytest.raises(ValidationError) as exc:
        phoned(school_a, family["child"], people["office"], **kw)
    assert text in " ".join(exc.value.message_dict[field])
    assert not AbsenceReport.objects.exists() and not Mark.objects.exists()


def test_phoned_two_weeks_back_is_the_limit(family, people, school_a):
    today = date(2026, 1, 26)
    with pytest.raises(ValidationError, match="up to 14 days back"):
        phoned(school_a, family["child"], people["office"], first_day=date(2026, 1, 11),
               last_day=MON, today=today)
    report, _ = phoned(school_a, family["child"], people["office"], first_day=MON,
                       last_day=MON, today=today)  # exactly 14 days back
    assert report.status == "accepted"


def test_phoned_overlapping_a_parents_report_is_refused(family, people, school_a):
    child = family["child"]
    parents = report(school_a, child, people["parent"], first_day=TUE, last_day=WED)
    with pytest.raises(ValidationError, match="accept or query that report"):
        phoned(school_a, child, people["office"])
    assert AbsenceReport.objects.get() == parents and not Mark.objects.exists()
    # A queried report does not stand in the way.
    services.absence_report_query(report=parents, user=people["office"], message="Which days?")
    assert phoned(school_a, child, people["office"])[0].status == "accepted"


def test_phoned_pupil_not_on_roll_is_refused(family, people, school_a, make_pupil):
    left = make_pupil(legal_forename="Gone", serial=790, leaving=date(2026, 1, 9))
    with pytest.raises(ValidationError, match="not on roll"):
        phoned(school_a, left, people["office"])
    assert not AbsenceReport.objects.exists()
