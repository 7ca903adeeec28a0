"""Issue 14 item 3: "Reports for today are accepted after the register closes (for the
afternoon, or 'arrived late because…'); the office sees them flagged as late reports."

docs/domain.md section 1: "Each school sets, per session: when the register opens, when
'late' starts (after this the mark is L, present but late), and when the register closes
(after this the mark is U ...). Minutes late are recorded." The test school is given the
School model's default times: the morning register opens 08:45, late after 08:55, closes
09:15; the afternoon opens 13:15, late after 13:20, closes 13:45.
"""

from datetime import datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from absences import services
from absences.models import AbsenceReport, PortalMessage
from registers.models import Mark, MarkAmendment
from tests.conftest import client_for

from .test_language import speaks
from .test_services import LONDON, ROLE, TUE, at, mark

URL = "/absences/children/{pk}/report/"
TIMES = dict(am_open=time(8, 45), am_late_after=time(8, 55), am_close=time(9, 15),
             pm_open=time(13, 15), pm_late_after=time(13, 20), pm_close=time(13, 45))


@pytest.fixture(autouse=True)
def register_times(school_a):
    from tenants.models import School

    School.objects.filter(pk=school_a.pk).update(**TIMES)
    for name, value in TIMES.items():
        setattr(school_a, name, value)


@pytest.fixture
def clock(monkeypatch):
    """Set "now" for the views (the services take ``now`` directly)."""

    def set_to(hh, mm, day=TUE):
        fixed = datetime.combine(day, time(hh, mm), tzinfo=LONDON)
        monkeypatch.setattr(timezone, "now", lambda: fixed)

    return set_to


def late(school, family, people, hhmm, now=(9, 30), because="The bus broke down", **kw):
    return services.late_arrival_report_create(
        school=school, pupil=family["child"], user=people["parent"], arrived_at=time(*hhmm),
        because=because, now=at(TUE, *now), **kw)


def accept(school, report, people, code=""):
    return services.absence_report_accept(school=school, report=report, user=people["office"],
                                          role=ROLE, code=code)


def post_late(client, child, arrived_at, because="The bus broke down", **extra):
    return client.post(URL.format(pk=child.pk), {
        "reason": "late_arrival", "arrived_at": arrived_at, "late_because": because,
        "first_day": TUE.isoformat(), "first_session": "AM", "last_day": TUE.isoformat(),
        "last_session": "PM", **extra})


# --- the parent's report and the office's inbox (through the pages) -------------------------

def test_parent_reports_arriving_at_0925_and_the_office_accepts_it_as_u_with_minutes(
        family, people, school_a, clock):
    clock(9, 40)
    child = family["child"]
    parent = client_for(people["parent"])
    form = parent.get(URL.format(pk=child.pk)).content.decode()
    assert 'value="late_arrival"' in form and "Arrived late" in form
    assert 'type="time" name="arrived_at"' in form
    r = post_late(parent, child, "09:25")
    assert r.status_code == 302
    report = AbsenceReport.objects.get()
    # 09:25 is after the register closed at 09:15: U, 30 minutes after "late" started at 08:55.
    assert (report.reason, report.first_day, report.first_session, report.last_session) == (
        "late_arrival", TUE, "AM", "AM")
    assert (report.arrived_at, report.minutes_late, report.arrival_code) == (time(9, 25), 30, "U")
    assert report.details == "The bus broke down" and not report.late

    office = client_for(people["office"])
    inbox = office.get("/absences/inbox/").content.decode()
    assert "Late arrival, not an absence" in inbox
    assert "Arrived late at 09:25" in inbox and "30 minutes late" in inbox
    assert "after the register closed: suggested U" in inbox
    assert "expected back" not in inbox  # an arrival is not shown as an absence with a return date
    assert '<option value="U" selected>U' in inbox  # the suggestion is preselected
    r = office.post(f"/absences/reports/{report.pk}/accept/", {f"r{report.pk}-code": "U"})
    assert r.status_code == 302
    m = Mark.objects.get(pupil=child, date=TUE, session="AM")
    assert (m.code, m.minutes_late) == ("U", 30)
    report.refresh_from_db()
    assert (report.status, report.code_applied) == ("accepted", "U")
    msg = PortalMessage.objects.get(pupil=child)
    assert "arrived late at 09:25" in msg.body and msg.subject == "Late arrival report accepted: Amira"


def test_before_the_register_closed_the_suggestion_is_l_and_an_n_is_amended(family, people, school_a):
    # The teacher marked N at 08:50; the child came in at 09:05 (before 09:15): L, 10 minutes.
    mark(family["child"], TUE, "AM", "N", school_a)
    report = late(school_a, family, people, (9, 5), now=(9, 20))
    assert (report.arrival_code, report.minutes_late, report.suggested_code) == ("L", 10, "L")
    result = accept(school_a, report, people)
    assert result["written"] == [(TUE, "AM")]
    m = Mark.objects.get(pupil=family["child"], date=TUE, session="AM")
    assert (m.code, m.minutes_late) == ("L", 10)
    amendment = MarkAmendment.objects.get(pupil=family["child"], date=TUE, session="AM")
    assert (amendment.original_code, amendment.new_code, amendment.new_minutes_late) == ("N", "L", 10)
    assert "late arrival at 09:05" in amendment.reason and "bus" in amendment.reason


def test_the_office_can_choose_another_code(family, people, school_a):
    # A dental appointment made the child late: the office records M instead of U.
    report = late(school_a, family, people, (10, 30), now=(10, 45), because="Dentist at 9")
    accept(school_a, report, people, code="M")
    m = Mark.objects.get(pupil=family["child"], date=TUE, session="AM")
    assert (m.code, m.minutes_late) == ("M", None)
    # An ordinary absence report may still not be accepted as L or U.
    AbsenceReport.objects.all().delete()
    Mark.objects.all().delete()
    ill = services.absence_report_create(school=school_a, pupil=family["child"], user=people["parent"],
                                         reason="illness", first_day=TUE, last_day=TUE,
                                         now=at(TUE, 8, 0))
    with pytest.raises(ValidationError):
        accept(school_a, ill, people, code="L")


def test_a_teachers_mark_already_there_is_kept(family, people, school_a):
    # The teacher already recorded the arrival as U: accepting keeps that mark.
    mark(family["child"], TUE, "AM", "U", school_a)
    report = late(school_a, family, people, (9, 25))
    result = accept(school_a, report, people)
    assert result["written"] == [] and result["kept"] == []
    assert Mark.objects.get(pupil=family["child"], date=TUE, session="AM").code == "U"


def test_an_afternoon_late_arrival_counts_from_the_afternoon_times(family, people, school_a):
    report = late(school_a, family, people, (13, 30), now=(14, 0))
    assert (report.first_session, report.minutes_late, report.arrival_code) == ("PM", 10, "L")
    AbsenceReport.objects.all().delete()
    report = late(school_a, family, people, (14, 5), now=(14, 10))
    assert (report.first_session, report.minutes_late, report.arrival_code) == ("PM", 45, "U")


def test_accepted_after_the_afternoon_register_closed(family, people, school_a):
    # The evening: still accepted (the arrival is in the past), unlike an absence for today.
    report = late(school_a, family, people, (9, 25), now=(18, 0))
    assert report.arrival_code == "U"


# --- invalid times are form errors, never a 500 ---------------------------------------------

@pytest.mark.parametrize("hhmm, now, field, words", [
    ((9, 50), (9, 40), "arrived_at", "later than now (09:40)"),
    ((8, 50), (9, 40), "arrived_at", "only after 08:55"),
    ((8, 55), (9, 40), "arrived_at", "only after 08:55"),
    ((7, 0), (9, 40), "arrived_at", "only after 08:55"),
    ((13, 18), (14, 0), "arrived_at", "in time for the afternoon register"),
])
def test_arrival_times_that_cannot_be_a_late_arrival(family, people, school_a, hhmm, now, field,
                                                      words):
    with pytest.raises(ValidationError) as exc:
        late(school_a, family, people, hhmm, now=now)
    assert words in " ".join(exc.value.message_dict[field])
    assert not AbsenceReport.objects.exists()


def test_missing_time_or_reason_and_another_day_are_refused(family, people, school_a):
    with pytest.raises(ValidationError) as exc:
        services.late_arrival_report_create(
            school=school_a, pupil=family["child"], user=people["parent"], arrived_at=None,
            because="  ", day=TUE.replace(day=14), now=at(TUE, 9, 30))
    errors = exc.value.message_dict
    assert set(errors) == {"arrived_at", "late_because", "first_day"}
    assert "only be reported on the day" in errors["first_day"][0]


def test_not_on_a_day_without_school_and_not_twice(family, people, school_a):
    from datetime import date

    saturday = date(2026, 1, 17)
    with pytest.raises(ValidationError) as exc:
        services.late_arrival_report_create(
            school=school_a, pupil=family["child"], user=people["parent"], arrived_at=time(9, 25),
            because="Bus", now=datetime.combine(saturday, time(9, 30), tzinfo=LONDON))
    assert "not a school day" in str(exc.value)
    late(school_a, family, people, (9, 25))
    with pytest.raises(ValidationError) as exc:
        late(school_a, family, people, (9, 26))
    assert "already told the school" in str(exc.value)


@pytest.mark.parametrize("arrived_at, words", [
    ("09:50", "later than now (09:40)"),
    ("08:30", "only after 08:55"),
    ("25:99", "hours and minutes"),
    ("soon", "hours and minutes"),
    ("", "Give the time Amira arrived at school"),
])
def test_the_form_shows_a_clear_error(family, people, school_a, clock, arrived_at, words):
    clock(9, 40)
    r = post_late(client_for(people["parent"]), family["child"], arrived_at)
    assert r.status_code == 200
    assert words in r.content.decode()
    assert not AbsenceReport.objects.exists()


def test_the_form_wants_a_reason_and_today(family, people, school_a, clock):
    clock(9, 40)
    parent = client_for(people["parent"])
    r = post_late(parent, family["child"], "09:25", because="")
    assert r.status_code == 200 and "Tell the school why Amira arrived late." in r.content.decode()
    r = post_late(parent, family["child"], "09:25", first_day="2026-01-20")
    assert r.status_code == 200 and "only be reported on the day" in r.content.decode()
    # With no dates at all a late arrival is still today's.
    r = parent.post(URL.format(pk=family["child"].pk), {
        "reason": "late_arrival", "arrived_at": "09:25", "late_because": "Bus",
        "first_session": "AM", "last_session": "PM"})
    assert r.status_code == 302 and AbsenceReport.objects.get().first_day == TUE
    # An absence still needs its dates.
    AbsenceReport.objects.all().delete()
    r = parent.post(URL.format(pk=family["child"].pk), {
        "reason": "illness", "first_session": "AM", "last_session": "PM"})
    assert r.status_code == 200 and not AbsenceReport.objects.exists()


def test_the_office_cannot_record_a_phoned_late_arrival_as_an_absence(family, people, school_a):
    with pytest.raises(ValidationError) as exc:
        services.absence_report_record(
            school=school_a, pupil=family["child"], user=people["office"], role=ROLE,
            reason="late_arrival", first_day=TUE, last_day=TUE, caller="Mum", today=TUE)
    assert "reason" in exc.value.message_dict


def test_another_familys_child_cannot_be_reported_late(family, people, school_a, clock):
    clock(9, 40)
    r = post_late(client_for(people["parent"]), family["other"], "09:25")
    assert r.status_code == 404 and not AbsenceReport.objects.exists()


# --- in the family's language ----------------------------------------------------------------

def test_a_polish_speaking_parent_sees_the_choice_in_polish(family, people, school_a, clock):
    clock(9, 40)
    speaks(family["child"], "pl")
    parent = client_for(people["parent"])
    parent.post("/absences/language/", {"language": "pl", "next": "/absences/"})
    page = parent.get(URL.format(pk=family["child"].pk)).content.decode()
    assert "Spóźnienie (dziecko przyszło później)" in page
    assert "Spóźnienie: godzina, o której dziecko przyszło (GG:MM)" in page
    assert "Spóźnienie: dlaczego dziecko się spóźniło?" in page
    r = post_late(parent, family["child"], "09:50")
    assert "jest późniejsza niż teraz (09:40)" in r.content.decode()
    r = post_late(parent, family["child"], "09:25")
    assert r.status_code == 302
    report = AbsenceReport.objects.get()
    accept(school_a, report, people)
    msg = PortalMessage.objects.get(pupil=family["child"])
    assert msg.subject == "Zgłoszenie spóźnienia przyjęte: Amira" and "09:25" in msg.body


def test_the_register_proposes_the_late_code_with_the_minutes(family, people, school_a, clock):
    # A register not yet taken when the parent reported: the row proposes U and 30 minutes.
    clock(9, 40)
    late(school_a, family, people, (9, 25), now=(9, 30))
    child = family["child"]
    page = client_for(people["office"]).get(
        f"/register/{child.registration_group_id}/{TUE.isoformat()}/AM/").content.decode()
    assert "Parent reported: Arrived late (U, proposed)" in page
    assert f'name="minutes-{child.pk}" id="minutes-{child.pk}" value="30"' in page


def test_after_a_late_morning_the_afternoon_can_still_be_reported_absent(family, people, school_a):
    # Came in at 09:25, went home ill at lunch: the afternoon absence is its own report.
    late(school_a, family, people, (9, 25), now=(11, 0))
    pm = services.absence_report_create(school=school_a, pupil=family["child"], user=people["parent"],
                                        reason="illness", first_day=TUE, first_session="PM",
                                        last_day=TUE, now=at(TUE, 12, 0))
    assert pm.first_session == "PM"
    # But the morning it covers cannot also be reported as an absence.
    AbsenceReport.objects.filter(pk=pm.pk).delete()
    with pytest.raises(ValidationError) as exc:
        services.absence_report_create(school=school_a, pupil=family["child"], user=people["parent"],
                                       reason="illness", first_day=TUE, last_day=TUE,
                                       now=at(TUE, 9, 0))
    assert "already reported" in str(exc.value)
