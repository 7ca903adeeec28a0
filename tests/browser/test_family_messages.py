"""Issue 14 in headless Chromium on a phone-sized screen: the office messages every
unexplained absence in one action and sees the delivery status; a family holiday request
shows the warning and no ticks.

Texts go to the local GOV.UK Notify stand-in (tests/absences/notify_stub.py); Celery runs
each task in the live server's thread (eager), so no worker is needed here (a real worker is
tested in tests/absences/test_family_messages_worker.py). Everything added is removed at the end.
"""

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.absences.notify_stub import API_KEY, TEMPLATE_ID, NotifyStub

from .conftest import PASSWORD, PHONE, SCHEMA, assert_no_horizontal_overflow, login, shot

PARENT = "browser_msg_parent"
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def setup(live, django_db_blocker):
    from django.db import connection
    from django.test import override_settings
    from django_tenants.utils import schema_context

    from attendance_site.celery import app
    from registers.models import Contact
    from tenants.models import School
    from tenants.roles import Role
    from tenants.services import person_grant

    stub = NotifyStub().__enter__()
    overrides = override_settings(SMS_BACKEND="absences.sms.NotifyBackend", NOTIFY_API_KEY=API_KEY,
                                  NOTIFY_SMS_TEMPLATE_ID=TEMPLATE_ID, NOTIFY_BASE_URL=stub.url)
    overrides.enable()
    app.conf.task_always_eager = True
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        school = School.objects.get(pk=live.school_id)
        School.objects.filter(pk=school.pk).update(phone="0113 496 0123")
        parent = person_grant(username=PARENT, role=Role.PARENT, school=school, password=PASSWORD,
                              first_name="Bea", last_name="Carter")
        with schema_context(SCHEMA):
            Contact.objects.create(pupil_id=live.pupils["Nowak"], priority=7, forename="Nina",
                                   surname="Nowak", mobile="07700 900777")
            Contact.objects.create(pupil_id=live.pupils["Carter"], priority=8, forename="Bea",
                                   surname="Carter", user=parent, email="bea@example.org")
        connection.set_schema_to_public()
    try:
        yield {"stub": stub}
    finally:
        app.conf.task_always_eager = False
        overrides.disable()
        stub.__exit__(None, None, None)
        with django_db_blocker.unblock():
            _tidy(live, parent.pk)


def _tidy(live, parent_id):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django_tenants.utils import schema_context

    from absences.models import FamilyMessage, LeaveRequest
    from registers.models import Contact
    from tenants.models import School, User

    with schema_context(SCHEMA):
        FamilyMessage.objects.all().delete()
        LeaveRequest.objects.filter(pupil_id=live.pupils["Carter"], reason="holiday").delete()
        Contact.objects.filter(priority__in=[7, 8], pupil_id__in=live.pupils.values()).delete()
        User.objects.filter(username=PARENT).delete()
    connection.set_schema_to_public()
    School.objects.filter(pk=live.school_id).update(phone="")
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=PARENT).delete()
    Session.objects.filter(pk__in=[s.pk for s in Session.objects.all()
                                   if str(s.get_decoded().get("_auth_user_id")) == str(parent_id)]).delete()


def test_office_messages_every_unexplained_absence_on_a_phone(page, live, setup):
    page.set_viewport_size(PHONE)
    login(page, live, live.office)
    page.goto(f"/office/{live.earlier_day.isoformat()}/AM/")
    calling = page.locator("#calling-list")
    expect(calling).to_contain_text("Zara Nowak")
    page.get_by_role("button", name="Message every family on this list").click()
    expect(page.get_by_text("1 message(s) queued to send.")).to_be_visible()
    row = page.locator("#calling-list tr", has_text="Zara Nowak")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "delivered")
    expect(row).to_contain_text("Delivered")
    expect(row.get_by_role("button", name="Message this family (Zara Nowak)")).to_be_visible()
    shot(page, "messages-01-calling-list-phone")
    [sent] = setup["stub"].sent
    assert sent["phone_number"] == "07700 900777"
    assert sent["personalisation"]["body"] == (
        "Zara is not in school today. Please reply or call 0113 496 0123.")


def test_family_holiday_shows_the_warning_and_no_ticks_on_a_phone(page, live, setup):
    from django_tenants.utils import schema_context

    from registers.models import SchoolDay

    with schema_context(SCHEMA):
        days = list(SchoolDay.objects.filter(closed=False, date__gt=date.today()).order_by("date")
                    .values_list("date", flat=True)[:6])
    page.set_viewport_size(PHONE)
    login(page, live, PARENT)
    page.goto(f"/absences/children/{live.pupils['Carter']}/leave/")
    page.get_by_label("First day").fill(days[1].isoformat())
    page.get_by_label("Last day").fill(days[-1].isoformat())
    page.get_by_label("Family holiday").check()
    page.get_by_label("Why are you asking for leave?").fill("A week in Spain, flights are cheaper")
    page.get_by_role("button", name="Check against the school's rules").click()
    warning = "A family holiday in term time will normally be refused"
    expect(page.get_by_role("heading", name=warning)).to_be_visible()
    expect(page.locator("#leave-law")).to_contain_text("£80")
    expect(page.locator("#rule-results")).to_contain_text("Likely to be refused")
    expect(page.locator("#rule-results")).not_to_contain_text("Meets the rule")
    assert page.locator(".rule-pass").count() == 0
    assert "✓" not in page.locator("main").inner_text()
    assert_no_horizontal_overflow(page)
    shot(page, "messages-02-holiday-warning-phone")
