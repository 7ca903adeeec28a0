"""In a real browser: the attendance lead records a part-time timetable, and the teacher sees
C2 proposed on their register; "Mark all remaining present" leaves it (registers.arrangements).
"""

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from .conftest import PASSWORD, SCHEMA, login, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

LEAD = "browser_lead"


@pytest.fixture(scope="module")
def lead(live, django_db_blocker):
    """An attendance lead at the browser school (committed), removed afterwards with the
    timetable the test records, so other browser tests see the school as it was."""
    from django.db import connection

    from registers.models import Mark, PartTimeTimetable
    from tenants.models import School, User
    from tenants.roles import Role
    from tenants.services import person_grant

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        school = School.objects.get(schema_name=SCHEMA)
        user = person_grant(username=LEAD, role=Role.ATTENDANCE_OFFICER, school=school,
                            password=PASSWORD, first_name="Lee", last_name="Lead")
        with schema_context(SCHEMA):
            # A register test that ran earlier may have marked Amira this session: a saved
            # mark is shown instead of a proposal, so start from an unmarked row.
            Mark.objects.filter(pupil_id=live.pupils["Ahmed"], date=live.day,
                                session=live.session).delete()
    yield user
    with django_db_blocker.unblock():
        from axes.models import AccessAttempt, AccessLog

        with schema_context(SCHEMA):
            PartTimeTimetable.objects.all().delete()
            User.objects.filter(username=LEAD).delete()
        AccessAttempt.objects.filter(username=LEAD).delete()
        AccessLog.objects.filter(username=LEAD).delete()


def test_lead_records_timetable_and_teacher_sees_c2(live, lead, browser):
    from registers.models import SESSION_SLOTS, session_slot

    slot = session_slot(live.day, live.session)
    if not slot:
        pytest.skip("the browser school's current session is on a weekend")
    labels = dict(SESSION_SLOTS)
    attended = [k for k, _ in SESSION_SLOTS if k != slot]  # every session but this one

    ctx = browser.new_context(base_url=live.url, locale="en-GB")
    page = ctx.new_page()
    login(page, live, LEAD)
    page.goto(f"/pupils/{live.pupils['Ahmed']}/part-time/")
    page.locator('input[name="start_date"]').fill(live.day.isoformat())
    page.locator('input[name="planned_end"]').fill((live.day + timedelta(weeks=4)).isoformat())
    for k in attended:
        page.get_by_label(labels[k], exact=True).check()
    page.locator('textarea[name="reason"]').fill("Anxiety: phased return")
    page.locator('input[name="parent_agreed_on"]').fill(live.day.isoformat())
    page.locator('input[name="review_dates"]').fill((live.day + timedelta(weeks=2)).isoformat())
    page.get_by_role("button", name="Record timetable").click()
    expect(page).to_have_url(f"{live.url}/part-time/")
    expect(page.locator("#part-time-list")).to_contain_text("Amira Ahmed")
    shot(page, "part-time-list")
    ctx.close()

    ctx = browser.new_context(base_url=live.url, locale="en-GB")
    page = ctx.new_page()
    login(page, live, live.teacher)
    page.goto(live.register_path(live.day, live.session))
    row = page.locator('.register-row[data-name="Amira Ahmed"]')
    expect(row.locator("select.code")).to_have_value("C2")
    expect(row).to_contain_text("Part-time timetable")
    page.locator("#all-present").click()
    expect(row.locator("select.code")).to_have_value("C2")
    shot(page, "register-part-time-c2")
    ctx.close()
