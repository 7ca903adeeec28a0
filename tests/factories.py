"""factory_boy factories for the rows tests set up (docs: tests use factories, not hand-built rows).

Every factory writes to the connection's current schema: school tables (pupils, marks, cases,
letters...) land in the school the test switched to (``school_a``), people in the shared
tables. The factories are thin: they make plain, valid rows and run no business rules. Where a
service is the single write path that matters to a test (marks through
``registers.services.marks_save`` with its policy and amendment trail, a report accepted
through ``absences.services``, a case moved along the ladder), the test calls the service;
a factory only sets the scene. The one exception is ``PersonFactory``, which goes through
``tenants.services.person_grant`` because a role grant is a user plus a membership.

Models are named as "app.Model" strings so that importing this module (from conftest) needs no
app registry.
"""

from datetime import date, timedelta

import factory
from django.db import connection
from factory.django import DjangoModelFactory

# --- UPNs: valid check letter, never repeated within a run ---

UPN_SERIAL = iter(range(1, 10**6))


def make_upn(la: int = 383, estab: int = 2001, year: int = 20, serial: int | None = None) -> str:
    from stdnum.gb.upn import calc_check_digit

    serial = next(UPN_SERIAL) if serial is None else serial
    # A UPN has 3 serial digits: past 999 (a long run of the suite) carry into the school number.
    estab, serial = (estab + serial // 1000) % 10000, serial % 1000
    body = f"{la:03d}{estab:04d}{year:02d}{serial:03d}"
    return calc_check_digit(body) + body


def current_school():
    """The school whose schema the connection is on (``school_a`` in most tests)."""
    from tenants.models import School

    tenant = getattr(connection, "tenant", None)
    assert isinstance(tenant, School) and tenant.schema_name != "public", \
        "switch the connection to a school first (the school_a fixture)"
    return tenant


# --- people ---

class UserFactory(DjangoModelFactory):
    """A person with no role (and an unusable password)."""

    class Meta:
        model = "tenants.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = "Test"
    last_name = "Person"
    password = factory.django.Password(None)


class PersonFactory(factory.Factory):
    """A person with a role, granted through ``tenants.services.person_grant`` (a user and a
    membership of the current school; a trust director is a member of ``trust``).

    ``PersonFactory(role=Role.OFFICE)``; ``PersonFactory(role=Role.TRUST_DIRECTOR, trust=t,
    school=None)``.
    """

    class Meta:
        model = dict  # built by person_grant (see _create)

    username = factory.Sequence(lambda n: f"staff{n}")
    role = "office"
    school = factory.LazyFunction(current_school)
    trust = None
    first_name = ""
    last_name = ""
    email = ""
    password = None

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("a person is granted a role in the database: use create()")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from tenants.services import person_grant

        return person_grant(**kwargs)


# --- registers ---

class RegistrationGroupFactory(DjangoModelFactory):
    """A class. Asking for a name that exists returns that class (get or create)."""

    class Meta:
        model = "registers.RegistrationGroup"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"G{n}")
    year_group = 3


class PupilFactory(DjangoModelFactory):
    """A pupil on roll since September 2020 in a class of their year group. ``serial=`` picks
    the UPN's serial (a fixed UPN for tests that look pupils up by it)."""

    class Meta:
        model = "registers.Pupil"

    class Params:
        serial = None

    upn = factory.LazyAttribute(lambda o: make_upn(serial=o.serial))
    legal_surname = "Pupil"
    legal_forename = "Test"
    date_of_birth = date(2017, 3, 1)
    gender = "F"
    year_group = 3
    registration_group = factory.SubFactory(RegistrationGroupFactory,
                                            year_group=factory.SelfAttribute("..year_group"))
    admission_date = date(2020, 9, 1)
    leaving_date = None
    deletion_ground = factory.LazyAttribute(lambda o: "other_school" if o.leaving_date else "")


def _next_priority(contact) -> int:
    from django.db.models import Max

    if contact.pupil.pk is None:
        return 1
    return (contact.pupil.contacts.aggregate(top=Max("priority"))["top"] or 0) + 1


class ContactFactory(DjangoModelFactory):
    """A parent or carer. The priority defaults to the pupil's next free one (the unique
    (pupil, priority) constraint is deferred, so a clash would only show at commit)."""

    class Meta:
        model = "registers.Contact"

    pupil = factory.SubFactory(PupilFactory)
    priority = factory.LazyAttribute(_next_priority)
    forename = "Jane"
    surname = factory.LazyAttribute(lambda o: o.pupil.legal_surname)


class MarkFactory(DjangoModelFactory):
    """A register mark written straight to the table: no register policy and no amendment
    trail (``registers.services.marks_save`` is the write path tests of those use). Present
    by default: "/" in the morning, "\\" in the afternoon."""

    class Meta:
        model = "registers.Mark"

    pupil = factory.SubFactory(PupilFactory)
    date = date(2025, 9, 2)
    session = "AM"
    code = factory.LazyAttribute(lambda o: "\\" if o.session == "PM" else "/")


def marks_create(pupil, entries) -> list:
    """Marks for ``pupil`` from (date, session, code) entries, built by MarkFactory and
    inserted at once (bulk_create: one INSERT, no signals, as the hand-built rows were)."""
    from registers.models import Mark

    return Mark.objects.bulk_create(
        [MarkFactory.build(pupil=pupil, date=d, session=s, code=c) for d, s, c in entries])


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class SchoolDayFactory(DjangoModelFactory):
    """An open day of the school's calendar (``calendar_replace`` builds whole terms)."""

    class Meta:
        model = "registers.SchoolDay"
        django_get_or_create = ("date",)

    date = factory.Sequence(lambda n: date(2030, 1, 7) + timedelta(days=n))
    term = "Test term"
    week = factory.LazyAttribute(lambda o: _monday(o.date))


# --- absences ---

class AbsenceReportFactory(DjangoModelFactory):
    """A parent's report of an illness, new (not yet handled)."""

    class Meta:
        model = "absences.AbsenceReport"

    pupil = factory.SubFactory(PupilFactory)
    reason = "illness"
    first_day = date(2026, 1, 6)
    last_day = factory.SelfAttribute("first_day")


def _weekday_sessions(o) -> list[str]:
    out, d = [], o.first_day
    while d <= o.last_day:
        if d.weekday() < 5:
            out += [f"{d} AM", f"{d} PM"]
        d += timedelta(days=1)
    return out


class LeaveRequestFactory(DjangoModelFactory):
    """A pending request for leave in term time; ``sessions`` are the weekdays' sessions."""

    class Meta:
        model = "absences.LeaveRequest"

    pupil = factory.SubFactory(PupilFactory)
    first_day = date(2026, 3, 2)
    last_day = factory.SelfAttribute("first_day")
    sessions = factory.LazyAttribute(_weekday_sessions)
    reason = "exceptional"
    explanation = "Funeral"


# --- escalation and letters ---

def _first_stage():
    from escalation.models import Stage

    return Stage.objects.filter(active=True).order_by("track", "order", "pk").first()


class CaseFactory(DjangoModelFactory):
    """An open case at the school's first active stage (or ``stage=``), with that stage's
    track and owner role. It is a row, not a run of the ladder (escalation.ladder)."""

    class Meta:
        model = "escalation.Case"

    pupil = factory.SubFactory(PupilFactory)
    stage = factory.LazyFunction(_first_stage)
    track = factory.SelfAttribute("stage.track")
    owner_role = factory.SelfAttribute("stage.owner_role")
    opened_on = date(2025, 10, 3)
    stage_since = factory.SelfAttribute("opened_on")


class LetterFactory(DjangoModelFactory):
    """A queued letter (one per pupil and trigger key)."""

    class Meta:
        model = "letters.Letter"

    pupil = factory.SubFactory(PupilFactory)
    template_key = "letter1"
    trigger_key = factory.Sequence(lambda n: f"test:{n}")
