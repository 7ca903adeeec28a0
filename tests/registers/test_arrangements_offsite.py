"""Off-site provision and dual registration (issue 13 item 3, registers.arrangements).

domain.md §1: "off-site provision (B, K; D for dual registration) are records with dates, not
just codes". §2: "K | attending education provision arranged by the local authority | approved
educational activity (counts as attended)"; "B | attending any other approved educational
activity"; "D | dual registered, attending the other school | not a possible attendance".

The sessions a pupil spends at the provider are pre-filled with the provision's code like C2
and X (never turned present by "Mark all remaining present"), and the office confirms each
session afterwards from what the provider reports. Tuesday 6 January 2026 is "today".
"""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from registers import arrangements
from registers.arrangements import ArrangementError, ProvisionDraft
from registers.models import Mark, MarkAmendment, OffSiteProvision, ProviderReport, RegistrationGroup
from registers.services import Entry, RegisterError, marks_save
from tests.conftest import client_for
from tests.factories import MarkFactory

MONDAY, TODAY, WEDNESDAY, THURSDAY = (date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7),
                                      date(2026, 1, 8))


@pytest.fixture
def year9(calendar, make_pupil, people):
    """Class 9C: Kai at the LA's pupil referral unit on Tuesday and Thursday afternoons (K);
    Dana dual registered at a special school on Monday mornings (D); Amy at school full time."""
    kai = make_pupil(group="9C", year_group=9, admission=date(2025, 9, 1), legal_forename="Kai",
                     date_of_birth=date(2012, 3, 1))
    dana = make_pupil(group="9C", year_group=9, admission=date(2025, 9, 1),
                      legal_forename="Dana", date_of_birth=date(2012, 4, 1))
    amy = make_pupil(group="9C", year_group=9, admission=date(2025, 9, 1), legal_forename="Amy",
                     date_of_birth=date(2012, 5, 1))
    RegistrationGroup.objects.get(name="9C").teachers.add(people["teacher"])
    k = arrangements.offsite_record(pupil=kai, draft=provision(), user=people["office"])
    d = arrangements.offsite_record(pupil=dana, draft=provision(
        provider="Oak Special School", code="D", sessions=["MON-AM"],
        reason="Dual registered: EHC plan names Oak for Monday mornings"), user=None)
    return {"kai": kai, "dana": dana, "amy": amy, "k": k, "d": d,
            "group": kai.registration_group}


def provision(**kw) -> ProvisionDraft:
    d = dict(provider="Bridge Pupil Referral Unit", provider_contact="Ms Reed, 0161 000 0000",
             code="K", sessions=["TUE-PM", "THU-PM"], start_date=MONDAY,
             reason="LA-arranged alternative provision: vocational course")
    d.update(kw)
    return ProvisionDraft(**d)


def code(pupil, day, session):
    m = Mark.objects.filter(pupil=pupil, date=day, session=session).first()
    return m.code if m else None


def row(page, pupil):
    return next(r for r in page.context["rows"] if r["pupil"].pk == pupil.pk)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: THURSDAY)
    return THURSDAY


def test_provider_sessions_take_the_provision_code(year9):
    kai, dana = year9["kai"].pk, year9["dana"].pk
    assert arrangements.planned_codes([kai], TODAY, "PM")[kai].code == "K"
    assert arrangements.planned_codes([kai], TODAY, "PM")[kai].why == "At Bridge Pupil Referral Unit"
    assert arrangements.planned_codes([kai], TODAY, "AM") == {}
    assert arrangements.planned_codes([kai], WEDNESDAY, "PM") == {}
    assert arrangements.planned_codes([dana], MONDAY, "AM")[dana].code == "D"
    assert arrangements.planned_codes([dana], MONDAY, "PM") == {}
    # Before the provision starts, nothing.
    assert arrangements.planned_codes([kai], date(2025, 12, 16), "PM") == {}


def test_register_pre_fills_k_and_mark_all_present_leaves_it(year9, people, clock):
    clock(TODAY, 13, 20)  # the PM register is open
    c = client_for(people["teacher"])
    url = f"/register/{year9['group'].pk}/{TODAY}/PM/"
    page = c.get(url)
    assert row(page, year9["kai"])["code"] == "K" and row(page, year9["amy"])["code"] == ""
    assert b'data-planned="K"' in page.content and b"At Bridge Pupil Referral Unit" in page.content
    c.post(url, {"all_present": "1"})
    assert code(year9["kai"], TODAY, "PM") is None and code(year9["amy"], TODAY, "PM") == "\\"


def test_provider_session_wins_over_a_part_time_timetable(year9):
    """A session at the provider is where the pupil is, not a part-time C2."""
    arrangements.part_time_record(pupil=year9["kai"], draft=arrangements.TimetableDraft(
        start_date=MONDAY, planned_end=date(2026, 2, 6), sessions=["MON-AM", "TUE-AM"],
        reason="Reintegration", parent_agreed_on=MONDAY, review_dates=[date(2026, 1, 20)]),
        user=None)
    kai = year9["kai"].pk
    assert arrangements.planned_codes([kai], TODAY, "PM")[kai].code == "K"
    assert arrangements.planned_codes([kai], WEDNESDAY, "PM")[kai].code == "C2"


def test_office_enters_provider_codes_ahead_but_a_teacher_cannot(year9, people, clock):
    clock(TODAY, 8, 30)
    r = client_for(people["office"]).post(f"/office/{THURSDAY}/PM/arrangements/")
    assert r.status_code == 302
    assert code(year9["kai"], THURSDAY, "PM") == "K" and code(year9["amy"], THURSDAY, "PM") is None
    with pytest.raises(RegisterError):
        marks_save(school=connection.tenant, day=THURSDAY, session="PM",
                   pupils=[year9["amy"]], entries=[Entry(year9["amy"].pk, "B")],
                   user=people["teacher"], role="Teacher")


@pytest.mark.parametrize("change, problem", [
    ({"provider": " "}, "Name the provider"),
    ({"provider_contact": ""}, "contact"),
    ({"code": "V"}, "B, K or D"),
    ({"sessions": []}, "at least one session"),
    ({"reason": ""}, "reason"),
    ({"end_date": date(2025, 12, 1)}, "ends before it starts"),
    ({"sessions": ["THU-PM", "FRI-AM"]}, "already at Bridge"),
])
def test_provision_needs_its_details_and_one_place_per_session(year9, change, problem):
    before = OffSiteProvision.objects.count()
    with pytest.raises(ArrangementError, match=problem):
        arrangements.offsite_record(pupil=year9["kai"], draft=provision(**change), user=None)
    assert OffSiteProvision.objects.count() == before


def test_a_second_provider_on_other_sessions_is_allowed_and_ending_stops_it(year9):
    arrangements.offsite_record(pupil=year9["kai"], draft=provision(
        provider="College", code="B", sessions=["FRI-AM"]), user=None)
    arrangements.offsite_end(provision=year9["k"], on=TODAY)
    kai = year9["kai"].pk
    assert arrangements.planned_codes([kai], TODAY, "PM")[kai].code == "K"
    assert arrangements.planned_codes([kai], THURSDAY, "PM") == {}
    assert arrangements.planned_codes([kai], date(2026, 1, 9), "AM")[kai].code == "B"


def test_confirm_list_lists_due_sessions_in_few_queries(year9, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        rows = arrangements.sessions_to_confirm(date_from=MONDAY, date_to=THURSDAY)
    assert [(r.provision.pupil.legal_forename, r.day, r.session) for r in rows] == [
        ("Dana", MONDAY, "AM"), ("Kai", TODAY, "PM"), ("Kai", THURSDAY, "PM")]


def test_office_confirms_attended_and_corrects_a_missed_session(year9, people, clock, today):
    """Attended: K entered where the register was empty. Missed: the pre-filled K becomes the
    code the provider's report supports, as an amendment naming the provider."""
    clock(THURSDAY, 16, 0)
    MarkFactory(pupil=year9["kai"], date=THURSDAY, session="PM", code="K")
    c = client_for(people["office"])
    page = c.get("/off-site/confirm/")
    keys = [r.key for r in page.context["rows"]]
    assert len(keys) == 3 and b"Bridge Pupil Referral Unit" in page.content
    tue, thu = f"{year9['k'].pk}-20260106-PM", f"{year9['k'].pk}-20260108-PM"
    r = c.post("/off-site/confirm/", {f"outcome-{tue}": "attended",
                                      f"outcome-{thu}": "missed", f"code-{thu}": "I",
                                      f"note-{thu}": "Ms Reed: ill, mother phoned the unit"})
    assert r.status_code == 302
    assert code(year9["kai"], TODAY, "PM") == "K" and code(year9["kai"], THURSDAY, "PM") == "I"
    amendment = MarkAmendment.objects.get(pupil=year9["kai"], date=THURSDAY)
    assert (amendment.original_code, amendment.new_code) == ("K", "I")
    assert amendment.reason.startswith("Provider Bridge Pupil Referral Unit reported: not attended")
    assert set(ProviderReport.objects.values_list("date", "attended", "code")) == {
        (TODAY, True, "K"), (THURSDAY, False, "I")}
    # Confirmed sessions leave the list; Dana's Monday morning remains.
    assert [r.provision.pupil_id for r in c.get("/off-site/confirm/").context["rows"]] == [
        year9["dana"].pk]


def test_missed_needs_an_absence_code_and_nothing_is_recorded(year9, people, clock):
    clock(THURSDAY, 16, 0)
    with pytest.raises(ArrangementError, match="Choose the code"):
        arrangements.provider_report_record(
            school=connection.tenant, provision=year9["k"], day=TODAY, session="PM",
            attended=False, code="K", user=people["office"], role="Office")
    with pytest.raises(ArrangementError, match="not due at the provider"):
        arrangements.provider_report_record(
            school=connection.tenant, provision=year9["k"], day=TODAY, session="AM",
            attended=True, user=people["office"], role="Office")
    assert not ProviderReport.objects.exists() and code(year9["kai"], TODAY, "PM") is None


def test_a_teacher_cannot_confirm_provider_attendance(year9, people, clock):
    clock(THURSDAY, 16, 0)
    with pytest.raises(ArrangementError):
        arrangements.provider_report_record(
            school=connection.tenant, provision=year9["k"], day=TODAY, session="PM",
            attended=True, user=people["teacher"], role="Teacher", roles={"teacher"})
    assert not ProviderReport.objects.exists()
    assert client_for(people["teacher"]).get("/off-site/confirm/").status_code == 403


def test_provider_reports_are_append_only(year9, people, clock):
    clock(THURSDAY, 16, 0)
    arrangements.provider_report_record(school=connection.tenant, provision=year9["k"],
                                        day=TODAY, session="PM", attended=True,
                                        user=people["office"], role="Office")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE registers_providerreport SET code = 'N'")


def test_record_page_and_list(year9, people, today):
    c = client_for(people["office"])
    r = c.post(f"/pupils/{year9['amy'].pk}/off-site/", {
        "provider": "Riverside College", "provider_contact": "Mr Lee, lee@example.org",
        "code": "B", "sessions": ["WED-AM", "WED-PM"], "start_date": "2026-01-07",
        "reason": "Vocational course the school arranged"})
    assert r.status_code == 302
    assert arrangements.planned_codes([year9["amy"].pk], WEDNESDAY, "PM")[year9["amy"].pk].code == "B"
    listing = c.get("/off-site/")
    assert b"Riverside College" in listing.content and b"Bridge Pupil Referral Unit" in listing.content
    bad = c.post(f"/pupils/{year9['amy'].pk}/off-site/", {
        "provider": "Riverside College", "provider_contact": "x", "code": "B",
        "sessions": ["WED-AM"], "start_date": "2026-01-07", "reason": "again"})
    assert bad.status_code == 200 and b"already at Riverside College" in bad.content


def test_dual_registered_pupil_missing_the_other_school_keeps_d(year9, people, clock):
    """domain.md §2: "D | dual registered, attending the other school | not a possible
    attendance": the other school records the absence; here D stands and the report is kept."""
    clock(THURSDAY, 16, 0)
    report = arrangements.provider_report_record(
        school=connection.tenant, provision=year9["d"], day=MONDAY, session="AM",
        attended=False, code="N", note="Oak: absent, no reason", user=people["office"],
        role="Office")
    assert (report.attended, report.code) == (False, "D")
    assert code(year9["dana"], MONDAY, "AM") == "D"
