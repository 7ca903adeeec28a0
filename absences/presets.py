"""Leave-of-absence and reporting rules from the seed schools (docs/domain.md section 8).

Plain data: ``create_school --preset`` loads one into the new school's schema and the
school can then edit its own copy (Absences -> Leave rules, or the admin).
"""

from datetime import date
from decimal import Decimal as D

from .models import AssessmentPeriod, LeavePolicy

# Statutory assessments in the 2025-26 school year (STA timetable); schools update these.
ASSESSMENTS_2026 = [
    ("Key stage 2 tests (SATs)", date(2026, 5, 11), date(2026, 5, 14), 6),
    ("Multiplication tables check", date(2026, 6, 1), date(2026, 6, 12), 4),
    ("Phonics screening check", date(2026, 6, 8), date(2026, 6, 12), 1),
]

PRESETS = {
    # 000 Beecroft: "request leave ... a month in advance"; "2 days allowed in total in any
    # school year" for religious observance; phone before 9.00 am on the first day.
    "beecroft": {
        "name": "Beecroft leave rules",
        "notice_months": 1,
        "ro_days_cap": D("2"),
        "how_to_report": "If your child is ill, tell the school on the first day of absence "
                         "before 9.00 am and give the reason: report it here or telephone "
                         "0113 2618820.",
        "leave_guidance": "Leave is only granted in exceptional circumstances, as agreed by the "
                          "headteacher, and must be requested a month in advance. Holidays and "
                          "visits to family abroad are not exceptional circumstances. Religious "
                          "observance: 2 days in a school year, only for days set apart by your "
                          "religious body.",
    },
    # 001 Cheetwood: no retrospective requests; every request answered in writing; phone on
    # the first day with an expected date of return.
    "cheetwood": {
        "name": "Cheetwood leave rules",
        "written_response": True,
        "how_to_report": "Tell the school on the first day of absence and give an expected date "
                         "of return: report it here or telephone the office. A written note "
                         "should follow.",
        "leave_guidance": "No leave is authorised in term time except in exceptional "
                          "circumstances. Complete this form before the leave (and before a "
                          "religious event): retrospective requests are not considered. Every "
                          "request is answered in writing.",
    },
    # 002 LAP: first-day reporting before the start of the school day; parents see their
    # child's attendance (MCAS).
    "lap": {
        "name": "LAP leave rules",
        "how_to_report": "Tell the academy on the first morning of any absence, before the start "
                         "of the school day, with the reason and how long your child is likely "
                         "to be away. Report it here or phone the office.",
        "leave_guidance": "Leave of absence is granted only in exceptional circumstances, at the "
                          "school's discretion; the school decides how many days. Leave cannot "
                          "be granted retrospectively.",
    },
    # 003 St Luke's: two weeks' notice; refused during (and just before) statutory
    # assessment periods, with any unauthorised absence, or authorised absence above 10%;
    # performance/activity leave not authorised if attendance would fall below 95%.
    "stlukes": {
        "name": "St Luke's leave rules",
        "notice_days": 14,
        "refuse_if_unauthorised": True,
        "refuse_if_authorised_above": D("10"),
        # "The headteacher will not authorise any absences which would mean that a pupil's
        # attendance would fall below 95 percent" (performance and activity leave, C1).
        "refuse_if_attendance_below": D("95"),
        "assessment_days_before": 7,
        "assessments": ASSESSMENTS_2026,
        "how_to_report": "Telephone the school office before 8.30 am on the first day of "
                         "absence with the reason and how long it is likely to last, or report "
                         "it here.",
        "leave_guidance": "Write to the headteacher at least two weeks before the leave. Leave "
                          "is not granted during or immediately before statutory assessments, "
                          "if your child has any unauthorised absence, or if authorised absence "
                          "is already above 10%. Performance or activity leave is not authorised if it "
                          "would take your child's attendance below 95%.",
    },
    # 004 Banks Lane: the online Leave of Absence Request form, in advance.
    "bankslane": {
        "name": "Banks Lane leave rules",
        "how_to_report": "Contact the school on the first day of absence; the pastoral manager "
                         "calls if we have not heard from you. You can report it here.",
        "leave_guidance": "Leave is only granted in exceptional circumstances. Complete this "
                          "Leave of Absence Request form in advance, for the headteacher.",
    },
}


def apply(preset: str) -> None:
    """Load the preset's absence rules into the current school schema."""
    config = dict(PRESETS.get(preset, {}))
    if not config:
        return
    periods = config.pop("assessments", [])
    LeavePolicy.objects.all().delete()
    policy = LeavePolicy.objects.create(**config)
    AssessmentPeriod.objects.bulk_create(
        AssessmentPeriod(policy=policy, label=label, start_date=start, end_date=end, year_group=yg)
        for label, start, end, yg in periods)
