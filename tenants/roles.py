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
# Report readers who may also read pupil records: the dashboards' pupil lists (drill-downs).
# Everyone else who reads reports sees figures only (registers.disclosure).
PUPIL_REPORT_READERS = REPORT_READERS & PUPIL_READERS
