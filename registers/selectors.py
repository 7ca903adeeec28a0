"""Reads that feed pages and exports. Statistics aggregate in SQL (docs/domain.md section 3)."""

from dataclasses import dataclass, fields
from datetime import date, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from . import codes
from .calendar import days_next_to_breaks
from .models import Contact, Mark, Pupil, SchoolDay
from .school_year import csa_birth_range, csa_dob_bounds

PA_THRESHOLD = 10.0  # absence % at or above which a pupil is persistently absent
SA_THRESHOLD = 50.0  # absence % at or above which a pupil is severely absent


@dataclass
class Stats:
    possible: int = 0
    present: int = 0
    aea: int = 0
    authorised: int = 0
    unauthorised: int = 0
    not_possible: int = 0
    late_before_close: int = 0
    late_after_close: int = 0
    minutes_late: int = 0

    @property
    def attended(self) -> int:
        return self.present + self.aea

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised

    def _pct(self, n: int) -> float | None:
        return n * 100.0 / self.possible if self.possible else None

    @property
    def attendance_pct(self) -> float | None:
        return self._pct(self.attended)

    @property
    def absence_pct(self) -> float | None:
        return self._pct(self.absent)

    @property
    def authorised_pct(self) -> float | None:
        return self._pct(self.authorised)

    @property
    def unauthorised_pct(self) -> float | None:
        return self._pct(self.unauthorised)

    @property
    def persistent(self) -> bool:
        # Thresholds compare unrounded values: exactly 10.0% absence is PA.
        return self.possible > 0 and self.absent * 100 >= PA_THRESHOLD * self.possible

    @property
    def severe(self) -> bool:
        return self.possible > 0 and self.absent * 100 >= SA_THRESHOLD * self.possible

    def as_dict(self) -> dict:
        # Plain attribute reads: dataclasses.asdict deep-copies, ~15 ms per 1,000 pupils.
        d = {k: getattr(self, k) for k in _STATS_FIELD_NAMES}
        d.update(attended=self.attended, attendance_pct=self.attendance_pct,
                 absence_pct=self.absence_pct, persistent=self.persistent, severe=self.severe)
        return d

    def __add__(self, other: "Stats") -> "Stats":
        return Stats(**{k: getattr(self, k) + getattr(other, k) for k in _STATS_FIELD_NAMES})


_STATS_FIELD_NAMES = tuple(f.name for f in fields(Stats))


def _in(codes_: list[str]) -> Q:
    return Q(code__in=codes_)


STAT_AGGREGATES = {
    "possible": Count("id", filter=_in(codes.POSSIBLE_CODES)),
    "present": Count("id", filter=_in(codes.PRESENT_CODES)),
    "aea": Count("id", filter=_in(codes.AEA_CODES)),
    "authorised": Count("id", filter=_in(codes.AUTHORISED_CODES)),
    "unauthorised": Count("id", filter=_in(codes.UNAUTHORISED_CODES)),
    "not_possible": Count("id", filter=_in(codes.NOT_POSSIBLE_CODES)),
    "late_before_close": Count("id", filter=Q(code="L")),
    "late_after_close": Count("id", filter=Q(code="U")),
    "minutes_late": Sum("minutes_late", default=0),
}


def _marks(pupils: QuerySet | None, date_from: date | None, date_to: date | None) -> QuerySet:
    qs = Mark.objects.all()
    if pupils is not None:
        qs = qs.filter(pupil__in=pupils.values("pk"))
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs


# The figures of STAT_AGGREGATES computed in two steps: marks are first counted per code
# (a plain GROUP BY, ~20 codes a pupil), then the categories are FILTERed sums over those
# few rows. Same results, 2–3x faster on a school year of marks than evaluating
# every category's code list on every mark.
_CATEGORY_CODES = [
    ("possible", codes.POSSIBLE_CODES), ("present", codes.PRESENT_CODES),
    ("aea", codes.AEA_CODES), ("authorised", codes.AUTHORISED_CODES),
    ("unauthorised", codes.UNAUTHORISED_CODES), ("not_possible", codes.NOT_POSSIBLE_CODES),
    ("late_before_close", ["L"]), ("late_after_close", ["U"]),
]
STAT_FIELDS = [name for name, _ in _CATEGORY_CODES] + ["minutes_late"]


def _stats_sql(marks: QuerySet, *, by_pupil: bool) -> tuple[str, list]:
    keys = ["pupil_id", "code"] if by_pupil else ["code"]
    per_code = (marks.order_by().values(*keys)
                .annotate(n=Count("id"), m=Sum("minutes_late")))
    inner, inner_params = per_code.query.sql_with_params()
    sums = [f"COALESCE(SUM(c.n) FILTER (WHERE c.code = ANY(%s)), 0)::bigint AS {name}"
            for name, _ in _CATEGORY_CODES]
    sums.append("COALESCE(SUM(c.m), 0)::bigint AS minutes_late")
    sql = (f"SELECT {'c.pupil_id, ' if by_pupil else ''}{', '.join(sums)} "
           f"FROM ({inner}) c{' GROUP BY c.pupil_id' if by_pupil else ''}")
    return sql, [list(c) for _, c in _CATEGORY_CODES] + list(inner_params)


def stats_by_pupil(*, pupils: QuerySet | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> dict[int, Stats]:
    """Figures per pupil in one GROUP BY query; pupils with no marks are absent from the dict."""
    try:
        sql, params = _stats_sql(_marks(pupils, date_from, date_to), by_pupil=True)
    except EmptyResultSet:  # e.g. pupils=Pupil.objects.filter(pk__in=[])
        return {}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {row[0]: Stats(**dict(zip(STAT_FIELDS, row[1:], strict=True)))
                for row in cur.fetchall()}


def stats_total(*, pupils: QuerySet | None = None, date_from: date | None = None,
                date_to: date | None = None) -> Stats:
    """Figures for a whole set of pupils (a class, year group, pupil group or school)."""
    try:
        sql, params = _stats_sql(_marks(pupils, date_from, date_to), by_pupil=False)
    except EmptyResultSet:
        return Stats()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return Stats(**dict(zip(STAT_FIELDS, cur.fetchone(), strict=True)))


def code_counts(*, pupils: QuerySet | None = None, date_from: date | None = None,
                date_to: date | None = None) -> dict[str, int]:
    rows = (_marks(pupils, date_from, date_to).order_by().values("code")
            .annotate(n=Count("id")).order_by("code"))
    return {r["code"]: r["n"] for r in rows}


def pupils_on_roll(date_from: date, date_to: date) -> QuerySet:
    """Pupils on roll at any time in the range (leavers included up to their leaving date)."""
    return Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=date_from),
                                admission_date__lte=date_to)


def national_cohort(pupils: QuerySet, on: date) -> QuerySet:
    """Restrict to pupils aged 5–15 at the start of the school year containing ``on``: the
    cohort of the national statistics, for headline figures only (no legal duty uses it)."""
    oldest, youngest = csa_birth_range(on)
    return pupils.filter(date_of_birth__gte=oldest, date_of_birth__lte=youngest)


def compulsory_school_age(pupils: QuerySet, on: date) -> QuerySet:
    """Restrict to pupils of compulsory school age on ``on``, each by their own date of birth
    (docs/domain.md section 1): what every legal duty (returns, enforcement) uses."""
    oldest, youngest = csa_dob_bounds(on)
    return pupils.filter(date_of_birth__gte=oldest, date_of_birth__lte=youngest)


def pupils_visible_to(*, user, roles) -> QuerySet:
    """The pupils whose records this person may open: the office, attendance lead, head and
    DSL every pupil; a class teacher the pupils of their own classes; a parent their own
    children; anyone else none."""
    from tenants.roles import WHOLE_SCHOOL_PUPIL_READERS, Role

    roles = frozenset(roles)
    qs = Pupil.objects.all()
    if roles & WHOLE_SCHOOL_PUPIL_READERS:
        return qs
    visible = Q(pk__in=[])
    if Role.TEACHER in roles:
        visible |= Q(registration_group__teachers=user)
    if Role.PARENT in roles:
        visible |= Q(contacts__user=user)
    return qs.filter(pk__in=qs.filter(visible).values("pk"))


# --- patterns of absence (domain.md section 4: day-of-week pattern) ------------------------------

@dataclass
class AbsencePattern:
    """Where a pupil's absent sessions fall: on Mondays and Fridays, next to a weekend or holiday."""

    absent: int = 0
    mon_fri: int = 0
    next_to_break: int = 0

    def _share(self, n: int) -> float | None:
        return n * 100.0 / self.absent if self.absent else None

    @property
    def mon_fri_pct(self) -> float | None:
        return self._share(self.mon_fri)

    @property
    def next_to_break_pct(self) -> float | None:
        return self._share(self.next_to_break)


def absence_pattern(*, pupil_id: int, date_from: date, date_to: date) -> AbsencePattern:
    """One pupil's absence pattern in one aggregate (the pupil page; the nightly job counts the
    same for every pupil in its own scan)."""
    edges = days_next_to_breaks(date_from, date_to)
    absent = codes.AUTHORISED_CODES + codes.UNAUTHORISED_CODES
    row = Mark.objects.filter(pupil_id=pupil_id, date__gte=date_from, date__lte=date_to,
                              code__in=absent).aggregate(
        absent=Count("id"), mon_fri=Count("id", filter=Q(date__week_day__in=(2, 6))),
        next_to_break=Count("id", filter=Q(date__in=edges)))
    return AbsencePattern(**row)


def register_status(day: date) -> list:
    """Every class for a day in year order (nursery, reception, years 1–6, then the rest),
    with ``on_roll`` and the number marked in each session (``marked["AM"]``, ``["PM"]``).
    Three queries whatever the number of classes. (An annotated query drops the model's
    ordering, so the order is explicit.)"""
    from .models import RegistrationGroup

    on_roll = Q(pupils__admission_date__lte=day) & (
        Q(pupils__leaving_date__isnull=True) | Q(pupils__leaving_date__gte=day))
    groups = list(RegistrationGroup.objects.annotate(on_roll=Count("pupils", filter=on_roll))
                  .prefetch_related("teachers").order_by("year_group", "name"))
    counts: dict[tuple[int, str], int] = {}
    for gid, session, n in (Mark.objects.filter(date=day).order_by()
                            .values_list("pupil__registration_group", "session")
                            .annotate(n=Count("id"))):
        counts[(gid, session)] = n
    for g in groups:
        g.marked = {s: counts.get((g.pk, s), 0) for s in ("AM", "PM")}
        g.missing = {s: bool(g.on_roll) and g.marked[s] < g.on_roll for s in ("AM", "PM")}
    return groups


def by_name_used(qs: QuerySet) -> QuerySet:
    """Pupils in order of the name the school uses: preferred surname and forename where set,
    else the legal ones (issue 17: "Max Allen" sorts under A)."""
    from django.db.models import Value
    from django.db.models.functions import Coalesce, Lower, NullIf

    return qs.annotate(
        surname_used=Lower(Coalesce(NullIf("preferred_surname", Value("")), "legal_surname")),
        forename_used=Lower(Coalesce(NullIf("preferred_forename", Value("")),
                                     "legal_forename")),
    ).order_by("surname_used", "forename_used", "pk")


def week_marks(*, pupil_ids: list[int], monday: date, friday: date) -> dict:
    """{(pupil id, date, session): code} for the week: one query."""
    return {(p, d, s): c for p, d, s, c in Mark.objects.filter(
        pupil_id__in=pupil_ids, date__range=(monday, friday)).values_list(
        "pupil_id", "date", "session", "code")}


def class_daily_attendance(*, group_id: int, date_from: date, date_to: date) -> dict:
    """{date: (attended, possible)} for a class's pupils (one aggregate query)."""
    rows = (Mark.objects.filter(pupil__registration_group_id=group_id,
                                date__range=(date_from, date_to)).order_by()
            .values("date").annotate(attended=Count("id", filter=_in(codes.ATTENDED_CODES)),
                                     possible=Count("id", filter=_in(codes.POSSIBLE_CODES))))
    return {r["date"]: (r["attended"], r["possible"]) for r in rows}


def pupils_matching(qs: QuerySet, text: str) -> QuerySet:
    """Pupils whose UPN is ``text``, or whose names hold every word of it: legal or preferred,
    forename or surname in any mix ("Max Allen", "Allen", "maxwell allen-jones" all match)."""
    words = text.split()[:6]
    if not words:
        return qs
    by_upn = Q(upn__iexact=text.strip())
    by_name = Q()
    for w in words:
        by_name &= (Q(legal_surname__icontains=w) | Q(legal_forename__icontains=w)
                    | Q(preferred_surname__icontains=w) | Q(preferred_forename__icontains=w))
    return qs.filter(by_upn | by_name)


# --- the week grid and the office's session page (read here, shown by registers/views*.py) ---

def week_grid(*, group, monday: date) -> dict:
    """Pupils on roll during the week × each day's AM and PM code, coloured by category
    (registers.codes), with totals per pupil and per session: columns and rows. Three queries
    (school days, pupils, marks) however many pupils the class has."""
    friday = monday + timedelta(days=4)
    days = {d.date: d for d in SchoolDay.objects.filter(date__range=(monday, friday))}
    pupils = list(by_name_used(
        Pupil.objects.filter(registration_group=group, admission_date__lte=friday)
        .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=monday))))
    marks = week_marks(pupil_ids=[p.pk for p in pupils], monday=monday, friday=friday)
    columns = []
    for i in range(5):
        d = monday + timedelta(days=i)
        sd = days.get(d)
        for s in ("AM", "PM"):
            columns.append({"date": d, "session": s, "closed": sd is None or sd.closed,
                            "label": sd.closure_label if sd else "", "attended": 0, "marked": 0})
    return {"columns": columns, "rows": [_week_row(p, columns, marks) for p in pupils]}


def _week_row(pupil, columns: list[dict], marks: dict) -> dict:
    cells, total = [], {"attended": 0, "possible": 0, "authorised": 0, "unauthorised": 0}
    for col in columns:
        code = marks.get((pupil.pk, col["date"], col["session"]), "")
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
    return {"pupil": pupil, "cells": cells, "total": total}


def calling_list(day: date, session: str) -> list:
    """The first-day calling list: the session's N marks, with each pupil's class and contacts."""
    return list(Mark.objects.filter(date=day, session=session, code="N")
                .select_related("pupil__registration_group")
                .prefetch_related(Prefetch("pupil__contacts",
                                           queryset=Contact.objects.order_by("priority"))))


def session_totals(day: date, session: str) -> dict:
    """Present, absent, late and unexplained marks in one session across the school."""
    return Mark.objects.filter(date=day, session=session).aggregate(
        present=Count("id", filter=Q(code__in=codes.ATTENDED_CODES)),
        absent=Count("id", filter=Q(code__in=codes.ABSENCE_CODES)),
        late=Count("id", filter=Q(code__in=["L", "U"])),
        unexplained=Count("id", filter=Q(code="N")))
