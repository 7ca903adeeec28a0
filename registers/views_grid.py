"""Issue 17: a class's register over time: the week grid (pupils × AM/PM for a week) and
the year view (each school day coloured by the class's attendance that day)."""

from datetime import date, timedelta

from django.shortcuts import render
from django.utils import timezone

from tenants.access import role_required
from tenants.roles import MARKERS

from . import selectors
from .access import group_for_request
from .models import SchoolDay
from .school_year import school_year_end, school_year_start

SESSIONS = ("AM", "PM")


@role_required(MARKERS)
def week_grid(request, group_id, day):
    """Pupils on roll during the week × each day's AM and PM code, coloured by category
    (registers.codes), with totals per pupil and per session. Five queries however many
    pupils the class has (role check and class, school days, pupils, marks)."""
    group = group_for_request(request, group_id)
    monday = day - timedelta(days=day.weekday())
    friday = monday + timedelta(days=4)
    grid = selectors.week_grid(group=group, monday=monday)
    columns, rows = grid["columns"], grid["rows"]
    return render(request, "registers/week_grid.html", {
        "group": group, "monday": monday, "friday": friday, "columns": columns, "rows": rows,
        "prev": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "days": [monday + timedelta(days=i) for i in range(5)],
        "legend": [("code-present", "Present"), ("code-aea", "Approved activity"),
                   ("code-authorised", "Authorised absence"),
                   ("code-unauthorised", "Unauthorised absence"),
                   ("code-not", "Not a possible session"), ("code-closed", "School closed")],
    })


def _band(pct: float | None, target: float) -> str:
    """The colour of a day: at or above the school's target, below it, or at or below the
    persistent-absence line (registers.selectors.PA_THRESHOLD)."""
    if pct is None:
        return "year-none"
    if pct >= target:
        return "year-good"
    return "year-low" if pct <= 100 - selectors.PA_THRESHOLD else "year-below"


@role_required(MARKERS)
def class_year(request, group_id):
    """The school year as a calendar of weeks (Mon–Fri), each day coloured by the class's
    attendance that day and linked to its week grid."""
    group = group_for_request(request, group_id)
    today = timezone.localdate()
    start, end = school_year_start(today), school_year_end(today)
    daily = selectors.class_daily_attendance(group_id=group.pk, date_from=start, date_to=end)
    target = float(request.tenant.attendance_target)
    weeks: dict[date, list] = {}
    for d in SchoolDay.objects.filter(date__range=(start, end)):
        cells = weeks.setdefault(d.week, [None] * 5)
        attended, possible = daily.get(d.date, (0, 0))
        pct = 100 * attended / possible if possible else None
        cells[d.date.weekday()] = {"day": d, "pct": pct,
                                   "band": "code-closed" if d.closed else _band(pct, target)}
    return render(request, "registers/class_year.html", {
        "group": group, "weeks": sorted(weeks.items()), "start": start, "end": end,
        "target": target, "pa_line": 100 - selectors.PA_THRESHOLD, "today": today})
