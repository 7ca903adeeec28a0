"""At risk of persistent absence (issue 19 item 4): the one home of the early-warning rule.

"Not PA yet, but projected to reach 10% absence (registers.selectors.PA_THRESHOLD) by the end of
the school year at the rate of the last four school weeks, or a fall of at least
``SHARP_FALL_POINTS`` attendance points over the last four weeks against the year before them,
or PA last school year ("previously PA")."

The rule works on counts of sessions alone, so every caller brings its own figures: the early
warning list (recognition.selectors) from ``registers.selectors.stats_by_pupil``, the graduated
response's ``at_risk_pa`` trigger (escalation.nightly) from the nightly's one aggregate.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from .models import SchoolDay
from .school_year import school_year_end, school_year_start
from .selectors import PA_THRESHOLD

RECENT_WEEKS = 4
SHARP_FALL_POINTS = 10.0  # attendance points lost in the last four weeks against the year before them


class Sessions(NamedTuple):
    """Possible sessions and sessions absent (authorised + unauthorised) over some window."""

    possible: int = 0
    absent: int = 0

    @property
    def attendance_pct(self) -> float | None:
        return (self.possible - self.absent) * 100.0 / self.possible if self.possible else None

    @property
    def persistent(self) -> bool:
        # Unrounded, as registers.selectors.Stats.persistent: exactly 10.0% absence is PA.
        return self.possible > 0 and self.absent * 100 >= PA_THRESHOLD * self.possible


class Risk(NamedTuple):
    kind: str      # projected | sharp_fall | previously_pa
    text: str


def projected_absence_pct(so_far: Sessions, recent: Sessions, sessions_left: int) -> float | None:
    """Absence % at the end of the year if the rest of it goes as the last four weeks did (the
    rate so far when the last four weeks have no possible sessions)."""
    if not so_far.possible:
        return None
    rate = recent.absent / recent.possible if recent.possible else so_far.absent / so_far.possible
    return (so_far.absent + rate * sessions_left) * 100.0 / (so_far.possible + sessions_left)


def risks(so_far: Sessions, recent: Sessions, last_year: Sessions | None,
          sessions_left: int) -> list[Risk]:
    """Why a pupil is at risk of persistent absence; empty if not at risk, or already PA this
    school year. ``so_far``: the school year to date; ``recent``: the last RECENT_WEEKS school
    weeks (inside ``so_far``); ``last_year``: the previous school year (None: not on roll)."""
    if so_far.persistent:
        return []
    out = []
    proj = projected_absence_pct(so_far, recent, sessions_left)
    if proj is not None and proj >= PA_THRESHOLD:
        out.append(Risk("projected", f"Projected {100 - proj:.1f}% by the end of the year at the last "
                                     f"{RECENT_WEEKS} weeks' rate"))
    before = Sessions(so_far.possible - recent.possible, so_far.absent - recent.absent)
    if recent.possible and before.possible and \
            before.attendance_pct - recent.attendance_pct >= SHARP_FALL_POINTS:
        out.append(Risk("sharp_fall", f"Sharp fall: {recent.attendance_pct:.1f}% in the last "
                                      f"{RECENT_WEEKS} weeks, {before.attendance_pct:.1f}% before"))
    if last_year is not None and last_year.persistent:
        out.append(Risk("previously_pa", f"Previously PA: {last_year.attendance_pct:.1f}% last school year"))
    return out


def sessions_left(today: date) -> int:
    """Possible sessions (two a day) on the open school days after ``today`` to the end of its
    school year. One query."""
    return 2 * SchoolDay.objects.filter(date__gt=today, date__lte=school_year_end(today),
                                        closed=False).count()


def previous_school_year(today: date) -> tuple[date, date]:
    """First and last day of the school year before the one containing ``today``."""
    start = school_year_start(today)
    return school_year_start(start - timedelta(days=1)), start - timedelta(days=1)


def recent_weeks_start(today: date) -> date | None:
    """Monday of the earliest of the last RECENT_WEEKS school weeks of this school year up to
    ``today`` (weeks with an open day), or None before the first. One query."""
    weeks = list(SchoolDay.objects.filter(date__lte=today, date__gte=school_year_start(today), closed=False)
                 .order_by("-week").values_list("week", flat=True).distinct()[:RECENT_WEEKS])
    return weeks[-1] if weeks else None
