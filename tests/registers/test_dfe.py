"""The DfE's daily attendance data: extract, schedule and reconciliation (issue 16)."""

import csv
import io
import json
from datetime import date

import pytest

from registers import dfe
from registers.models import DailyExtract, Mark
from registers.services import mark_amend
from registers.tasks import dfe_extract_all_schools

MON, TUE = date(2025, 9, 8), date(2025, 9, 9)


@pytest.fixture
def marked(calendar, make_pupil):
    a = make_pupil(fsm=True, sen_status="K")
    b = make_pupil(lac=True)
    make_pupil(admission=date(2025, 9, 10))  # not on roll yet on Monday
    rows = [(a, MON, "AM", "/"), (a, MON, "PM", "I"), (b, MON, "AM", "G"),
            (a, TUE, "AM", "/"), (a, TUE, "PM", "\\"), (b, TUE, "AM", "Y7"), (b, TUE, "PM", "L")]
    Mark.objects.bulk_create(Mark(pupil=p, date=d, session=s, code=c) for p, d, s, c in rows)
    return a, b


def test_the_extract_has_every_pupil_on_roll_and_every_session(marked):
    a, b = marked
    rows = dfe.extract_rows(MON)
    assert [(r["upn"], r["session"], r["code"]) for r in rows] == sorted(
        [(a.upn, "AM", "/"), (a.upn, "PM", "I"), (b.upn, "AM", "G"), (b.upn, "PM", "")])
    first = next(r for r in rows if r["upn"] == a.upn)
    assert (first["fsm"], first["sen"], first["lac"], first["year_group"]) == ("Y", "K", "N", "3")
    assert dfe.extract_rows(date(2025, 9, 1)) == []  # INSET: not a session
    parsed = list(csv.DictReader(io.StringIO(dfe.extract_csv(rows))))
    assert parsed == rows and json.loads(dfe.extract_json(rows)) == rows


def test_the_scheduled_task_writes_each_school_days_extract(marked, school_b):
    out = dfe_extract_all_schools(day=MON.isoformat())
    assert out == {"test_a": 4}
    assert dfe_extract_all_schools(day="2025-09-06") == {}  # a Saturday
    assert DailyExtract.objects.get().rows == 4


def test_reconciliation_agrees_then_lists_later_amendments(marked, people, calendar):
    a, _ = marked
    for day in (MON, TUE):
        dfe.extract_write(day)
    week = dfe.week_reconciliation(TUE)
    assert week.agree and week.amendments == []
    # possible: /, I, G, /, \, L = 6 (Y7 is not); attended 4; authorised 1; unauthorised 1.
    assert week.school.as_tuple() == (6, 4, 1, 1)
    assert [d.isoformat() for d in week.missing_days] == ["2025-09-10", "2025-09-11",
                                                          "2025-09-12"]
    mark_amend(school=calendar, pupil=a, day=MON, session="AM", code="O", minutes_late=None,
               reason="was not in school", user=people["office"], role="Office / admin")
    week = dfe.week_reconciliation(MON)
    assert not week.agree
    assert week.school.as_tuple() == (6, 3, 1, 2) and week.dfe.as_tuple() == (6, 4, 1, 1)
    assert [(x.date, x.original_code, x.new_code) for x in week.amendments] == [(MON, "/", "O")]


def test_dfe_page(marked, people, client_as, calendar):
    a, _ = marked
    client = client_as(people["attendance_officer"])
    response = client.post("/transfers/dfe/", {"day": MON.isoformat()}, follow=True)
    assert "Extract for 8 Sep 2025 written: 4 rows." in response.content.decode()
    client.post("/transfers/dfe/", {"day": TUE.isoformat()})
    html = client.get(f"/transfers/dfe/?week={TUE.isoformat()}").content.decode()
    assert 'id="dfe-agree"' in html and "for 3 school days of this week" in html
    Mark.objects.filter(pupil=a, date=MON, session="AM").update(code="O")  # not audited
    html = client.get(f"/transfers/dfe/?week={TUE.isoformat()}").content.decode()
    assert 'id="dfe-disagree"' in html
    download = client.get(f"/transfers/dfe/?day={MON.isoformat()}&format=json")
    assert download["Content-Disposition"] == 'attachment; filename="dfe_2025-09-08.json"'
    assert {r["upn"] for r in json.loads(download.content)} == {a.upn, marked[1].upn}
    response = client.post("/transfers/dfe/", {"day": "2025-09-06"}, follow=True)
    assert "not a school session" in response.content.decode()
    assert client.get("/transfers/dfe/?week=nonsense&day=bad&format=csv").status_code == 200


def test_the_extract_is_on_the_beat_schedule_after_registers_close(settings):
    from attendance_site.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["registers-dfe-extract"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {18} and entry["schedule"].day_of_week == {1, 2, 3, 4, 5}
