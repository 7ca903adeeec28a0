"""Setting up schools, trusts and people."""

from dataclasses import dataclass, field

from django.db import transaction
from django_tenants.utils import schema_context

from .models import Domain, Membership, School, Trust, TrustMembership, User
from .presets import PRESETS, loaders
from .provisioning import reserved


def school_create(*, schema: str, name: str, domain: str, trust_slug: str | None = None,
                  preset: str | None = None, trust_name: str | None = None,
                  details: dict | None = None) -> School:
    """Create the tenant and its schema (a copy of the migrated template schema,
    tenants/provisioning.py); a preset loads the seed school's configuration. ``details`` sets
    further School fields (urn, la_code, estab, ...) over the preset's."""
    if reserved(schema):
        raise ValueError(f"'{schema}' is reserved: choose another schema name")
    if preset and preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}': choose from {', '.join(PRESETS)}")
    config = PRESETS.get(preset, {})
    trust = None
    if trust_slug:
        trust, _ = Trust.objects.get_or_create(
            slug=trust_slug, defaults={"name": trust_name or trust_slug.replace("-", " ").title()})
    school = School(schema_name=schema, name=name, trust=trust, preset=preset or "")
    for key in ("la_name", "la_code", "attendance_target", "headteacher"):
        if key in config:
            setattr(school, key, config[key])
    for session, (opens, late, closes) in config.get("times", {}).items():
        setattr(school, f"{session}_open", opens)
        setattr(school, f"{session}_late_after", late)
        setattr(school, f"{session}_close", closes)
    for key, value in (details or {}).items():
        setattr(school, key, value)
    school.full_clean(exclude=["schema_name"])
    school.save()  # creates and migrates the schema
    Domain.objects.create(domain=domain, tenant=school, is_primary=True)
    if preset:
        with schema_context(school.schema_name):
            preset_apply(preset)
    return school


@dataclass
class SchoolRow:
    """One school of a trust's or LA's list (tenants/school_list.py)."""

    line: int
    schema: str
    name: str
    domain: str
    preset: str = ""
    trust: str = ""
    trust_name: str = ""
    details: dict = field(default_factory=dict)


def schools_create(rows: list[SchoolRow]) -> list[School]:
    """Create every school of a checked list, or none.

    Each school is its own transaction (one transaction over a list of hundreds would hold a
    lock on every table of every new schema and run out of lock space); a failure part-way
    removes the schools already made, their schemas (cloned by the owner's own session) and the
    trusts the list created.
    """
    from django.db import connection

    from attendance_site.db_roles import as_owner, owner_kept

    public_tenant_ensure()
    made: list[School] = []
    trusts_before = set(Trust.objects.values_list("pk", flat=True))
    current = None
    with connection.cursor() as cur:  # schemas already there, in one query
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [[r.schema for r in rows]])
        taken = {r[0] for r in cur.fetchall()}
    # One owner's connection clones every school of the list (not one connection a school).
    with owner_kept():
        try:
            for row in rows:
                if row.schema in taken:
                    raise ValueError(f"line {row.line}, schema: '{row.schema}' already exists")
                current = row.schema
                with transaction.atomic():
                    made.append(school_create(
                        schema=row.schema, name=row.name, domain=row.domain,
                        preset=row.preset or None, trust_slug=row.trust or None,
                        trust_name=row.trust_name or None, details=row.details))
                current = None
            return made
        except BaseException:
            for school in reversed(made):
                school.delete(force_drop=True)  # its schema, domain and memberships
            Trust.objects.exclude(pk__in=trusts_before).filter(schools__isnull=True).delete()
            if current is not None:  # the failing school's schema, if it got that far
                with as_owner(), connection.cursor() as cur:
                    cur.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(current)} CASCADE")
            raise


def preset_apply(preset: str) -> None:
    """Each app loads its own part of a preset into the current school schema: the apps above
    register their loaders at start-up (tenants.presets.loader_register)."""
    for load in loaders():
        load(preset)


@transaction.atomic
def person_grant(*, username: str, role: str, school: School | None = None,
                 trust: Trust | None = None, first_name: str = "", last_name: str = "",
                 email: str = "", password: str | None = None) -> User:
    """Create the person if needed and give them a role in a school (or a trust)."""
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first_name, "last_name": last_name,
                                     "email": email})
    if created or password:
        user.set_password(password) if password else user.set_unusable_password()
        user.save()
    if trust is not None:
        TrustMembership.objects.get_or_create(user=user, trust=trust)
    if school is not None:
        Membership.objects.get_or_create(user=user, school=school, role=role)
    return user


def public_tenant_ensure(domain: str = "localhost") -> School:
    """The public schema hosts the platform front page and shared tables."""
    school, created = School.objects.get_or_create(schema_name="public",
                                                   defaults={"name": "Attendance platform"})
    if created or not school.domains.exists():
        Domain.objects.get_or_create(domain=domain, defaults={"tenant": school,
                                                              "is_primary": True})
    return school


@transaction.atomic
def school_targets_set(*, school: School, attendance_target, dfe_improvement_target) -> School:
    """The school's own attendance target and the DfE's improvement target (or None)."""
    school.attendance_target, school.dfe_improvement_target = attendance_target, dfe_improvement_target
    school.save(update_fields=["attendance_target", "dfe_improvement_target"])
    return school


@transaction.atomic
def school_two_factor_set(*, school: School, required: bool) -> School:
    """Whether roles that see safeguarding data must sign in with an authenticator app."""
    School.objects.filter(pk=school.pk).update(require_two_factor=required)
    school.require_two_factor = required
    return school
