"""Issue 17: a class's register over time: the week grid (pupils × AM/PM for a week) and
the year view (each school day coloured by the class's attendance that day)."""

from datetime import date, timedelta

from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from tenants.access import role_required
from tenants.roles import MARKERS

from . import codes, selectors
from .access import group_for_request
from .models import Pupil, SchoolDay
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
    days = {d.date: d for d in SchoolDay.objects.filter(date__range=(monday, friday))}
    pupils = list(selectors.by_name_used(
        Pupil.objects.filter(registration_group=group, admission_date__lte=friday)
        .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=monday))))
    marks = selectors.week_marks(pupil_ids=[p.pk for p in pupils], monday=monday, friday=friday)
    columns = []
    for i in range(5):
        d = monday + timedelta(days=i)
        sd = days.get(d)
        for s in SESSIONS:
            columns.append({"date": d, "session": s, "closed": sd is None or sd.closed,
                            "label": sd.closure_label if sd else "", "attended": 0, "marked": 0})
    rows = []
    for p in pupils:
        cells, total = [], {"attended": 0, "possible": 0, "authorised": 0, "unauthorised": 0}
        for col in columns:
            code = marks.get((p.pk, col["date"], col["session"]), "")
            c = codes.CODES.get(code)
            cells.append({"code": code, "closed": col["closed"] and not code,
                          "title": f"{col['date']:%a %-d %b} {col['session']}: "
                                   f"{c.meaning if c else 'no mark'}"})
            if c:
                col["marked"] += 1
                col["attended"] += c.attended
                total["attended"] += c.attended
                total["possible"] += c.possible
                total["authorised"] += c.category == codes.AUTHORISED
                total["unauthorised"] += c.category == codes.UNAUTHORISED
        total["pct"] = 100 * total["attended"] / total["possible"] if total["possible"] else None
        rows.append({"pupil": p, "cells": cells, "total": total})
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
