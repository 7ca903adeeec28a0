"""Roles a person can hold in a school (domain.md section 10)."""

from django.db import models


class Role(models.TextChoices):
    OFFICE = "office", "Office / admin"
    TEACHER = "teacher", "Class teacher"
    ATTENDANCE_OFFICER = "attendance_officer", "Attendance officer / lead"
    HEAD = "head", "Headteacher / senior attendance champion"
    GOVERNOR = "governor", "Governor (read-only)"
    TRUST_DIRECTOR = "trust_director", "Trust director"
    LA_OFFICER = "la_officer", "LA attendance officer"
    PARENT = "parent", "Parent / carer"


# Who may do what. Views name one of these sets, never individual roles inline.
MARKERS = {Role.OFFICE, Role.TEACHER, Role.ATTENDANCE_OFFICER, Role.HEAD}
WHOLE_SCHOOL_MARKERS = {Role.OFFICE, Role.ATTENDANCE_OFFICER, Role.HEAD}
PUPIL_READERS = {Role.OFFICE, Role.TEACHER, Role.ATTENDANCE_OFFICER, Role.HEAD}
ADMIN_STAFF = {Role.OFFICE, Role.ATTENDANCE_OFFICER, Role.HEAD}
REPORT_READERS = {Role.HEAD, Role.ATTENDANCE_OFFICER, Role.GOVERNOR, Role.TRUST_DIRECTOR}
STAFF = MARKERS | {Role.GOVERNOR, Role.TRUST_DIRECTOR}

# Roles that see safeguarding data (child protection, looked-after flags, case files): a school
# can require two-factor sign-in for them (School.require_two_factor, tenants/twofactor.py).
# The designated safeguarding lead joins the set where that role exists.
SAFEGUARDING_READERS = {Role.HEAD, Role.ATTENDANCE_OFFICER}
if hasattr(Role, "DSL"):
    SAFEGUARDING_READERS.add(Role.DSL)
# Who may invite staff, manage the school's two-factor rule and reset a member's two-factor.
ACCOUNT_MANAGERS = {Role.HEAD}
