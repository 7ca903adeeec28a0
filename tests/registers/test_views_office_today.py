"""Issue 17 item 1: the office's Today page shows AM and PM side by side, classes in year
order, registers missing after closing in red with the minutes overdue, a Remind action
(email, and a text when the teacher's mobile is known), and what waits for the office.
A school may have teachers reminded automatically a set number of minutes after closing,
once per teacher and session."""

import json
from datetime import date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from absences import register_reminders
from absences.models import (
    RegisterReminder,
    RegisterReminderSettings,
    StaffMobile,
)
from registers.models import RegistrationGroup
from tests.conftest import client_for
from tests.factories import AbsenceReportFactory, LeaveRequestFactory, MarkFactory

DAY = date(2026, 1, 6)  # a Tuesday in the test term


def at(hh, mm, day=DAY):
    return timezone.make_aware(datetime.combine(day, time(hh, mm)))


@pytest.fixture
def office_day(calendar, make_pupil, people, monkeypatch, settings, tmp_path):
    settings.SMS_BACKEND = "absences.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    pupils = {}
    for name, year in (("3B", 3), ("5A", 5), ("1A", 1), ("RA", 0), ("N1", -2), ("2C", 2)):
        pupils[name] = make_pupil(group=name, year_group=year, legal_forename=f"P{name}")
    teacher = people["teacher"]
    teacher.email = "teacher@example.org"
    teacher.save()
    RegistrationGroup.objects.get(name="3B").teachers.add(teacher)
    # 5A's AM register is taken; 3B's is not.
    MarkFactory(pupil=pupils["5A"], date=DAY, session="AM", code="/")
    return {"pupils": pupils, "teacher": teacher}


def _am_close():
    from django.db import connection

    return connection.tenant.am_close


def _freeze(monkeypatch, moment):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


def test_am_and_pm_side_by_side_in_year_order(office_day, people, monkeypatch):
    close = _am_close()
    _freeze(monkeypatch, at(9, 40))
    minutes = 9 * 60 + 40 - (close.hour * 60 + close.minute)
    response = client_for(people["office"]).get(f"/office/{DAY}/AM/")
    html = response.content.decode()
    assert response.status_code == 200
    order = [html.index(f'data-group="{g}"') for g in ("N1", "RA", "1A", "2C", "3B", "5A")]
    assert order == sorted(order), "classes in year order: nursery, reception, 1–6"
    rows = {g.name: g for g in response.context["groups"]}
    assert dict(rows["3B"].marked) == {"AM": 0, "PM": 0}
    assert rows["5A"].missing == {"AM": False, "PM": True}
    # 3B AM: closed at the school's AM close, overdue since, in red with Remind; PM not yet.
    cells = {(g.name, s): ov for g in response.context["groups"] for s, _m, _mi, ov, _t in g.cells}
    assert cells[("3B", "AM")] == minutes and cells[("3B", "PM")] is None
    assert f"{minutes} min overdue" in html and "table-danger" in html
    assert html.count('class="btn btn-sm btn-outline-danger remind"') == 1  # only 3B has a teacher


def test_remind_emails_and_texts_the_teacher(office_day, people, monkeypatch, settings):
    StaffMobile.objects.create(user_id=office_day["teacher"].pk, mobile="07700 900123")
    group = RegistrationGroup.objects.get(name="3B")
    response = client_for(people["office"]).post("/absences/reminders/send/", {
        "group": group.pk, "day": DAY.isoformat(), "session": "AM"}, follow=True)
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [["teacher@example.org"]]
    assert "3B" in mail.outbox[0].subject and f"/register/{group.pk}/{DAY}/AM/" in mail.outbox[0].body
    texts = [json.loads(line) for line in open(settings.SMS_FILE_PATH)]
    assert [t["to"] for t in texts] == ["07700 900123"]
    r = RegisterReminder.objects.get()
    assert (r.channels, r.automatic, r.error) == ("email,sms", False, "")
    assert 'class="small text-muted reminded">Reminded' in response.content.decode()


def test_remind_refuses_bad_input_without_500(office_day, people):
    c = client_for(people["office"])
    assert c.post("/absences/reminders/send/", {"group": "x", "day": "06/01/2026"}).status_code == 302
    assert c.post("/absences/reminders/send/", {"group": 99999, "day": DAY.isoformat(),
                                                "session": "AM"}).status_code == 404
    assert not RegisterReminder.objects.exists()


def test_automatic_reminder_once_per_teacher_and_session(office_day, monkeypatch):
    RegisterReminderSettings.objects.create(minutes_after_close=10)
    close = _am_close()  # due 10 minutes after the AM register closes
    h, m = divmod(close.hour * 60 + close.minute + 10, 60)
    assert register_reminders.auto_remind_due(now=at(h, m - 1)) is None
    assert register_reminders.auto_remind_due(now=at(h, m)) == 1
    assert register_reminders.auto_remind_due(now=at(h, m + 5)) == 0  # beat again: nobody twice
    assert len(mail.outbox) == 1
    assert RegisterReminder.objects.filter(automatic=True).count() == 1
    # Once taken, nobody is reminded for the PM either.
    MarkFactory(pupil=office_day["pupils"]["3B"], date=DAY, session="PM", code="\\")
    assert register_reminders.auto_remind_due(now=at(14, 0)) == 0


def test_no_automatic_reminder_unless_the_school_sets_minutes(office_day):
    assert register_reminders.auto_remind_due(now=at(9, 30)) is None
    assert not mail.outbox


def test_waiting_badges_one_query_each(office_day, people, django_assert_max_num_queries):
    from absences.templatetags.absences_tags import office_waiting

    child = office_day["pupils"]["3B"]
    AbsenceReportFactory(pupil=child, reason="illness", first_day=DAY, last_day=DAY)
    LeaveRequestFactory(pupil=child, first_day=DAY, last_day=DAY, sessions=[],
                        reason="exceptional", explanation="x")
    MarkFactory(pupil=child, date=DAY, session="AM", code="N")
    with django_assert_max_num_queries(3):
        waiting = office_waiting()
    assert waiting["reports"] == 1 and waiting["leave"] == 1
    html = client_for(people["office"]).get(f"/office/{DAY}/AM/").content.decode()
    assert 'id="badge-reports">1<' in html and 'id="badge-leave">1<' in html


def test_reminder_settings_page_saves_minutes_and_mobiles(office_day, people):
    c = client_for(people["office"])
    t = office_day["teacher"]
    assert c.get("/absences/reminders/").status_code == 200
    c.post("/absences/reminders/", {"minutes_after_close": "15", f"mobile-{t.pk}": "07700 900999"})
    assert RegisterReminderSettings.get().minutes_after_close == 15
    assert StaffMobile.objects.get(user_id=t.pk).mobile == "07700 900999"
    r = c.post("/absences/reminders/", {"minutes_after_close": "-5"})
    assert r.status_code == 200 and RegisterReminderSettings.get().minutes_after_close == 15
