"""Each factory in tests/factories.py makes a valid row, in the school the test is on."""

from datetime import date

import pytest
from django.db import connection

from tests import factories as f

SCHOOL_ROWS = [f.RegistrationGroupFactory, f.PupilFactory, f.ContactFactory, f.MarkFactory,
               f.SchoolDayFactory, f.AbsenceReportFactory, f.LeaveRequestFactory, f.CaseFactory,
               f.LetterFactory]


def _validate(obj):
    """The model's own validation (choices, lengths, required fields, constraints), leaving out
    fields the app fills itself that may stay empty in the table (nullable, or with a default,
    but required on a form: a case's policy version, a leave request's rule results)."""
    filled_by_app = {fld.name for fld in obj._meta.fields
                     if not fld.blank and (fld.null or fld.has_default())}
    obj.full_clean(exclude=filled_by_app)


def _in_schema(obj, school) -> bool:
    connection.set_tenant(school)
    return type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("factory", SCHOOL_ROWS, ids=lambda fac: fac.__name__)
def test_a_factory_makes_a_valid_row_in_the_current_school(school_a, school_b, factory):
    obj = factory()
    _validate(obj)
    assert connection.schema_name == school_a.schema_name
    assert _in_schema(obj, school_a)
    assert not _in_schema(obj, school_b)  # school tables are per school
    connection.set_tenant(school_a)


def test_factories_make_distinct_rows(school_a):
    one, two = f.PupilFactory(), f.PupilFactory()
    assert one.upn != two.upn and one.registration_group != two.registration_group
    assert f.PupilFactory(serial=123).upn == f.make_upn(serial=123)
    assert f.RegistrationGroupFactory(name="3B") == f.RegistrationGroupFactory(name="3B")
    c1, c2 = f.ContactFactory(pupil=one), f.ContactFactory(pupil=one)
    assert (c1.priority, c2.priority) == (1, 2)  # the next free priority, not a deferred clash
    assert f.MarkFactory(pupil=one, session="PM").code == "\\"
    assert f.LetterFactory(pupil=one).trigger_key != f.LetterFactory(pupil=one).trigger_key


def test_a_pupil_who_left_has_a_deletion_ground(school_a):
    pupil = f.PupilFactory(leaving_date=date(2025, 12, 19))
    _validate(pupil)
    assert pupil.deletion_ground == "other_school"


def test_a_case_follows_its_stage(school_a):
    from escalation.models import Stage

    stage = Stage.objects.filter(active=True).last()
    case = f.CaseFactory(stage=stage)
    assert (case.track, case.owner_role, case.status) == (stage.track, stage.owner_role, "open")


def test_a_leave_request_asks_for_the_weekdays_sessions(school_a):
    # Friday 6 to Monday 9 March 2026: the weekend is not asked for.
    leave = f.LeaveRequestFactory(first_day=date(2026, 3, 6), last_day=date(2026, 3, 9))
    assert leave.sessions == ["2026-03-06 AM", "2026-03-06 PM", "2026-03-09 AM", "2026-03-09 PM"]


def test_a_person_is_granted_a_role_in_the_current_school(school_a):
    from tenants.models import Membership, TrustMembership
    from tenants.roles import Role

    office = f.PersonFactory(role=Role.OFFICE)
    assert Membership.objects.filter(user=office, school=school_a, role=Role.OFFICE).exists()
    assert not office.has_usable_password()
    director = f.PersonFactory(role=Role.TRUST_DIRECTOR, school=None, trust=school_a.trust)
    assert TrustMembership.objects.filter(user=director, trust=school_a.trust).exists()
    assert not director.memberships.exists()
    plain = f.UserFactory()
    _validate(plain)
    assert not plain.memberships.exists()


def test_school_rows_need_a_school(db):
    connection.set_schema_to_public()
    with pytest.raises(AssertionError, match="switch the connection to a school"):
        f.PersonFactory()
