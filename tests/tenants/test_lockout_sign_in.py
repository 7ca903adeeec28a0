"""Sign-in: argon2 hashes, rate-limited logins, and schools set up from presets."""

from datetime import time

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from escalation.models import BandSet
from tenants.models import School
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for


@pytest.fixture
def office_with_password(school_a):
    return person_grant(username="pw_office", role=Role.OFFICE, school=school_a,
                        password="correct-Horse-9")


def test_passwords_are_hashed_with_argon2(office_with_password):
    assert office_with_password.password.startswith("argon2")


def test_login_then_home_redirects_by_role(office_with_password):
    client = client_for()
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/", {"username": "pw_office",
                                                "password": "correct-Horse-9"})
    assert response.status_code == 302
    assert client.get("/").url.startswith("/office/")


def test_logins_are_rate_limited(office_with_password):
    client = client_for()
    statuses = [client.post("/accounts/login/", {"username": "pw_office", "password": "wrong"})
                .status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks the account
    locked = client.post("/accounts/login/", {"username": "pw_office",
                                              "password": "correct-Horse-9"})
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert client.get("/").status_code == 302  # still not signed in


@pytest.fixture
def cheetwood_dropped(django_db_setup, django_db_blocker):
    """The owner creates the schema in its own session, so it outlives the test's rollback:
    drop it after the test (this fixture is torn down after ``db``)."""
    from tests.conftest import drop_committed_schools

    with django_db_blocker.unblock():
        drop_committed_schools("cheetwood_t")
    yield
    with django_db_blocker.unblock():
        drop_committed_schools("cheetwood_t")


def test_create_school_with_preset(cheetwood_dropped, db):
    call_command("create_school", "--schema", "cheetwood_t", "--name", "Cheetwood",
                 "--domain", "cheetwood-t.localhost", "--preset", "cheetwood", "--trust", "mcr")
    school = School.objects.get(schema_name="cheetwood_t")
    assert (school.am_open, school.am_close) == (time(8, 50), time(9, 20))
    assert school.trust.slug == "mcr" and school.la_code == 352
    with schema_context("cheetwood_t"):
        bands = BandSet.objects.get(active=True).bands.all()
        assert [b.name for b in bands] == ["Green", "Amber-Green", "Red-Amber", "Red"]


def test_register_must_close_within_30_minutes(db):
    from django.core.exceptions import ValidationError

    school = School(schema_name="x", name="X", am_open=time(8, 30), am_late_after=time(8, 40),
                    am_close=time(9, 10))
    with pytest.raises(ValidationError, match="30 minutes"):
        school.clean()
