"""Reads for the nightly job, the queue, case pages, class lists, targets and penalty notices
(SQL-first).

The nightly job's reads come first: its windows, the one aggregate behind every pupil's
figures (``figures``), and the rows it acts on (on roll, live cases, cases closed this year,
keys already in the chronology); ``escalation.nightly`` decides and writes.
"""

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import add
from typing import NamedTuple

from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import Count, IntegerField, Q, Value, When

from registers import at_risk, codes
from registers.calendar import days_next_to_breaks, open_days
from registers.models import Mark, Pupil, SchoolDay
from registers.school_year import csa_dob_bounds, csa_start, school_year_end, school_year_start

from . import hooks
from .models import Band, Case, PupilSnapshot, Stage, Trigger, Window
from .services import active_bands, band_for

RUN_LOOKBACK_DAYS = 70  # how far back a run of absence or of no contact is looked for
PENALTY_WEEKS, PENALTY_SESSIONS = 10, 10
METRICS = ("possible", "attended", "authorised", "unauthorised", "u", "late")
METRIC_INDEX = {m: i for i, m in enumerate(METRICS)}
NO_MARKS = (0,) * len(METRICS)
# Figures only some stages ask for, counted for their windows alone: minutes late, and the
# absent sessions on Mondays and Fridays and on days next to a weekend or holiday.
EXTRA_METRICS = {Trigger.MINUTES_LATE: "minutes", Trigger.MON_FRI: "mon_fri",
                 Trigger.NEXT_TO_BREAK: "next_to_break"}



# --- the nightly job's reads: windows and figures (escalation.nightly) ------------------------

def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def school_weeks(as_of: date, n: int) -> list[date]:
    """Mondays of the ``n`` most recent school weeks (weeks with at least one session) up to
    and including the week containing ``as_of``, newest first (domain.md section 6)."""
    return list(SchoolDay.objects.filter(closed=False, week__lte=monday(as_of), date__lte=as_of)
                .order_by("-week").values_list("week", flat=True).distinct()[:n])


def months_back(day: date, n: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    for d in range(day.day, 0, -1):
        try:
            return date(y, m + 1, d) + timedelta(days=1)
        except ValueError:
            continue
    raise ValueError(day)


def stage_window_key(stage: Stage) -> str:
    cached = getattr(stage, "_window_key", None)
    if cached:
        return cached
    stage._window_key = {Window.YTD: "ytd", Window.TERM: "term", Window.LAST_4_WEEKS: "last4",
            Window.ROLLING_WEEKS: f"rw{stage.window_n}", Window.MONTHS: f"m{stage.window_n}"}[stage.window]
    return stage._window_key


@dataclass
class Windows:
    """Date ranges evaluated on ``as_of``: each ends on ``as_of`` except prev4."""

    as_of: date
    starts: dict[str, date]
    prev4: tuple[date, date] | None
    extras: set[tuple[str, str]] = field(default_factory=set)  # (window key, extra metric)
    # The previous school year ("ly") and the sessions left in this one: only when a stage
    # uses the at_risk_pa trigger (registers.at_risk).
    last_year: tuple[date, date] | None = None
    sessions_left: int = 0

    @classmethod
    def build(cls, as_of: date, stages=()) -> "Windows":
        ytd = school_year_start(as_of)
        wanted = {"rw": {PENALTY_WEEKS}, "m": set()}
        extras = set()
        for s in stages:
            key = stage_window_key(s)
            if s.trigger in EXTRA_METRICS:
                extras.add((key, EXTRA_METRICS[s.trigger]))
            if key.startswith("rw"):
                wanted["rw"].add(s.window_n)
            elif key.startswith("m"):
                wanted["m"].add(s.window_n)
        weeks = school_weeks(as_of, max(max(wanted["rw"]), 8))

        def weeks_start(n):
            return weeks[:n][-1] if weeks else as_of

        term = (SchoolDay.objects.filter(date__lte=as_of, date__gte=ytd).order_by("-date")
                .values_list("term", flat=True).first())
        term_start = (SchoolDay.objects.filter(term=term, date__gte=ytd, date__lte=as_of).order_by("date")
                      .values_list("date", flat=True).first()) if term else None
        starts = {"ytd": ytd, "term": term_start or ytd, "last4": weeks_start(4)}
        starts.update({f"rw{n}": weeks_start(n) for n in wanted["rw"]})
        starts.update({f"m{n}": months_back(as_of, n) for n in wanted["m"]})
        starts["pn"] = starts[f"rw{PENALTY_WEEKS}"]
        prev4 = (weeks[min(7, len(weeks) - 1)], weeks[3] - timedelta(days=1)) if len(weeks) > 4 else None
        out = cls(as_of, starts, prev4, extras)
        if any(s.trigger == Trigger.AT_RISK_PA for s in stages):
            out.last_year = at_risk.previous_school_year(as_of)
            out.sessions_left = at_risk.sessions_left(as_of)
        return out


@dataclass
class Figures:
    """One pupil's counts per window: key -> (possible, attended, authorised, unauthorised, U, L),
    and the extra figures some stages ask for: (key, metric) -> count."""

    w: dict[str, tuple] = field(default_factory=dict)
    x: dict[tuple[str, str], int] = field(default_factory=dict)
    absent_days: int = 0
    absent_since: date | None = None
    no_contact_days: int = 0
    no_contact_since: date | None = None

    def get(self, key: str, metric: str) -> int:
        if metric not in METRIC_INDEX:
            return self.x.get((key, metric), 0)
        return self.w.get(key, NO_MARKS)[METRIC_INDEX[metric]]

    def pct(self, key: str) -> float | None:
        possible, attended = self.w.get(key, NO_MARKS)[:2]
        return attended * 100.0 / possible if possible else None

    def absent(self, key: str) -> int:
        return self.get(key, "authorised") + self.get(key, "unauthorised")

    @property
    def trend(self) -> str:
        now, before = self.pct("last4"), self.pct("prev4")
        if now is None or before is None:
            return ""
        return "+" if now > before else "-" if now < before else "="

    @property
    def declining(self) -> bool:
        return self.trend == "-"

    def sessions(self, key: str) -> at_risk.Sessions:
        possible, _, authorised, unauthorised = self.w.get(key, NO_MARKS)[:4]
        return at_risk.Sessions(possible, authorised + unauthorised)

    def risks(self, windows: "Windows") -> list[at_risk.Risk]:
        """registers.at_risk's early-warning reasons from these figures: the year to date, the
        last four school weeks of this school year (the year so far before there are four) and
        the previous school year."""
        recent = "last4" if windows.starts["last4"] >= windows.starts["ytd"] else "ytd"
        last_year = self.sessions("ly") if self.w.get("ly", NO_MARKS)[0] else None
        return at_risk.risks(self.sessions("ytd"), self.sessions(recent), last_year, windows.sessions_left)


def code_category(code: str) -> int:
    """1 attended, 2 authorised, 3 unauthorised other than U, 4 U, 0 not a possible session."""
    if code in codes.ATTENDED_CODES:
        return 1
    if code == "U":
        return 4
    if code in codes.UNAUTHORISED_CODES:
        return 3
    if code in codes.AUTHORISED_CODES:
        return 2
    return 0


NO_REASON_CODES = ("N", "O")
CODE_CATEGORY = {c: code_category(c) for c in codes.CODES}
CODE_CATEGORY_POSSIBLE = sorted(c for c, cat in CODE_CATEGORY.items() if cat)


# Complexity: one aggregate feeding every window and the extra metrics; kept as one pass for speed.
def figures(*, as_of: date, windows: Windows, pupil_ids=None) -> dict[int, Figures]:  # noqa: C901
    """Every pupil's figures for every window in one aggregate (see module docstring).

    One scan of the marks from the earliest window start to ``as_of``, grouped by (pupil,
    code) — as few groups as a bare GROUP BY — counts each pair's marks on or after every
    window boundary (``COUNT(*) FILTER (WHERE date >= b)``), so a window starting at ``b``
    is the count at ``b`` and one ending early (the previous 4 weeks) is a difference of two
    counts. The same pass gives each pair's latest mark, from which each pupil's latest day
    in school and latest day with a reason (not N/O) and the current runs of absence and of
    no contact are counted in open school days. Codes become categories on those few rows,
    in Python. The extra figures a stage may ask for (minutes late, absences on Mondays and
    Fridays or next to a break) are further FILTERed aggregates of the same scan, for those
    windows only.
    """
    ranges = [(k, s, as_of) for k, s in windows.starts.items()]
    if windows.prev4:
        ranges.append(("prev4", *windows.prev4))
    if windows.last_year:
        ranges.append(("ly", *windows.last_year))
    # Runs of absence look back 70 days, also across the summer into the previous year.
    lookback = as_of - timedelta(days=RUN_LOOKBACK_DAYS)
    lo = min(min(s for _, s, _ in ranges), lookback)
    bounds = sorted({s for _, s, _ in ranges} | {e + timedelta(days=1) for _, _, e in ranges if e < as_of})
    at = {b: i for i, b in enumerate(bounds)}
    params: dict = {"lo": lo, "as_of": as_of, "pupils": list(pupil_ids or [])}
    params.update({f"b{i}": b for i, b in enumerate(bounds)})
    counts = ", ".join("COUNT(*)" if b <= lo else f"COUNT(*) FILTER (WHERE m.date >= %(b{i})s)"
                       for i, b in enumerate(bounds))
    extras = sorted(windows.extras)
    extra_sql = {
        "minutes": "COALESCE(SUM(m.minutes_late) FILTER (WHERE m.date >= %(b{i})s), 0)",
        "mon_fri": "COUNT(*) FILTER (WHERE m.date >= %(b{i})s AND EXTRACT(ISODOW FROM m.date) IN (1, 5))",
        "next_to_break": "COUNT(*) FILTER (WHERE m.date >= %(b{i})s AND m.date = ANY(%(edges)s::date[]))"}
    if any(metric == "next_to_break" for _, metric in extras):
        edges_from = min(windows.starts[k] for k, m in extras if m == "next_to_break")
        params["edges"] = days_next_to_breaks(edges_from, as_of)
    columns = counts + "".join(", " + extra_sql[metric].format(i=at[windows.starts[key]])
                               for key, metric in extras)
    pupil_filter = "AND m.pupil_id = ANY(%(pupils)s)" if pupil_ids is not None else ""
    with connection.cursor() as cur:
        # JIT compilation alone costs more than this query on a school's year of marks (and
        # would switch on for a big school); SET LOCAL lasts until the end of the transaction.
        cur.execute("SET LOCAL jit = off")
        cur.execute(f"""
            SELECT m.pupil_id, m.code, {columns}, MAX(m.date)
            FROM registers_mark m
            WHERE m.date >= %(lo)s AND m.date <= %(as_of)s {pupil_filter}
            GROUP BY m.pupil_id, m.code""", params)
        rows = cur.fetchall()

    nb, ne = len(bounds), len(extras)
    zeros = (0,) * nb
    # pupil -> [-, counts of categories 1 to 4 at each boundary, last in school, last with a reason,
    #           last mark, counts of L at each boundary, extra figures]
    acc: dict[int, list] = {}
    for row in rows:
        code = row[1]
        cat = CODE_CATEGORY.get(code, 0)
        if not cat:
            continue
        a = acc.get(row[0])
        if a is None:
            a = acc[row[0]] = [None, zeros, zeros, zeros, zeros, None, None, None, zeros, [0] * ne]
        a[cat] = tuple(map(add, a[cat], row[2:2 + nb])) if a[cat] is not zeros else row[2:2 + nb]
        if code == "L":
            a[8] = row[2:2 + nb]
        if ne:
            for j, (_, metric) in enumerate(extras):
                if metric == "minutes" or cat > 1:  # the patterns count absent sessions only
                    a[9][j] += row[2 + nb + j]
        last = row[-1]
        if cat == 1 and (a[5] is None or last > a[5]):
            a[5] = last
        if code not in NO_REASON_CODES and (a[6] is None or last > a[6]):
            a[6] = last
        if a[7] is None or last > a[7]:
            a[7] = last

    # Each window from the METRICS at its start, less those at the day after its end if early.
    spans = [(key, at[start], at[end + timedelta(days=1)] if end < as_of else None)
             for key, start, end in ranges]
    days = list(SchoolDay.objects.filter(closed=False, date__gt=lookback, date__lte=as_of).order_by("date")
                .values_list("date", flat=True))
    firsts = first_marks_since(lookback, as_of, [p for p, a in acc.items() if a[5] is None or a[6] is None])
    out: dict[int, Figures] = {}
    for pid, (_, c1, c2, c3, c4, last_in, last_reason, last_mark, late, extra) in acc.items():
        metrics = [(p + q + r + u, p, q, r + u, u, n)
                   for p, q, r, u, n in zip(c1, c2, c3, c4, late, strict=True)]
        f = Figures()
        for key, i, k in spans:
            f.w[key] = (metrics[i] if k is None
                        else tuple(x - y for x, y in zip(metrics[i], metrics[k], strict=True)))
        if ne:
            f.x = dict(zip(extras, extra, strict=True))
        first = firsts.get(pid)
        f.absent_days, f.absent_since = _run_of_days(days, last_in, last_mark, first)
        f.no_contact_days, f.no_contact_since = _run_of_days(days, last_reason, last_mark, first)
        out[pid] = f
    return out


def first_marks_since(lookback: date, as_of: date, pupil_ids: list[int]) -> dict[int, date]:
    """Each pupil's first mark of a possible session after ``lookback``: where a run of absence
    begins for a pupil not in school (or with no reason given) all the year so far. Few pupils
    ask for it; the unique index on (pupil, date, session) finds their marks."""
    if not pupil_ids:
        return {}
    with connection.cursor() as cur:
        cur.execute("""SELECT pupil_id, MIN(date) FROM registers_mark
                       WHERE pupil_id = ANY(%s) AND date > %s AND date <= %s AND code = ANY(%s)
                       GROUP BY pupil_id""", [pupil_ids, lookback, as_of, list(CODE_CATEGORY_POSSIBLE)])
        return dict(cur.fetchall())


def _run_of_days(days: list[date], last_broken: date | None, last_mark: date | None,
                 first_recent: date | None) -> tuple[int, date | None]:
    """Open school days after ``last_broken`` up to the latest mark: the current run."""
    if last_mark is None or (last_broken is not None and last_broken >= last_mark):
        return 0, None
    after = last_broken if last_broken is not None else (first_recent or last_mark) - timedelta(days=1)
    lo, hi = bisect_right(days, after), bisect_right(days, last_mark)
    return hi - lo, (days[lo] if hi > lo else None)


def previous_bands(night: date) -> dict[int, str]:
    """Each pupil's band in the latest snapshot night before ``night`` (within a month)."""
    with connection.cursor() as cur:
        cur.execute("""SELECT pupil_id, band FROM escalation_pupilsnapshot
                       WHERE night = (SELECT MAX(night) FROM escalation_pupilsnapshot
                                      WHERE night < %s AND night >= %s)""",
                    [night, night - timedelta(days=31)])
        return dict(cur.fetchall())


def keys_seen(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of the (pupil, event key) pairs already in the chronology: triggers acted on."""
    if not pairs:
        return set()
    with connection.cursor() as cur:
        cur.execute("""SELECT e.pupil_id, e.key FROM escalation_caseevent e
                       JOIN unnest(%s::bigint[], %s::text[]) AS c(pupil_id, key)
                         ON e.pupil_id = c.pupil_id AND e.key = c.key""",
                    [[p for p, _ in pairs], [k for _, k in pairs]])
        return set(cur.fetchall())


def unauthorised_dates(*, cases: list[Case], as_of: date) -> dict[int, list[date]]:
    """Dates of unauthorised marks inside each monitored case's monitoring period so far: from
    the day after the family was told (the letter sent, the meeting held), never from the queue."""
    if not cases:
        return {}
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.id, array_agg(DISTINCT m.date ORDER BY m.date)
            FROM escalation_case c JOIN registers_mark m ON m.pupil_id = c.pupil_id
            WHERE c.id = ANY(%s) AND m.date > COALESCE(c.told_on, c.stage_since)
              AND m.date <= LEAST(c.monitor_until, %s)
              AND m.code = ANY(%s)
            GROUP BY c.id""", [[c.pk for c in cases], as_of, codes.UNAUTHORISED_CODES])
        return dict(cur.fetchall())

# --- the nightly job's reads: who is on roll, live and recently closed cases, the chronology ----

def pupils_on_roll_born(as_of: date) -> dict[int, date]:
    """Pupils on roll on ``as_of``: pupil -> date of birth."""
    return dict(Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of),
                                     admission_date__lte=as_of).values_list("pk", "date_of_birth"))


class LiveCase(NamedTuple):
    """A case not closed, as the nightly job reads it (a plain row; only the cases the night acts
    on are loaded as objects)."""

    pk: int
    pupil_id: int
    track: str
    status: str
    stage_id: int
    review_due: date | None
    monitor_until: date | None
    recovered_since: date | None
    stage_since: date
    stage_monitor_days: int | None  # the stage's monitoring period, if it has one

    @property
    def open(self) -> bool:
        return self.status == Case.Status.OPEN

    @property
    def held(self) -> bool:
        """A monitoring stage whose family has not been told yet (its letter still waiting, the
        meeting not held) holds its clock: no review, step or jump until then (issue 12 item 6)."""
        return self.open and not self.monitor_until and bool(self.stage_monitor_days)

    @property
    def reviewable(self) -> bool:
        """Open, not in a monitoring period and not held: reviews, step-downs and direct entries apply."""
        return self.open and not self.monitor_until and not self.held


def live_cases(pupil_ids) -> dict[tuple[int, str], LiveCase]:
    """(pupil, track) -> the live case, for the pupils given."""
    return {(r.pupil_id, r.track): r for r in map(LiveCase._make, Case.objects.exclude(
        status=Case.Status.CLOSED).values_list(*LiveCase._fields[:-1], "stage__monitor_school_days"))
        if r.pupil_id in pupil_ids}


@dataclass
class ClosedThisYear:
    """Cases closed this school year, as far as reopening goes: a track closed tonight is not
    reopened by a rerun of the night; one a person closed reopens only above the stage (order)
    they closed it at (their decision stands)."""

    tonight: set[tuple[int, str]] = field(default_factory=set)
    floor: dict[tuple[int, str], int] = field(default_factory=dict)


def closed_this_year(*, since: date, as_of: date) -> ClosedThisYear:
    out = ClosedThisYear()
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.pupil_id, c.track, s."order", c.closed_on,
                   EXISTS (SELECT 1 FROM escalation_caseevent e WHERE e.case_id = c.id AND e.kind = 'closed'
                           AND e.night IS NOT NULL)
            FROM escalation_case c JOIN escalation_stage s ON s.id = c.stage_id
            WHERE c.status = 'closed' AND c.closed_on >= %s""", [since])
        for pid, track, order, closed_on, by_job in cur.fetchall():
            if closed_on >= as_of:
                out.tonight.add((pid, track))
            elif not by_job:
                out.floor[(pid, track)] = max(order, out.floor.get((pid, track), 0))
    return out




# --- penalty notices (domain.md section 6) ---------------------------------------------------

def penalty_window(as_of: date) -> tuple[date, date] | None:
    """The 10 most recent school weeks up to the week containing ``as_of``, counting to ``as_of``."""
    weeks = school_weeks(as_of, PENALTY_WEEKS)
    return (weeks[-1], as_of) if weeks else None


def penalty_candidates(*, as_of: date, threshold: int = PENALTY_SESSIONS) -> list[dict]:
    """Pupils for whom a penalty notice must be considered (domain.md section 6): of compulsory
    school age on ``as_of``, with ``threshold`` or more unauthorised sessions in the window,
    counting only sessions on or after the day each pupil reached compulsory school age."""
    window = penalty_window(as_of)
    if window is None:
        return []
    oldest, youngest = csa_dob_bounds(as_of)
    rows = list(Mark.objects.filter(date__gte=window[0], date__lte=window[1],
                                    code__in=codes.UNAUTHORISED_CODES,
                                    pupil__date_of_birth__gte=oldest, pupil__date_of_birth__lte=youngest)
                .values("pupil_id", "pupil__upn", "pupil__date_of_birth").annotate(n=Count("id"))
                .filter(n__gte=threshold))
    # A child who reached CSA inside the window (a reception child on 31 December, say) has
    # the sessions before that day taken off: one more query for those few children.
    late = {r["pupil_id"]: csa_start(r["pupil__date_of_birth"]) for r in rows
            if csa_start(r["pupil__date_of_birth"]) > window[0]}
    if late:
        counted = Counter(Mark.objects.filter(pupil_id__in=list(late), date__gte=min(late.values()),
                                              date__lte=window[1], code__in=codes.UNAUTHORISED_CODES)
                          .values_list("pupil_id", "date").iterator())
        since = Counter()
        for (pid, day), n in counted.items():
            if day >= late[pid]:
                since[pid] += n
        for r in rows:
            if r["pupil_id"] in late:
                r["n"] = since[r["pupil_id"]]
    rows = sorted((r for r in rows if r["n"] >= threshold), key=lambda r: (-r["n"], r["pupil__upn"]))
    return [{"pupil_id": r["pupil_id"], "upn": r["pupil__upn"], "unauthorised_sessions": r["n"],
             "window_start": window[0].isoformat(),
             "window_end": window[1].isoformat()} for r in rows]


# --- the queue ------------------------------------------------------------------------------

PRIORITY = CaseWhen(When(Q(pupil__lac=True) | Q(pupil__child_protection=True), then=Value(0)),
                    When(~Q(pupil__sen_status="N"), then=Value(1)),
                    When(pupil__pupil_premium=True, then=Value(2)),
                    default=Value(3), output_field=IntegerField())

GROUPS = {"lac_cp": Q(pupil__lac=True) | Q(pupil__child_protection=True), "send": ~Q(pupil__sen_status="N"),
          "pp": Q(pupil__pupil_premium=True)}


def queue(*, status: str = "live", group_id=None, year=None, group: str = "", stage_id=None,
          owner_role: str = "", owner_id=None, track: str = ""):
    """Cases by priority group (LAC/CP, SEND, PP first), then due date."""
    qs = Case.objects.select_related("pupil", "pupil__registration_group", "stage", "owner")
    qs = qs.exclude(status=Case.Status.CLOSED) if status == "live" else qs.filter(status=status)
    if group_id:
        qs = qs.filter(pupil__registration_group_id=group_id)
    if year not in (None, ""):
        qs = qs.filter(pupil__year_group=year)
    if group in GROUPS:
        qs = qs.filter(GROUPS[group])
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if owner_role:
        qs = qs.filter(owner_role=owner_role)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if track:
        qs = qs.filter(track=track)
    return qs.annotate(priority=PRIORITY).order_by("priority", "review_due", "pupil__legal_surname", "pk")


def queue_page(*, filters: dict) -> dict:
    """The queue's cases (first 500, with their latest figures), stages and counts per stage."""
    from registers.models import RegistrationGroup

    from .models import NightlyRun, Stage

    cases = list(queue(**filters)[:500])
    snaps = latest_snapshots(c.pupil_id for c in cases)
    for c in cases:
        c.snap = snaps.get(c.pupil_id)
    counts = stage_counts(status=filters["status"])
    return {"cases": cases, "stages": Stage.objects.filter(active=True), "stage_counts": counts,
            "stage_total": sum(c["n"] for c in counts), "groups": RegistrationGroup.objects.all(),
            "last_run": NightlyRun.objects.first()}


def teacher_cases(*, user):
    """A class teacher's cases: live, at a stage the class teacher owns (LAP Letter 1, Beecroft
    Yellow), for pupils of the classes they teach (the teacher-class link the registers use)."""
    from tenants.roles import Role

    return Case.objects.exclude(status=Case.Status.CLOSED).filter(
        owner_role=Role.TEACHER, pupil__registration_group__teachers=user)


def case_page(*, case: Case, manage: bool) -> dict:
    """What the case page shows. A class teacher (``manage`` False) sees the case's own
    chronology, figures and meetings; not the pupil's other cases, penalty notices or letters."""
    from .models import CaseEvent, PenaltyNotice
    from .services import active_bands

    snaps = trend(case.pupil_id)
    latest = snaps[-1] if snaps else None
    target = latest and target_for(attended=latest.attended, possible=latest.possible,
                                   recent_pct=latest.last4_pct, bands=active_bands(), as_of=latest.night)
    # the case's own events, and (for the attendance lead) the pupil's events that belong to no
    # case: penalty notices recorded from the penalties page, contacts logged elsewhere
    events = Q(case=case) | Q(case__isnull=True, pupil_id=case.pupil_id) if manage else Q(case=case)
    page = {"case": case, "pupil": case.pupil, "snaps": snaps, "latest": latest, "target": target,
            "bands": band_history(case.pupil_id), "meetings": case.meetings.all(),
            "events": CaseEvent.objects.filter(events).select_related("stage").order_by("at", "pk"),
            # the pupil's contacts with their numbers, for calls and messages (issue 17)
            "contacts": case.pupil.contacts.order_by("priority")}
    if manage:
        letters = list(case.letters.order_by("-created", "-pk"))
        page.update(
            letters=letters, queued_letters=sum(1 for x in letters if x.status == x.Status.QUEUED),
            other_cases=Case.objects.filter(pupil=case.pupil).exclude(pk=case.pk).select_related("stage"),
            plans=case.support_plans.all(), contracts=case.contracts.prefetch_related("signatures"),
            penalty_notices=PenaltyNotice.objects.filter(pupil_id=case.pupil_id).select_related("parent"))
    return page


def latest_snapshots(pupil_ids) -> dict[int, PupilSnapshot]:
    return {s.pupil_id: s for s in PupilSnapshot.objects.filter(pupil_id__in=list(pupil_ids))
            .order_by("pupil_id", "-night").distinct("pupil_id")}


def band_history(pupil_id: int) -> list[dict]:
    """Runs of nights in the same band, newest first."""
    out = []
    for night, band, colour, pct in (PupilSnapshot.objects.filter(pupil_id=pupil_id).order_by("night")
                                     .values_list("night", "band", "band_colour", "attendance_pct")):
        if out and out[-1]["band"] == band:
            out[-1].update(to=night, pct=pct)
        else:
            out.append({"band": band, "colour": colour, "since": night, "to": night, "pct": pct})
    return out[::-1]


def trend(pupil_id: int, limit: int = 60) -> list[PupilSnapshot]:
    return list(PupilSnapshot.objects.filter(pupil_id=pupil_id).order_by("-night")[:limit])[::-1]


# --- targets in sessions (Cheetwood appendix) -----------------------------------------------------

@dataclass
class Target:
    band: Band
    need: int | None       # sessions to attend out of ``of``
    of: int
    by: date | None
    reachable: bool
    full_attendance_sessions: int | None  # sessions of full attendance needed if not reachable by ``by``
    projected_pct: float | None
    weeks: int | None = None  # a rolling window of this many school weeks, ending ``by``

    @property
    def text(self) -> str:
        if self.weeks and self.reachable:
            return (f"Attend {self.need} of the {self.of} sessions in the {self.weeks} school weeks to "
                    f"{self.by:%-d %B %Y} to be {self.band.name} over those weeks")
        if self.weeks:
            return f"{self.band.name} cannot be reached in the next {self.weeks} school weeks"
        if self.reachable:
            return (f"Attend {self.need} of the next {self.of} sessions to reach {self.band.name} "
                    f"by {self.by:%-d %B %Y}")
        if self.full_attendance_sessions is not None:
            return (f"{self.band.name} cannot be reached by {self.by:%-d %B %Y}; it needs "
                    f"{self.full_attendance_sessions} sessions of full attendance")
        return f"{self.band.name} cannot be reached this school year"


def _needed(attended: int, possible: int, lower: float, inclusive: bool, more: int) -> int:
    """Fewest of ``more`` further sessions to attend so attended/possible reaches the bound."""
    exact = lower * (possible + more) / 100 - attended
    n = max(0, math.ceil(exact - 1e-9))
    if not inclusive and abs(exact - n) < 1e-9:
        n += 1
    return n


def _calendar_memo(memo: dict, key: tuple, compute):
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _weeks_ahead(as_of: date, n: int) -> tuple[date | None, int]:
    """The last open day of the ``n`` school weeks after the week of ``as_of``, and their sessions."""
    weeks = list(open_days(monday(as_of) + timedelta(days=7)).order_by("week").values_list("week", flat=True)
                 .distinct()[:n])
    if len(weeks) < n:
        return None, 0
    days = list(open_days(weeks[0], weeks[-1] + timedelta(days=6)).values_list("date", flat=True))
    return max(days), 2 * len(days)


def bands_above(pct: float, bands: list[Band]) -> list[Band]:
    """The bands above the one ``pct`` is in, lowest first: the goals a target can name."""
    current = band_for(pct, bands)
    return sorted((b for b in bands if b.lower is not None and float(b.lower) >= pct and b is not current
                   and (current is None or current.upper is None or b.lower >= current.upper)),
                  key=lambda b: b.lower)


def rolling_target(*, attended: int, possible: int, bands: list[Band], as_of: date, weeks: int = 4,
                   memo: dict | None = None, year: tuple[int, int] | None = None) -> Target | None:
    """The target for a figure over the last ``weeks`` school weeks (Cheetwood's class lists): the
    band is the one that figure is in, the band above it is the goal, and since the window rolls,
    the goal is met over the next ``weeks`` whole school weeks, whatever came before: "attend N of
    the M sessions in the 4 school weeks to <date>". ``year``: (attended, possible) this school
    year, for the projected year-end figure at the window's rate."""
    if not possible:
        return None
    memo = {} if memo is None else memo
    pct = attended * 100.0 / possible
    above = bands_above(pct, bands)
    if not above:
        return None
    projected = None
    if year and year[1]:
        remaining_days = _calendar_memo(memo, ("remaining", as_of), lambda: open_days(
            as_of + timedelta(days=1), school_year_end(as_of)).count())
        projected = (year[0] + 2 * remaining_days * pct / 100) * 100 / (year[1] + 2 * remaining_days)
    goal = above[0]
    by, of = _calendar_memo(memo, ("weeks", as_of, weeks), lambda: _weeks_ahead(as_of, weeks))
    if by is None:
        return Target(goal, None, 0, None, False, None, projected, weeks)
    need = _needed(0, 0, float(goal.lower), goal.lower_inclusive, of)
    return Target(goal, need if need <= of else None, of, by, need <= of, None, projected, weeks)


def target_for(*, attended: int, possible: int, recent_pct: float | None, bands: list[Band], as_of: date,
               by: date | None = None, memo: dict | None = None) -> Target | None:
    """"Attend N of the next M sessions to reach <band above> by <date>" and the projected
    end-of-year figure if the pupil keeps attending at their last-4-weeks rate. For a figure over
    the school year to date; ``rolling_target`` for one over the last 4 school weeks.

    ``memo``: a dict shared by the calls for one page (a class list), so the school-day counts,
    the same for every pupil, are queried once rather than once per pupil."""
    if not possible:
        return None
    memo = {} if memo is None else memo
    pct = attended * 100.0 / possible
    above = bands_above(pct, bands)
    remaining_days = _calendar_memo(memo, ("remaining", as_of), lambda: open_days(
        as_of + timedelta(days=1), school_year_end(as_of)).count())
    projected = None
    if recent_pct is not None:
        projected = (attended + 2 * remaining_days * recent_pct / 100) * 100 / (possible + 2 * remaining_days)
    if not above:
        return None
    goal = above[0]
    by = by or _calendar_memo(memo, ("by", as_of), lambda: (
        open_days(as_of + timedelta(days=1), as_of + timedelta(days=42)).order_by("-date")
        .values_list("date", flat=True).first()))
    of = _calendar_memo(memo, ("of", as_of, by), lambda: 2 * open_days(as_of + timedelta(days=1), by).count()
                        if by else 0)
    need = _needed(attended, possible, float(goal.lower), goal.lower_inclusive, of)
    full = None
    lower = float(goal.lower)
    if need > of and lower < 100:
        k = (lower * possible - 100 * attended) / (100 - lower)
        full = max(0, math.ceil(k - 1e-9))
        if not goal.lower_inclusive and abs(k - full) < 1e-9:
            full += 1
        if full > 2 * remaining_days:
            full = None
    return Target(goal, need if need <= of else None, of, by, need <= of, full, projected)


# --- weekly class lists (Cheetwood 8.2) --------------------------------------------------------

def class_list(*, group, as_of: date) -> list[dict]:
    """Each pupil's last-4-school-weeks attendance, highest first, with colour and arrow."""
    pupils = list(Pupil.objects.filter(registration_group=group, admission_date__lte=as_of)
                  .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of)))
    windows = Windows.build(as_of)
    figs = figures(as_of=as_of, windows=windows, pupil_ids=[p.pk for p in pupils])
    bands = active_bands()
    rows, memo = [], {}
    for p in pupils:
        f = figs.get(p.pk, Figures())
        pct = f.pct("last4")
        band = band_for(pct, bands)
        rows.append({"pupil": p, "pct": pct, "prev": f.pct("prev4"), "trend": f.trend, "band": band,
                     "possible": f.get("last4", "possible"), "attended": f.get("last4", "attended"),
                     # The target is for the figure the row is coloured by (issue 12, item 8).
                     "target": rolling_target(attended=f.get("last4", "attended"),
                                              possible=f.get("last4", "possible"), bands=bands, as_of=as_of,
                                              memo=memo, year=(f.get("ytd", "attended"),
                                                               f.get("ytd", "possible"))),
                     "ytd": f.pct("ytd")})
    rows.sort(key=lambda r: (r["pct"] is None, -(r["pct"] or 0), r["pupil"].legal_surname))
    return rows, windows


def stage_counts(*, status: str) -> list[dict]:
    """Cases per stage for the queue's header: one GROUP BY query."""
    qs = Case.objects.all()
    qs = qs.exclude(status=Case.Status.CLOSED) if status == "live" else qs.filter(status=status)
    return list(
        qs.values("stage_id", "stage__name", "stage__track", "stage__order")
        .annotate(n=Count("id"))
        .order_by("stage__track", "stage__order", "stage__name")
    )


# --- the cases export (interfaces.md: export_cases) ---------------------------------------------

CASE_EXPORT_FIELDS = ["upn", "track", "stage_key", "stage_name", "status", "opened_on", "closed_on",
                      "close_reason", "history", "letters"]
EXPORT_EVENTS = {"opened": "opened", "advanced": "advanced", "stepped_down": "stepped_down", "hold": "held",
                 "letter_held": "held", "closed": "closed", "letter": "letter_queued"}
STAGE_EVENTS = ("opened", "advanced", "stepped_down")


def _day(value) -> date | None:
    from django.utils import timezone

    if value is None:
        return None
    return timezone.localtime(value).date() if hasattr(value, "tzinfo") else value


# Complexity: one pass over the events, letters and meetings, building each case's history.
def cases_export(*, as_of: date) -> list[dict]:  # noqa: C901
    """Every case open at any time up to ``as_of``, as it stood on ``as_of``: its stage and status
    then, its chronology (events, letters sent, meetings held) and its letters, in a fixed number
    of queries. A person's event has no night; its day is when it was recorded."""
    from .models import CaseEvent, Meeting, Stage

    cases = list(Case.objects.filter(opened_on__lte=as_of).select_related("pupil", "stage")
                 .order_by("opened_on", "pk"))
    ids = [c.pk for c in cases]
    stages = {s.pk: s for s in Stage.objects.all()}
    history: dict[int, list] = {pk: [] for pk in ids}
    stage_then: dict[int, int] = {}
    held_then: dict[int, bool] = {}
    for e in CaseEvent.objects.filter(case_id__in=ids).order_by("at", "pk"):
        day = e.night or _day(e.at)
        if e.kind == "told" and "told_on" in e.data:  # recorded later, about the day it happened
            day = date.fromisoformat(e.data["told_on"])
        if day > as_of:
            continue
        if e.kind in STAGE_EVENTS and e.stage_id:
            stage_then[e.case_id] = e.stage_id
        if e.kind in ("hold", "resumed"):
            held_then[e.case_id] = e.kind == "hold"
        if e.kind in EXPORT_EVENTS:
            history[e.case_id].append((day, 0, e.pk, EXPORT_EVENTS[e.kind], e.stage_id))
        elif e.kind == "told" and not {"letter", "meeting"} & set(e.data):
            # told by hand (St Luke's warning from the SAIS): the letter or meeting is not ours
            ev = "meeting_held" if e.data.get("channel") == "in_person" else "letter_sent"
            history[e.case_id].append((day, 1, e.pk, ev, e.stage_id))
    letters, sent = hooks.case_letters_export(ids, as_of)
    for case_id, day, letter_pk in sent:
        history[case_id].append((day, 1, letter_pk, "letter_sent", None))
    for m in Meeting.objects.filter(case_id__in=ids, status=Meeting.Status.HELD, starts_at__isnull=False):
        day = _day(m.starts_at)
        if day <= as_of:
            history[m.case_id].append((day, 1, m.pk, "meeting_held", m.stage_id))
    out = []
    for c in cases:
        closed = c.closed_on if c.closed_on and c.closed_on <= as_of else None
        stage = stages.get(stage_then.get(c.pk), c.stage)
        status = "closed" if closed else "hold" if held_then.get(c.pk) else "open"
        out.append({
            "upn": c.pupil.upn, "track": c.track, "stage_key": stage.key, "stage_name": stage.name,
            "status": status, "opened_on": c.opened_on.isoformat(),
            "closed_on": closed.isoformat() if closed else None,
            "close_reason": c.close_reason if closed else "",
            "history": [{"date": d.isoformat(), "event": ev,
                         "stage_key": stages[sid].key if sid in stages else None}
                        for d, _, _, ev, sid in sorted(history[c.pk], key=lambda h: h[:3])],
            "letters": letters[c.pk],
        })
    return out
