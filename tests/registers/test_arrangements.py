"""A pupil's arrangements (registers.arrangements): nursery session patterns propose X, part-time
timetables propose C2, "Mark all remaining present" leaves both alone, reviews reach the queue
and an overrun is flagged.

The clock is set on the test term (tests/registers/conftest.py): Tuesday 6 January 2026.
"""

import csv
import io
from datetime import date

import pytest

from registers import arrangements, policy
from registers.arrangements import ArrangementError, TimetableDraft
from registers.models import Mark, PartTimeTimetable, RegistrationGroup, SessionPattern
from registers.services import Entry, RegisterError, marks_save
from tests.conftest import client_for

TODAY = date(2026, 1, 6)      # Tuesday
TOMORROW = date(2026, 1, 7)
MORNINGS = ["MON-AM", "TUE-AM", "WED-AM", "THU-AM", "FRI-AM"]


@pytest.fixture
def nursery(calendar, make_pupil, people):
    """Nursery class N with Nia (3, five mornings) and Noah (3, no pattern); a_teacher's class."""
    nia = make_pupil(group="N", year_group=-1, admission=date(2025, 9, 1), legal_forename="Nia",
                     date_of_birth=date(2022, 5, 1))
    noah = make_pupil(group="N", year_group=-1, admission=date(2025, 9, 1),
                      legal_forename="Noah", date_of_birth=date(2022, 6, 1))
    RegistrationGroup.objects.get(name="N").teachers.add(people["teacher"])
    arrangements.session_pattern_set(pupil=nia, label="15 hours: five mornings",
                                     sessions=MORNINGS, start_date=date(2025, 9, 1))
    return {"nia": nia, "noah": noah, "group": nia.registration_group}


@pytest.fixture
def year3(calendar, make_pupil, people):
    tom = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Tom")
    amy = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Amy")
    RegistrationGroup.objects.get(name="3B").teachers.add(people["teacher"])
    return {"tom": tom, "amy": amy, "group": tom.registration_group}


def draft(**kw) -> TimetableDraft:
    d = dict(start_date=date(2026, 1, 5), planned_end=date(2026, 2, 6), sessions=MORNINGS,
             reason="Anxiety after a bereavement: building back up", review_dates=[TODAY],
             parent_agreed_on=date(2026, 1, 2))
    d.update(kw)
    return TimetableDraft(**d)


def code(pupil, day, session):
    m = Mark.objects.filter(pupil=pupil, date=day, session=session).first()
    return m.code if m else None


def row(page, pupil):
    return next(r for r in page.context["rows"] if r["pupil"].pk == pupil.pk)


# --- nursery patterns --------------------------------------------------------------------

def test_five_mornings_pattern_proposes_x_every_afternoon_only(nursery):
    nia = nursery["nia"]
    for day in (date(2026, 1, 5), TODAY, date(2026, 1, 9)):
        assert arrangements.planned_codes([nia.pk], day, "PM")[nia.pk].code == "X"
        assert arrangements.planned_codes([nia.pk], day, "AM") == {}
    assert arrangements.planned_codes([nursery["noah"].pk], TODAY, "PM") == {}


def test_register_shows_x_and_mark_all_present_leaves_it(nursery, people, clock):
    clock(TODAY, 13, 20)  # the PM register is open
    c = client_for(people["teacher"])
    url = f"/register/{nursery['group'].pk}/{TODAY}/PM/"
    page = c.get(url)
    assert row(page, nursery["nia"])["code"] == "X" and row(page, nursery["noah"])["code"] == ""
    assert b'data-planned="X"' in page.content and b"Not required this session" in page.content
    # Without the script the select posts nothing for Nia: the bulk action still skips her.
    r = c.post(url, {"all_present": "1", f"base-{nursery['nia'].pk}": "",
                     f"base-{nursery['noah'].pk}": ""})
    assert r.status_code == 302
    assert code(nursery["noah"], TODAY, "PM") == "\\"  # present, PM
    assert code(nursery["nia"], TODAY, "PM") is None
    # As the page posts it (X selected), X is saved.
    c.post(url, {f"code-{nursery['nia'].pk}": "X", f"base-{nursery['nia'].pk}": ""})
    assert code(nursery["nia"], TODAY, "PM") == "X"


def test_morning_register_has_no_proposal_and_mark_all_marks_her(nursery, people, clock):
    clock(TODAY, 8, 50)
    c = client_for(people["teacher"])
    url = f"/register/{nursery['group'].pk}/{TODAY}/AM/"
    assert row(c.get(url), nursery["nia"])["code"] == ""
    c.post(url, {"all_present": "1"})
    assert code(nursery["nia"], TODAY, "AM") == "/"


def test_pattern_refused_for_a_pupil_of_compulsory_school_age(year3):
    with pytest.raises(ArrangementError, match="compulsory school age"):
        arrangements.session_pattern_set(pupil=year3["tom"], label="Mornings",
                                         sessions=MORNINGS, start_date=TODAY)
    assert not SessionPattern.objects.exists()


def test_a_new_pattern_ends_the_previous_one(nursery):
    nia = nursery["nia"]
    arrangements.session_pattern_set(pupil=nia, label="30 hours", sessions=MORNINGS + [
        "MON-PM", "TUE-PM", "WED-PM", "THU-PM", "FRI-PM"], start_date=TODAY)
    assert arrangements.planned_codes([nia.pk], TODAY, "PM") == {}
    assert arrangements.planned_codes([nia.pk], date(2026, 1, 5), "PM")[nia.pk].code == "X"


def test_pattern_page_records_sessions(nursery, people):
    c = client_for(people["office"])
    r = c.post(f"/pupils/{nursery['noah'].pk}/pattern/", {
        "label": "Afternoons Monday to Wednesday", "sessions": ["MON-PM", "TUE-PM", "WED-PM"],
        "start_date": "2026-01-05"})
    assert r.status_code == 302
    assert arrangements.planned_codes([nursery["noah"].pk], TODAY, "AM")[nursery["noah"].pk].code == "X"
    assert arrangements.planned_codes([nursery["noah"].pk], TODAY, "PM") == {}


# --- part-time timetables ----------------------------------------------------------------

def test_part_time_timetable_proposes_c2_and_mark_all_present_leaves_it(year3, people, clock):
    arrangements.part_time_record(pupil=year3["tom"], draft=draft(), user=people["attendance_officer"])
    clock(TODAY, 13, 20)
    c = client_for(people["teacher"])
    url = f"/register/{year3['group'].pk}/{TODAY}/PM/"
    page = c.get(url)
    assert row(page, year3["tom"])["code"] == "C2" and b"Part-time timetable" in page.content
    c.post(url, {"all_present": "1"})
    assert code(year3["tom"], TODAY, "PM") is None and code(year3["amy"], TODAY, "PM") == "\\"
    # Mornings are attended: nothing proposed.
    assert arrangements.planned_codes([year3["tom"].pk], TODAY, "AM") == {}


def test_timetable_stops_proposing_once_ended(year3, people):
    t, _ = arrangements.part_time_record(pupil=year3["tom"], draft=draft(), user=None)
    arrangements.part_time_end(timetable=t, on=TODAY)
    assert arrangements.planned_codes([year3["tom"].pk], TODAY, "PM")[year3["tom"].pk].code == "C2"
    assert arrangements.planned_codes([year3["tom"].pk], TOMORROW, "PM") == {}


def test_overrun_is_flagged_after_the_planned_end(year3, people, clock):
    arrangements.part_time_record(pupil=year3["tom"], draft=draft(
        start_date=date(2025, 11, 3), planned_end=date(2025, 12, 12),
        review_dates=[date(2025, 11, 17)]), user=None)
    p = arrangements.planned_codes([year3["tom"].pk], TODAY, "PM")[year3["tom"].pk]
    assert p.code == "C2" and p.overrun
    assert [t.pupil_id for t in arrangements.overruns(TODAY)] == [year3["tom"].pk]
    assert arrangements.overruns(date(2025, 12, 12)) == []
    clock(TODAY, 13, 20)
    page = client_for(people["teacher"]).get(f"/register/{year3['group'].pk}/{TODAY}/PM/")
    assert b"Past its planned end" in page.content
    listing = client_for(people["office"]).get("/part-time/")
    assert b"Overrun" in listing.content


def test_review_due_appears_in_the_queue_until_held(year3, people):
    t, _ = arrangements.part_time_record(pupil=year3["tom"], draft=draft(
        review_dates=[date(2026, 1, 5), date(2026, 1, 30)]), user=None)
    assert [r.timetable_id for r in arrangements.reviews_due(TODAY)] == [t.pk]
    assert arrangements.reviews_due(date(2026, 1, 4)) == []
    c = client_for(people["attendance_officer"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
        page = c.get("/escalation/")
        assert b"part-time-queue" in page.content and b"Review due" in page.content
        assert year3["tom"].display_name.encode() in page.content
        c.post(f"/part-time/{t.pk}/", {"action": "review"})
        assert arrangements.reviews_due(TODAY) == []
        assert b"part-time-queue" not in c.get("/escalation/").content


@pytest.mark.parametrize("change, problem", [
    ({"parent_agreed_on": None}, "parent's agreement"),
    ({"review_dates": []}, "review"),
    ({"review_dates": [date(2026, 6, 1)]}, "between the start"),
    ({"sessions": []}, "at least one session"),
    ({"planned_end": date(2026, 1, 1)}, "before the start"),
])
def test_timetable_needs_its_safeguards(year3, change, problem):
    with pytest.raises(ArrangementError, match=problem):
        arrangements.part_time_record(pupil=year3["tom"], draft=draft(**change), user=None)
    assert not PartTimeTimetable.objects.exists()


def test_ehcp_and_social_worker_pupils_need_the_la_and_social_worker(year3):
    tom = year3["tom"]
    tom.sen_status, tom.social_worker = "E", True
    tom.save()
    with pytest.raises(ArrangementError) as exc:
        arrangements.part_time_record(pupil=tom, draft=draft(), user=None)
    assert any("social worker" in p for p in exc.value.problems)
    assert any("EHC plan" in p for p in exc.value.problems)
    arrangements.part_time_record(pupil=tom, draft=draft(
        social_worker_informed_on=TODAY, la_consulted_on=TODAY), user=None)


def test_longer_than_six_weeks_warns_and_overlap_is_refused(year3):
    _, warnings = arrangements.part_time_record(pupil=year3["tom"], draft=draft(
        planned_end=date(2026, 3, 6)), user=None)
    assert warnings and "6 weeks" in warnings[0]
    with pytest.raises(ArrangementError, match="already has a part-time timetable"):
        arrangements.part_time_record(pupil=year3["tom"], draft=draft(), user=None)
    _, none = arrangements.part_time_record(pupil=year3["amy"], draft=draft(), user=None)
    assert none == []


def test_attendance_lead_records_a_timetable_through_the_page(year3, people):
    c = client_for(people["attendance_officer"])
    r = c.post(f"/pupils/{year3['tom'].pk}/part-time/", {
        "start_date": "2026-01-05", "planned_end": "2026-03-27", "sessions": MORNINGS,
        "reason": "Medical: phased return", "parent_agreed_on": "2026-01-02",
        "review_dates": "2026-01-16, 2026-01-30", "la_notified_on": "2026-01-05"})
    assert r.status_code == 302
    t = PartTimeTimetable.objects.get(pupil=year3["tom"])
    assert sorted(t.sessions) == sorted(MORNINGS) and t.reviews.count() == 2
    assert any("6 weeks" in str(m) for m in c.get("/part-time/").context["messages"])
    # Missing agreement: the form shows the problem and saves nothing.
    r = c.post(f"/pupils/{year3['amy'].pk}/part-time/", {
        "start_date": "2026-01-05", "planned_end": "2026-01-30", "sessions": MORNINGS,
        "reason": "x", "review_dates": "2026-01-16"})
    assert r.status_code == 200 and not PartTimeTimetable.objects.filter(pupil=year3["amy"]).exists()
    # The office may read the list but not record one.
    assert client_for(people["office"]).get(f"/pupils/{year3['amy'].pk}/part-time/").status_code == 403


def test_csv_export_lists_current_timetables(year3, people):
    arrangements.part_time_record(pupil=year3["tom"], draft=draft(
        reason="=HYPERLINK(\"http://evil\")", la_notified_on=TODAY), user=None)
    t, _ = arrangements.part_time_record(pupil=year3["amy"], draft=draft(), user=None)
    arrangements.part_time_end(timetable=t, on=date(2026, 1, 5))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
        r = client_for(people["office"]).get("/part-time/export.csv")
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x["upn"] for x in rows] == [year3["tom"].upn]
    assert rows[0]["sessions_per_week"] == "5" and rows[0]["la_notified_on"] == str(TODAY)
    assert not rows[0]["reason"].startswith("=")  # no spreadsheet formulas


# --- ahead of time: the future-session rule -------------------------------------------------

def test_office_may_fill_x_and_c2_ahead_but_nothing_else(calendar, nursery, year3, people,
                                                         clock):
    clock(TODAY, 8, 50)
    school = calendar
    arrangements.part_time_record(pupil=year3["tom"], draft=draft(), user=None)
    result = arrangements.arrangement_marks_fill(school=school, day=TOMORROW, session="PM",
                                                 user=people["office"], role="Office")
    assert result["created"] == 2
    assert code(nursery["nia"], TOMORROW, "PM") == "X"
    assert code(year3["tom"], TOMORROW, "PM") == "C2"
    assert code(year3["amy"], TOMORROW, "PM") is None
    # The arrangement basis does not let any other code into a future session ...
    with pytest.raises(RegisterError, match="has not started"):
        marks_save(school=school, day=TOMORROW, session="AM", pupils=[year3["amy"]],
                   entries=[Entry(year3["amy"].pk, "N")], user=people["office"], role="Office",
                   basis=policy.ARRANGEMENT)
    # ... nor a teacher write X ahead.
    with pytest.raises(RegisterError, match="has not started"):
        marks_save(school=school, day=TOMORROW, session="AM", pupils=[nursery["noah"]],
                   entries=[Entry(nursery["noah"].pk, "X")], user=people["teacher"],
                   role="Teacher", basis=policy.ARRANGEMENT)


def test_office_button_enters_the_week_ahead(nursery, people, clock):
    clock(TODAY, 8, 50)
    c = client_for(people["office"])
    r = c.post(f"/office/{TOMORROW}/PM/arrangements/", follow=True)
    assert b"1 X / C2 mark(s) entered" in r.content
    assert code(nursery["nia"], TOMORROW, "PM") == "X" and code(nursery["noah"], TOMORROW, "PM") is None
    # Again: nothing more, nothing changed.
    assert b"0 X / C2" in c.post(f"/office/{TOMORROW}/PM/arrangements/", follow=True).content
    assert client_for(people["teacher"]).post(f"/office/{TOMORROW}/PM/arrangements/").status_code == 403
