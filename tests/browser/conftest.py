"""Real-browser tests: headless Chromium (Playwright) against a live Django server.

The live server runs in a thread with its own database connections, so the data it shows
must be committed: pytest-django's rolled-back ``db`` fixture cannot be used for it. Instead
one package-scoped fixture creates a dedicated school ("browser", served on
browser.localhost) with committed data, serves the WSGI app on a free port, and at the end
stops the server and drops the school's schema and its people. It lives only while the
tests in this folder run, so rolled-back tests elsewhere never see it.

The tests are still marked ``django_db``: that makes pytest-django set up the test database
even when only these tests run, and wraps each test's main-thread connection in a
transaction that is rolled back. So, inside a test, ORM *writes* are invisible to the
server (put shared data in ``_populate``); ORM *reads* see what the server committed.
"""

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.factories import PupilFactory, RegistrationGroupFactory, SchoolDayFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCHEMA = "browser"
DOMAIN = "browser.localhost"
PASSWORD = "Browser-pw-2468!"
USERNAMES = ("browser_teacher", "browser_office")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# (legal forename, legal surname, preferred forename). Sorted by surname on the register.
PUPILS = [
    ("Amira", "Ahmed", ""),
    ("Benjamin", "Carter", "Ben"),
    ("Maximilian Alexander", "Fotheringham-Smythe", ""),
    ("Chloé", "O'Brien", ""),
    ("Zara", "Nowak", ""),
]


@dataclass
class Live:
    url: str
    school_id: int
    group_id: int
    pupils: dict  # surname -> pk
    teacher: str
    office: str
    password: str
    day: date  # the session "My register" opens now (current_session): unmarked
    session: str
    earlier_day: date  # the open day before it: AM already taken (see _populate), PM unmarked
    extra: dict = field(default_factory=dict)

    def register_path(self, day: date, session: str) -> str:
        return f"/register/{self.group_id}/{day.isoformat()}/{session}/"


def _delete_users():
    """Delete the test people. Deleting a user also touches tenant tables (class teachers,
    marks recorded by them), so it runs with a school schema on the search path."""
    from django_tenants.utils import schema_context, schema_exists

    from tenants.models import User

    with schema_context(SCHEMA if schema_exists(SCHEMA) else "test_a"):
        User.objects.filter(username__in=USERNAMES).delete()


def _drop_school():
    from django.db import connection

    from attendance_site.db_roles import as_owner
    from tenants.models import School

    connection.set_schema_to_public()
    for school in School.objects.filter(schema_name=SCHEMA):
        school.delete()  # drops the schema too (auto_drop_schema)
    with as_owner(), connection.cursor() as cur:  # only the owner drops schemas
        cur.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def _drop_stale():
    """Remove what a crashed earlier run may have left: the people, the school, its schema."""
    _delete_users()
    _drop_school()


def _tidy_auth_records(user_ids):
    """Axes access logs and sessions the logins created (public schema)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.sessions.models import Session

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__in=USERNAMES).delete()
    stale = [s.pk for s in Session.objects.all()
             if str(s.get_decoded().get("_auth_user_id")) in {str(u) for u in user_ids}]
    Session.objects.filter(pk__in=stale).delete()


def _populate() -> Live:
    from django.db import connection
    from django_tenants.utils import schema_context

    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry, Pupil, SchoolDay
    from registers.services import Entry, marks_save
    from registers.views import current_session
    from tenants.roles import Role
    from tenants.services import person_grant, school_create
    from tests.conftest import make_upn

    school = school_create(schema=SCHEMA, name="Browser Test Primary", domain=DOMAIN)
    connection.set_schema_to_public()
    teacher = person_grant(username=USERNAMES[0], role=Role.TEACHER, school=school,
                           password=PASSWORD, first_name="Tess", last_name="Teacher")
    office = person_grant(username=USERNAMES[1], role=Role.OFFICE, school=school,
                          password=PASSWORD, first_name="Olive", last_name="Office")
    today = date.today()
    monday = today - timedelta(days=today.weekday())
    with schema_context(SCHEMA):
        # One term from three weeks ago to three weeks ahead, so "today" is always covered.
        calendar_replace(entries=[CalendarEntry(kind="term", start_date=monday - timedelta(weeks=3),
                                                end_date=monday + timedelta(weeks=3, days=4),
                                                label="Browser term")])
        if today.weekday() >= 5:
            # Run at a weekend: a Saturday school, so "My register" still opens today's
            # register, the one a teacher may take (registers.policy).
            SchoolDayFactory(date=today, term="Browser term", week=monday)
        group = RegistrationGroupFactory(name="4M", year_group=4)
        group.teachers.add(teacher)
        pupils = {}
        for serial, (forename, surname, preferred) in enumerate(PUPILS, start=901):
            p = PupilFactory(
                upn=make_upn(serial=serial), legal_forename=forename, legal_surname=surname,
                preferred_forename=preferred, date_of_birth=date(2017, 5, 1), gender="F",
                year_group=4, registration_group=group, admission_date=date(2020, 9, 1))
            pupils[surname] = p.pk
        day, session = current_session(school)
        earlier = SchoolDay.objects.filter(closed=False, date__lt=day).order_by("-date") \
            .values_list("date", flat=True).first()
        # A register already taken on the earlier day (AM), for the office's corrections
        # (entered by the office: a teacher takes only today's registers).
        marks_save(school=school, day=earlier, session="AM",
                   pupils=list(Pupil.objects.all()), user=office, role=Role.OFFICE.label,
                   entries=[Entry(pupils["Ahmed"], "/"), Entry(pupils["Carter"], "/"),
                            Entry(pupils["Fotheringham-Smythe"], "/"),
                            Entry(pupils["O'Brien"], "L", 5), Entry(pupils["Nowak"], "N")])
    return Live(url="", school_id=school.pk, group_id=group.pk, pupils=pupils,
                teacher=teacher.username, office=office.username, password=PASSWORD,
                day=day, session=session, earlier_day=earlier,
                extra={"user_ids": [teacher.pk, office.pk]})


@pytest.fixture(scope="package")
def live(django_db_setup, django_db_blocker):
    """The browser school with committed data, served by a live server thread."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connection
    from django.test.testcases import LiveServerThread

    with django_db_blocker.unblock():
        # Never write to a development database: pytest-django must have switched to the
        # test database (it does so for tests marked django_db).
        assert connection.settings_dict["NAME"].startswith("test_"), (
            "browser tests must be marked django_db so the test database is set up")
        _drop_stale()
        data = _populate()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    data.url = f"http://{DOMAIN}:{server.port}"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield data
    finally:
        server.terminate()
        with django_db_blocker.unblock():
            _tidy_auth_records(data.extra["user_ids"])
            _delete_users()
            _drop_school()


@pytest.fixture(autouse=True)
def _db_open_for_live_server(live, django_db_blocker):
    """The server thread and the tests' own ORM checks need the database while a test runs."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_context_args(live):
    # Reduced motion turns off Bootstrap's transitions, so screenshots and axe's colour
    # checks see settled colours, never a button halfway through changing.
    return {"base_url": live.url, "viewport": TABLET, "locale": "en-GB",
            "timezone_id": "Europe/London", "reduced_motion": "reduce"}


def shot(page, name: str, *, full_page: bool = True):
    """Save a screenshot into test-artifacts/ (gitignored)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=full_page,
                    animations="disabled")


def assert_no_horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"page is {width}px wide in a {inner}px viewport"


def login(page, live, username):
    """Sign in through the real login form."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(live.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture(autouse=True)
def _short_timeouts(page):
    """Fail in seconds, not the default 30 s, when something is missing (10 s leaves room
    for a busy machine)."""
    from playwright.sync_api import expect

    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)


# --- Content-Security-Policy: no page may break it ------------------------------------------

def csp_violations(messages) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


@pytest.fixture(autouse=True)
def no_csp_violations(page):
    """Every browser test fails if a page it visits breaks the Content-Security-Policy
    (an inline script, style or handler): Chromium reports each one on the console."""
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    yield messages
    assert csp_violations(messages) == []
