"""Marks and the append-only amendment trail (domain.md section 9)."""

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from registers.models import Mark, MarkAmendment
from registers.services import Entry, RegisterError, mark_amend, marks_save

DAY = date(2025, 9, 2)


@pytest.fixture
def marked(calendar, make_pupil, people, clock):
    pupil = make_pupil(admission=date(2025, 9, 1))
    clock(DAY, 8, 50)  # the teacher takes the register on the day
    marks_save(school=calendar, day=DAY, session="AM", pupils=[pupil],
               entries=[Entry(pupil.pk, "N")], user=people["teacher"], role="Class teacher")
    return pupil


def test_first_marking_is_not_an_amendment(marked):
    mark = Mark.objects.get(pupil=marked)
    assert mark.code == "N" and mark.recorded_by.username == "a_teacher"
    assert not MarkAmendment.objects.exists()


def test_correction_needs_a_reason_and_saves_nothing_without_one(marked, people, calendar):
    with pytest.raises(RegisterError) as exc:
        marks_save(school=calendar, day=DAY, session="AM", pupils=[marked],
                   entries=[Entry(marked.pk, "I")], user=people["office"], role="Office")
    assert "needs a reason" in str(exc.value)
    assert Mark.objects.get(pupil=marked).code == "N"
    assert not MarkAmendment.objects.exists()


def test_amendment_keeps_original_new_reason_who_role_when(marked, people, calendar):
    mark_amend(school=calendar, pupil=marked, day=DAY, session="AM", code="I", minutes_late=None,
               reason="Mum phoned: tummy bug", user=people["office"], role="Office / admin")
    a = MarkAmendment.objects.get()
    assert (a.original_code, a.new_code, a.reason) == ("N", "I", "Mum phoned: tummy bug")
    assert (a.user_name, a.role, a.user_id) == ("Office A", "Office / admin", people["office"].pk)
    assert a.at is not None
    assert Mark.objects.get(pupil=marked).code == "I"


@pytest.mark.parametrize("sql", [
    "UPDATE registers_markamendment SET reason = 'rewritten'",
    "DELETE FROM registers_markamendment",
    "TRUNCATE registers_markamendment",
])
def test_trail_cannot_be_altered_even_with_raw_sql(marked, people, calendar, sql):
    mark_amend(school=calendar, pupil=marked, day=DAY, session="AM", code="I", minutes_late=None,
               reason="phoned", user=people["office"], role="Office")
    # The app's role has only SELECT and INSERT on the trail (tests/attendance_site/test_db_roles.py).
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute(sql)
    assert MarkAmendment.objects.get().reason == "phoned"


def test_orm_delete_is_refused_too(marked, people, calendar):
    mark_amend(school=calendar, pupil=marked, day=DAY, session="AM", code="I", minutes_late=None,
               reason="phoned", user=people["office"], role="Office")
    with pytest.raises(DatabaseError), transaction.atomic():
        MarkAmendment.objects.all().delete()
    assert MarkAmendment.objects.count() == 1


@pytest.mark.parametrize("entry,message", [
    (Entry(0, "/"), "not in this register"),
    (Entry(None, "QQ"), "not a national code"),
    (Entry(None, "Z"), "not a national code"),
    (Entry(None, "L", 400), "minutes late"),
])
def test_bad_entries_are_rejected_whole(calendar, make_pupil, people, entry, message):
    good, pupil = make_pupil(admission=date(2025, 9, 1)), make_pupil(admission=date(2025, 9, 1))
    entry.pupil_id = entry.pupil_id if entry.pupil_id is not None else pupil.pk
    with pytest.raises(RegisterError, match=message):
        marks_save(school=calendar, day=DAY, session="AM", pupils=[good, pupil],
                   entries=[Entry(good.pk, "/"), entry], user=people["office"], role="Office")
    assert not Mark.objects.exists()


def test_not_a_session_and_not_on_roll(calendar, make_pupil, people):
    pupil = make_pupil(admission=date(2025, 9, 10))
    for day, message in [(date(2025, 9, 1), "not a school session"),
                         (date(2025, 9, 6), "not a school session"),
                         (DAY, "not on roll")]:
        with pytest.raises(RegisterError, match=message):
            marks_save(school=calendar, day=day, session="AM", pupils=[pupil],
                       entries=[Entry(pupil.pk, "/")], user=people["office"], role="Office")


def test_present_follows_session_and_late_follows_register_times(calendar, make_pupil, people):
    a, b, c = (make_pupil(admission=date(2025, 9, 1)) for _ in range(3))
    marks_save(school=calendar, day=DAY, session="PM", pupils=[a, b, c],
               entries=[Entry(a.pk, "/"), Entry(b.pk, "L", 10), Entry(c.pk, "L", 45)],
               user=people["office"], role="Office")
    codes = dict(Mark.objects.values_list("pupil_id", "code"))
    assert codes == {a.pk: "\\", b.pk: "L", c.pk: "U"}


def test_off_roll_needs_ground_and_no_later_marks(marked, people):
    from registers.services import RollError, pupil_off_roll

    with pytest.raises(RollError, match="mark"):
        pupil_off_roll(pupil=marked, leaving_date=date(2025, 9, 1), ground="other_school")
    with pytest.raises(RollError, match="ground"):
        pupil_off_roll(pupil=marked, leaving_date=date(2025, 9, 30), ground="holiday")
    pupil_off_roll(pupil=marked, leaving_date=date(2025, 9, 30), ground="other_school")
    marked.refresh_from_db()
    assert marked.leaving_date == date(2025, 9, 30)


def test_calendar_page_adds_and_removes_closures(calendar, people):
    from registers.models import SchoolDay
    from tests.conftest import client_for

    client = client_for(people["office"])
    assert not SchoolDay.objects.get(date="2025-10-10").closed
    r = client.post("/calendar/", {"kind": "closure", "start_date": "2025-10-10",
                                   "end_date": "2025-10-10", "label": "INSET 2"})
    assert r.status_code == 302 and SchoolDay.objects.get(date="2025-10-10").closed
    bad = client.post("/calendar/", {"kind": "closure", "start_date": "2025-10-27",
                                     "end_date": "2025-10-27", "label": "In half term"})
    assert b"inside a term" in bad.content
    from registers.models import CalendarEntry

    entry = CalendarEntry.objects.get(label="INSET 2")
    client.post("/calendar/", {"delete": entry.pk})
    assert not SchoolDay.objects.get(date="2025-10-10").closed
