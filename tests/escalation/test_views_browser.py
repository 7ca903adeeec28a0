"""Browser: the attendance officer works a case the nightly job opened.

Headless Chromium (Playwright) against a live server. The server thread has its own
database connection, so a dedicated school with committed data is created by a module
fixture (outside the rolled-back test transaction) and dropped afterwards; the helpers of
tests/browser/conftest.py (Chromium flags, login, screenshots) are reused.
"""

from datetime import date, timedelta

import pytest
from django.db import connection

from attendance_site.db_roles import as_owner
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, shot
from tests.factories import PupilFactory, RegistrationGroupFactory

SCHEMA, DOMAIN = "esc_browser", "esc-browser.localhost"
USERNAME, PASSWORD = "esc_browser_ao", "Esc-browser-pw-1357!"


def _drop():
    from django_tenants.utils import schema_context, schema_exists

    from tenants.models import School, User

    with schema_context(SCHEMA if schema_exists(SCHEMA) else "test_a"):
        User.objects.filter(username=USERNAME).delete()
    connection.set_schema_to_public()
    for school in School.objects.filter(schema_name=SCHEMA):
        school.delete(force_drop=True)
    with as_owner(), connection.cursor() as cur:  # only the owner drops schemas
        cur.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def live(django_db_setup, django_db_blocker):
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from django_tenants.utils import schema_context

    from escalation.nightly import night_run
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry
    from tenants.roles import Role
    from tenants.services import person_grant, school_create
    from tests.conftest import make_upn
    from tests.escalation.helpers import put

    with django_db_blocker.unblock():
        assert connection.settings_dict["NAME"].startswith("test_")
        _drop()
        school = school_create(schema=SCHEMA, name="Escalation Browser Academy", domain=DOMAIN, preset="lap")
        person_grant(
            username=USERNAME,
            role=Role.ATTENDANCE_OFFICER,
            school=school,
            password=PASSWORD,
            first_name="Alex",
            last_name="Officer",
        )
        monday = date.today() - timedelta(days=date.today().weekday())
        with schema_context(SCHEMA):
            calendar_replace(
                entries=[
                    CalendarEntry(
                        kind="term",
                        start_date=monday - timedelta(weeks=12),
                        end_date=monday + timedelta(weeks=2, days=4),
                        label="Term",
                    )
                ]
            )
            g = RegistrationGroupFactory(name="5R", year_group=5)
            p = PupilFactory(
                upn=make_upn(serial=950),
                legal_surname="Nightingale",
                legal_forename="Robin",
                date_of_birth=date(2015, 2, 1),
                gender="M",
                year_group=5,
                registration_group=g,
                admission_date=date(2020, 9, 1),
            )
            # 80% all along: Letter 1 once four weeks of evidence exist, then Letter 2 at its
            # 42-day review (no improvement, and at or below 90%)
            last = put(p, monday - timedelta(weeks=12), ("/" * 16 + "I" * 4) * 6)
            night_run(as_of=monday - timedelta(weeks=8, days=3))
            night_run(as_of=last)
        connection.set_schema_to_public()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield f"http://{DOMAIN}:{server.port}"
    finally:
        server.terminate()
        with django_db_blocker.unblock():
            _drop()


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_context_args(live):
    return {
        "base_url": live,
        "viewport": {"width": 1280, "height": 900},
        "locale": "en-GB",
        "timezone_id": "Europe/London",
    }


@pytest.mark.browser
@pytest.mark.django_db
def test_officer_works_a_case_opened_overnight(page, live, django_db_blocker):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/escalation/")
    shot(page, "escalation-queue")
    page.get_by_role("link", name="Nightingale, Robin").first.click()
    assert "Letter 2" in page.get_by_test_id("stage").inner_text()
    assert "no improvement by the review" in page.content()

    page.get_by_label("Contact type").select_option("call")
    page.get_by_label("What was said or agreed").fill("Called mum: Robin anxious about swimming lessons")
    page.get_by_role("button", name="Log contact").click()
    assert "Contact logged." in page.content()

    page.get_by_label("Meeting", exact=True).select_option("attendance_support")
    page.get_by_label("Date and time").fill((date.today() + timedelta(days=3)).isoformat() + "T09:15")
    page.get_by_label("Location").fill("Family room")
    page.get_by_role("button", name="Schedule meeting").click()
    assert "Attendance Support Meeting scheduled." in page.content()
    assert "09:15" in page.get_by_test_id("meetings").inner_text()

    page.get_by_label("Reason for moving on").fill("No engagement after the support meeting")
    page.get_by_role("button", name="Advance stage").click()
    assert "Letter 3" in page.get_by_test_id("stage").inner_text()
    chronology = page.get_by_test_id("chronology").inner_text()
    for text in (
        "Case opened",
        "Phone call",
        "swimming",
        "Meeting",
        "Family room",
        "Moved to the next stage",
    ):
        assert text in chronology
    shot(page, "escalation-case-after-actions")
    with django_db_blocker.unblock():
        from django_tenants.utils import schema_context

        from escalation.models import Case
        from letters.models import Letter

        with schema_context(SCHEMA):
            case = Case.objects.get(track="attendance")
            assert case.stage.key.startswith("lap-letter-3")
            assert Letter.objects.filter(template_key="lap_letter_3").exists()
