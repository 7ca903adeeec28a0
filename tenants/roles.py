"""Roles a person can hold in a school (docs/domain.md section 10)."""

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
    DESIGNATED_SAFEGUARDING_LEAD = "dsl", "Designated safeguarding lead"


# Who may do what. Views name one of these sets, never individual roles inline.
MARKERS = {Role.OFFICE, Role.TEACHER, Role.ATTENDANCE_OFFICER, Role.HEAD}
WHOLE_SCHOOL_MARKERS = {Role.OFFICE, Role.ATTENDANCE_OFFICER, Role.HEAD}
PUPIL_READERS = {Role.OFFICE, Role.TEACHER, Role.ATTENDANCE_OFFICER, Role.HEAD,
                 Role.DESIGNATED_SAFEGUARDING_LEAD}
ADMIN_STAFF = {Role.OFFICE, Role.ATTENDANCE_OFFICER, Role.HEAD}
REPORT_READERS = {Role.HEAD, Role.ATTENDANCE_OFFICER, Role.GOVERNOR, Role.TRUST_DIRECTOR}
STAFF = MARKERS | {Role.GOVERNOR, Role.TRUST_DIRECTOR}

# Pupil records: these roles read every pupil's; a teacher reads only their own classes'.
WHOLE_SCHOOL_PUPIL_READERS = PUPIL_READERS - {Role.TEACHER}
# Child-protection / child-in-need details (everyone else sees a neutral "see the DSL" marker);
# a school can require two-factor sign-in for these roles (School.require_two_factor).
SAFEGUARDING_READERS = {Role.HEAD, Role.ATTENDANCE_OFFICER, Role.DESIGNATED_SAFEGUARDING_LEAD}
# Report readers who may also read pupil records: the dashboards' pupil lists (drill-downs).
# Everyone else who reads reports sees figures only (registers.disclosure).
PUPIL_REPORT_READERS = REPORT_READERS & PUPIL_READERS
# Who may invite staff, manage the school's two-factor rule and reset a member's two-factor.
ACCOUNT_MANAGERS = {Role.HEAD}
# The attendance lead and the head run casework: escalation, letters to groups, LA returns,
# part-time timetables.
CASEWORKERS = {Role.ATTENDANCE_OFFICER, Role.HEAD}
HEADS = {Role.HEAD}
PARENTS = {Role.PARENT}
# Leave requests: the school's admin staff, and a parent for their own children.
LEAVE_READERS = ADMIN_STAFF | PARENTS
# LA returns: the caseworkers edit them, the LA officer reads them.
RETURN_READERS = CASEWORKERS | {Role.LA_OFFICER}
