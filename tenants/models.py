from datetime import time

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from attendance_site.db_roles import as_owner

from .roles import Role


class User(AbstractUser):
    """A person who can sign in: staff, governors, trust and LA officers, parents."""

    # Kept in step with the person's confirmed two-factor devices (tenants/twofactor.py), so
    # every request knows from the row it loads anyway whether a second step is owed.
    two_factor = models.BooleanField("two-factor sign-in on", default=False, editable=False)

    def __str__(self):
        return self.get_full_name() or self.username


class Trust(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)

    def __str__(self):
        return self.name


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class School(TenantMixin):
    """One school = one tenant schema. Register times are the school's own (docs/domain.md 1)."""

    name = models.CharField(max_length=200)
    trust = models.ForeignKey(Trust, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="schools")
    preset = models.CharField(max_length=30, blank=True)
    urn = models.CharField("URN", max_length=10, blank=True)
    la_name = models.CharField("local authority", max_length=100, blank=True)
    la_code = models.PositiveSmallIntegerField("LA number", null=True, blank=True)
    # DfE establishment number: with la_code it makes the LAESTAB that Common Transfer
    # Files name schools by (registers/ctf.py).
    estab = models.CharField("DfE establishment number", max_length=4, blank=True)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    headteacher = models.CharField(max_length=120, blank=True)
    attendance_target = models.DecimalField(max_digits=4, decimal_places=1, default=96)
    # The attendance improvement target the DfE sets the school (entered by the school),
    # shown beside its own target on the dashboard.
    dfe_improvement_target = models.DecimalField("DfE attendance improvement target", max_digits=4,
                                                 decimal_places=1, null=True, blank=True)
    am_open = models.TimeField(default=time(8, 45))
    am_late_after = models.TimeField(default=time(8, 55))
    am_close = models.TimeField(default=time(9, 15))
    pm_open = models.TimeField(default=time(13, 15))
    pm_late_after = models.TimeField(default=time(13, 20))
    pm_close = models.TimeField(default=time(13, 45))
    created = models.DateTimeField(auto_now_add=True)
    require_two_factor = models.BooleanField(
        "require two-factor sign-in for roles that see safeguarding data", default=False)

    auto_create_schema = True
    auto_drop_schema = True

    # Schemas are created and dropped by the owner's role (attendance_site/db_roles.py). A new
    # school's schema is a copy of the migrated template schema (tenants/provisioning.py).
    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        from django_tenants.postgresql_backend.base import _check_schema_name
        from django_tenants.utils import schema_exists

        from . import provisioning

        _check_schema_name(self.schema_name)  # it goes into DDL
        if self.schema_name != "public" and provisioning.reserved(self.schema_name):
            raise ValueError(f"'{self.schema_name}' is reserved: choose another schema name")
        with as_owner():
            if sync_schema and provisioning.template_schema() and not self.schema_name == "public":
                if check_if_exists and schema_exists(self.schema_name):
                    return False
                provisioning.schema_clone(self.schema_name)
                return True
            return super().create_schema(check_if_exists=check_if_exists, sync_schema=sync_schema,
                                         verbosity=verbosity)

    def _drop_schema(self, *args, **kwargs):
        with as_owner():
            return super()._drop_schema(*args, **kwargs)

    @property
    def laestab(self) -> str:
        """e.g. "3832001"; empty until both parts are known."""
        return f"{self.la_code:03d}{self.estab}" if self.la_code and self.estab else ""

    def __str__(self):
        return self.name

    def clean(self):
        for s in ("am", "pm"):
            opens, late, closes = (getattr(self, f"{s}_{k}") for k in ("open", "late_after", "close"))
            if not opens <= late <= closes:
                raise ValidationError(
                    f"{s.upper()} register: late time must be between opening and closing.")
            if _minutes(closes) - _minutes(opens) > 30:
                raise ValidationError(
                    f"{s.upper()} register must close no more than 30 minutes after it opens.")

    def register_times(self, session: str) -> tuple[time, time, time]:
        s = session.lower()
        return getattr(self, f"{s}_open"), getattr(self, f"{s}_late_after"), getattr(self, f"{s}_close")


class Domain(DomainMixin):
    pass


class Membership(models.Model):
    """A role held by a person in one school. One person may hold many."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "school", "role"],
                                               name="unique_membership")]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} at {self.school}"


class TrustMembership(models.Model):
    """A trust director reads every school of the trust."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="trust_memberships")
    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "trust"], name="unique_trust_member")]

    def __str__(self):
        return f"{self.user} – director at {self.trust}"
