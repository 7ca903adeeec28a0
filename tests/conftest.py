"""Shared fixtures: a real PostgreSQL test database with two real school schemas.

School A and school B are created once per test database (kept with --reuse-db). Tests
run inside a transaction that is rolled back, with the connection switched to a school's
schema, so each test starts from empty school tables.
"""

import os
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client

from tests.factories import make_upn  # noqa: F401  (one UPN sequence; tests import it from here)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCHOOLS = {"test_a": ("Test School A", "a.localhost"), "test_b": ("Test School B", "b.localhost")}


def _celery_prefix_export():
    """Workers and commands the tests start use the test run's own Redis keys and queues
    (settings.CELERY_KEY_PREFIX, chosen per run under pytest)."""
    from django.conf import settings

    if settings.CELERY_KEY_PREFIX:
        os.environ["CELERY_KEY_PREFIX"] = settings.CELERY_KEY_PREFIX


_celery_prefix_export()


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs the suite in worker processes) the controller runs
    no test: its key prefix must not reach the workers, which each take and export their own
    (settings.CELERY_KEY_PREFIX is per process), so no two share a Celery queue."""
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ.pop("CELERY_KEY_PREFIX", None)


def reset_storage():
    """django-tenants' storage caches MEDIA_ROOT (it ignores setting_changed): forget it."""
    from django.core.files.storage import default_storage

    default_storage.exists  # noqa: B018 - make the lazy storage set itself up
    default_storage._wrapped.__dict__.pop("relative_media_root", None)


@pytest.fixture
def media_root(settings, tmp_path):
    """The test's files (letters, certificates, exports) go to a folder of its own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    reset_storage()
    yield settings.MEDIA_ROOT
    reset_storage()


def test_database_name(base: str, checkout: str | None = None) -> str:
    """<base>_<checkout>, base being Django's test_<database>: two checkouts on one machine
    never share a test database."""
    import hashlib
    from pathlib import Path

    checkout = checkout or str(Path(__file__).resolve().parent.parent)
    return f"{base}_{hashlib.sha256(checkout.encode()).hexdigest()[:6]}"


test_database_name.__test__ = False  # not a test


def _roles_prepare():
    """Connect as the app's role; if DATABASE_URL names a superuser (a plain local setup),
    create the two roles with it and use them instead (attendance_site/db_roles.py)."""
    import psycopg
    from django.conf import settings

    from attendance_site import db_roles

    db = settings.DATABASES["default"]
    params = {"dbname": "postgres", "user": db["USER"], "password": db["PASSWORD"] or None,
              "host": db["HOST"] or None, "port": db["PORT"] or None, **db.get("OPTIONS", {})}
    with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v is not None}) as admin:
        if not admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            return
        owner = settings.OWNER_DATABASE["USER"]
        if owner == db["USER"]:
            owner = settings.OWNER_DATABASE["USER"] = db_roles.OWNER_ROLE
            settings.OWNER_DATABASE["PASSWORD"] = ""
        # pytest-xdist's workers start together: roles are shared by the whole cluster, so
        # one at a time (a lock of the postgres database, which every worker connects to).
        admin.execute("SELECT pg_advisory_lock(hashtext('attendance test roles'))")
        db_roles.roles_ensure(admin, app=db_roles.APP_ROLE, owner=owner)
    db["USER"], db["PASSWORD"] = db_roles.APP_ROLE, ""


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Before pytest-django builds the test database: the two roles, the checkout's own test
    database name, and this thread connected as the owner (who creates and migrates it)."""
    from django.db import connections

    from attendance_site import db_roles

    _roles_prepare()
    connections["default"].close()
    db = connections["default"].settings_dict
    test = db.setdefault("TEST", {})
    test["NAME"] = test_database_name(test.get("NAME") or f"test_{db['NAME']}")
    connections["default"] = db_roles.owner_connection(connections["default"])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connections

    from tenants.models import School
    from tenants.services import public_tenant_ensure, school_create

    with django_db_blocker.unblock():
        public_tenant_ensure()
        for schema, (name, domain) in SCHOOLS.items():
            if not School.objects.filter(schema_name=schema).exists():
                school_create(schema=schema, name=name, domain=domain, preset="beecroft",
                              trust_slug="test-trust")
        connection.set_schema_to_public()
    # From here on the tests run as the app's role, which owns nothing.
    connections["default"].close()
    del connections["default"]
    yield
    connections.close_all()  # pytest-django drops the test database as the owner


def _school(schema):
    from tenants.models import School

    return School.objects.get(schema_name=schema)


@pytest.fixture
def school_a(db):
    school = _school("test_a")
    connection.set_tenant(school)
    yield school
    connection.set_schema_to_public()


@pytest.fixture
def school_b(db):
    return _school("test_b")


# A term that covers the test dates: Monday 1 September 2025 to Friday 17 July 2026,
# with an INSET day and the October half term.
TERM_START, TERM_END = date(2025, 9, 1), date(2026, 7, 17)
INSET = date(2025, 9, 1)


@pytest.fixture
def calendar(school_a):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry

    calendar_replace(entries=[
        CalendarEntry(kind="term", start_date=TERM_START, end_date=date(2025, 10, 24),
                      label="Autumn 1"),
        CalendarEntry(kind="term", start_date=date(2025, 11, 3), end_date=date(2025, 12, 19),
                      label="Autumn 2"),
        CalendarEntry(kind="term", start_date=date(2026, 1, 5), end_date=TERM_END,
                      label="Spring and summer"),
        CalendarEntry(kind="closure", start_date=INSET, end_date=INSET, label="INSET"),
    ])
    return school_a


@pytest.fixture
def make_pupil(school_a):
    from tests.factories import PupilFactory, RegistrationGroupFactory

    def make(group="3B", year_group=3, admission=date(2020, 9, 1), leaving=None, **kw):
        g = RegistrationGroupFactory(name=group, year_group=year_group)  # the class, made once
        return PupilFactory(registration_group=g, year_group=year_group, admission_date=admission,
                            leaving_date=leaving, **kw)

    return make


@pytest.fixture
def people(school_a, school_b):
    """One person in every role at school A, plus a member of staff at school B."""
    from tenants.roles import Role
    from tests.factories import PersonFactory

    out = {}
    for role in Role:
        if role == Role.TRUST_DIRECTOR:
            out[role.value] = PersonFactory(username=f"a_{role.value}", role=role, school=None,
                                            trust=school_a.trust,
                                            first_name="Trust", last_name="Director")
        else:
            out[role.value] = PersonFactory(username=f"a_{role.value}", role=role,
                                            school=school_a,
                                            first_name=role.label.split()[0], last_name="A")
    out["other_school_office"] = PersonFactory(username="b_office", role=Role.OFFICE,
                                               school=school_b)
    return out


def client_for(user=None, host="a.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def client_as():
    return client_for


def weekdays(start: date, count: int) -> list[date]:
    out, d = [], start
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


# --- committed schools, for tests whose other processes (workers, servers) must see data ---

def drop_committed_schools(*schemas: str) -> None:
    """Remove schools a test committed (and their schemas, even half-built ones)."""
    from attendance_site.db_roles import as_owner
    from tenants.models import School

    connection.set_schema_to_public()
    for school in School.objects.filter(schema_name__in=schemas):
        school.delete(force_drop=True)
    with as_owner(), connection.cursor() as cur:
        for schema in schemas:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def subprocess_database_url() -> str:
    """DATABASE_URL of pytest's test database, for subprocesses (Celery workers, commands)."""
    from urllib.parse import quote

    db = connection.settings_dict
    assert db["NAME"].startswith("test_"), "subprocesses must only ever touch the test database"
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (f"postgres://{db['USER'] or 'postgres'}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")


@contextmanager
def celery_worker(*, name: str, env: dict, log):
    """A real Celery worker subprocess (2 processes) on ``env``, ready when this yields; it is
    stopped afterwards. Its output goes to ``log``."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "attendance_site", "worker",
             "--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"{name}-{os.getpid()}@%h"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            while "ready." not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.time() < deadline, "worker did not start"
                time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
