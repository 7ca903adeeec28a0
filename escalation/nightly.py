"""The nightly job for one school: figures, snapshots, bands, triggers, cases, letters, N → O.

``night_run(as_of=D)`` runs in the current school schema, in ONE transaction guarded by an
advisory lock: a killed worker leaves nothing half done and the rerun completes the night;
running it twice for the same night changes nothing the second time (snapshots are upserted
only when different; every automatic case event carries a unique key).

Figures come from one aggregate over the marks: a single scan grouped by (pupil, code) counts
the marks on or after each window boundary, which feeds every window (year to date, term,
last/previous 4 school weeks, the penalty window of domain.md section 6 and any window a stage
asks for); the same pass finds the dates behind the current runs of absence.
"""

import gc
import logging
from bisect import bisect_right
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import add

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from attendance_site.bulk_sql import insert_rows, update_rows
from letters.models import Letter
from registers import codes
from registers.models import MarkAmendment, Pupil, SchoolDay
from registers.school_year import csa_start, of_compulsory_school_age, school_year_start

from .models import Case, CaseEvent, NightlyRun, PolicyVersion, PupilSnapshot, Stage, Trigger, Window
from .services import (
    active_bands,
    band_for,
    case_event,
    event_time,
    next_rung,
    policy_version_current,
    rows_save,
    rung_base,
    stage_entry_plan,
    track_rungs,
)

log = logging.getLogger(__name__)

N_TO_O_SCHOOL_DAYS = 5
EVIDENCE_WAIT_DAYS = 7  # a review without the evidence a percentage needs waits a week
RUN_LOOKBACK_DAYS = 70  # how far back a run of absence or of no contact is looked for
N_TO_O_REASON = "No reason received within 5 school days"
NIGHTLY_ROLE = "Nightly job"
PENALTY_WEEKS, PENALTY_SESSIONS = 10, 10
METRICS = ("possible", "attended", "authorised", "unauthorised", "u")
METRIC_INDEX = {m: i for i, m in enumerate(METRICS)}
NO_MARKS = (0, 0, 0, 0, 0)


def night_of(now=None) -> date:
    """The night a run belongs to: before noon it is still finishing yesterday's registers."""
    now = timezone.localtime(now)
    return now.date() - timedelta(days=1) if now.hour < 12 else now.date()


# --- windows -------------------------------------------------------------------------------

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

    @classmethod
    def build(cls, as_of: date, stages=()) -> "Windows":
        ytd = school_year_start(as_of)
        wanted = {"rw": {PENALTY_WEEKS}, "m": set()}
        for s in stages:
            key = stage_window_key(s)
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
        return cls(as_of, starts, prev4)


@dataclass
class Figures:
    """One pupil's counts per window: key -> [possible, attended, authorised, unauthorised, U]."""

    w: dict[str, list[int]] = field(default_factory=dict)
    absent_days: int = 0
    absent_since: date | None = None
    no_contact_days: int = 0
    no_contact_since: date | None = None

    def get(self, key: str, metric: str) -> int:
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


def figures(*, as_of: date, windows: Windows, pupil_ids=None) -> dict[int, Figures]:
    """Every pupil's figures for every window in one aggregate (see module docstring).

    One scan of the marks from the earliest window start to ``as_of``, grouped by (pupil,
    code) — as few groups as a bare GROUP BY — counts each pair's marks on or after every
    window boundary (``COUNT(*) FILTER (WHERE date >= b)``), so a window starting at ``b``
    is the count at ``b`` and one ending early (the previous 4 weeks) is a difference of two
    counts. The same pass gives each pair's latest mark, from which each pupil's latest day
    in school and latest day with a reason (not N/O) and the current runs of absence and of
    no contact are counted in open school days. Codes become categories on those few rows,
    in Python.
    """
    ranges = [(k, s, as_of) for k, s in windows.starts.items()]
    if windows.prev4:
        ranges.append(("prev4", *windows.prev4))
    # Runs of absence look back 70 days, also across the summer into the previous year.
    lookback = as_of - timedelta(days=RUN_LOOKBACK_DAYS)
    lo = min(min(s for _, s, _ in ranges), lookback)
    bounds = sorted({s for _, s, _ in ranges} | {e + timedelta(days=1) for _, _, e in ranges if e < as_of})
    at = {b: i for i, b in enumerate(bounds)}
    params: dict = {"lo": lo, "as_of": as_of, "pupils": list(pupil_ids or [])}
    params.update({f"b{i}": b for i, b in enumerate(bounds)})
    counts = ", ".join("COUNT(*)" if b <= lo else f"COUNT(*) FILTER (WHERE m.date >= %(b{i})s)"
                       for i, b in enumerate(bounds))
    pupil_filter = "AND m.pupil_id = ANY(%(pupils)s)" if pupil_ids is not None else ""
    with connection.cursor() as cur:
        # JIT compilation alone costs more than this query on a school's year of marks (and
        # would switch on for a big school); SET LOCAL lasts until the end of the transaction.
        cur.execute("SET LOCAL jit = off")
        cur.execute(f"""
            SELECT m.pupil_id, m.code, {counts}, MAX(m.date)
            FROM registers_mark m
            WHERE m.date >= %(lo)s AND m.date <= %(as_of)s {pupil_filter}
            GROUP BY m.pupil_id, m.code""", params)
        rows = cur.fetchall()

    nb = len(bounds)
    zeros = (0,) * nb
    # pupil -> [-, counts of categories 1 to 4 at each boundary, last in school, last with a reason,
    #           last mark]
    acc: dict[int, list] = {}
    for row in rows:
        cat = CODE_CATEGORY.get(row[1], 0)
        if not cat:
            continue
        a = acc.get(row[0])
        if a is None:
            a = acc[row[0]] = [None, zeros, zeros, zeros, zeros, None, None, None]
        a[cat] = tuple(map(add, a[cat], row[2:2 + nb])) if a[cat] is not zeros else row[2:2 + nb]
        last = row[-1]
        if cat == 1 and (a[5] is None or last > a[5]):
            a[5] = last
        if row[1] not in NO_REASON_CODES and (a[6] is None or last > a[6]):
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
    for pid, (_, c1, c2, c3, c4, last_in, last_reason, last_mark) in acc.items():
        metrics = [(p + q + r + u, p, q, r + u, u) for p, q, r, u in zip(c1, c2, c3, c4, strict=True)]
        f = Figures()
        for key, i, k in spans:
            f.w[key] = (metrics[i] if k is None
                        else tuple(x - y for x, y in zip(metrics[i], metrics[k], strict=True)))
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


# --- triggers -------------------------------------------------------------------------------

@dataclass
class Fired:
    stage: Stage
    measure: float | None
    explanation: str
    period: str  # what makes the trigger key unique: the school year or the episode's first day

    @property
    def key(self) -> str:
        return f"{self.stage.key}:{self.period}"


def _pct_text(f: Figures, key: str, label: str) -> str:
    return (f"attendance ({label}) {f.pct(key):.1f}% = {f.get(key, 'attended')} of "
            f"{f.get(key, 'possible')} possible sessions")


def stage_measure(stage: Stage, f: Figures) -> float | None:
    """The figure a stage watches: attendance % (higher is better) or a count (lower is better)."""
    key = stage_window_key(stage)
    if stage.trigger in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        return float(f.get(key, "unauthorised" if stage.trigger == Trigger.UNAUTHORISED else "u"))
    if stage.trigger == Trigger.CONTINUOUS:
        return float(f.absent_days)
    if stage.trigger == Trigger.NO_CONTACT:
        return float(f.no_contact_days)
    return f.pct("ytd" if stage.trigger == Trigger.MANUAL else key)


def lower_is_better(stage: Stage) -> bool:
    return stage.trigger in (Trigger.UNAUTHORISED, Trigger.U_COUNT, Trigger.CONTINUOUS, Trigger.NO_CONTACT)


def _window_label(stage: Stage) -> str:
    label = Window(stage.window).label
    return (label.replace("N", str(stage.window_n)) if stage.window in (Window.ROLLING_WEEKS, Window.MONTHS)
            else label).lower()


def stage_fires(stage: Stage, f: Figures, *, windows: Windows) -> str | None:
    """The decision of ``evaluate`` without its words: the trigger key's period (the school year
    or the episode's first day) if ``stage`` fires for ``f``, else None."""
    return stage_check(stage, windows)(f)


def stage_check(stage: Stage, windows: Windows):
    """``stage_fires`` for one stage and night as a function of the figures alone: the nightly
    job asks it of every stage for every pupil, so the stage's settings are read once here."""
    key, t = stage_window_key(stage), stage.trigger
    # A stage acted on once a year is keyed by the school year; any other by the night it fired
    # (a case closed and reopened later is a new episode).
    year = str(windows.starts["ytd"].year) if stage.once_per_year else windows.as_of.isoformat()
    count, min_possible = stage.count, max(stage.min_possible, 1)
    if t in (Trigger.BELOW, Trigger.BELOW_DECLINING):
        x, inclusive = float(stage.threshold), stage.threshold_inclusive
        declining = t == Trigger.BELOW_DECLINING

        def below(f: Figures) -> str | None:
            possible, attended = f.w.get(key, NO_MARKS)[:2]
            if possible < min_possible:
                return None
            hit = attended * 100 <= x * possible if inclusive else attended * 100 < x * possible
            if hit and declining:  # both windows compared must have the evidence too
                hit = (f.w.get("last4", NO_MARKS)[0] >= min_possible
                       and f.w.get("prev4", NO_MARKS)[0] >= min_possible and f.declining)
            return year if hit else None
        return below
    if t in (Trigger.PERSISTENT, Trigger.SEVERE):
        limit = 10 if t == Trigger.PERSISTENT else 50

        def absent(f: Figures) -> str | None:
            possible, _, authorised, unauthorised, _ = f.w.get(key, NO_MARKS)
            if possible < min_possible:
                return None
            return year if (authorised + unauthorised) * 100 >= limit * possible else None
        return absent
    if t in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        metric = 3 if t == Trigger.UNAUTHORISED else 4
        return lambda f: year if f.w.get(key, NO_MARKS)[metric] >= count else None
    if t == Trigger.CONTINUOUS:
        return lambda f: f.absent_since.isoformat() if f.absent_days >= count else None
    if t == Trigger.NO_CONTACT:
        return lambda f: f.no_contact_since.isoformat() if f.no_contact_days >= count else None
    if t == Trigger.MANUAL:
        return lambda f: None
    raise ValueError(f"stage '{stage.key}' has an unknown trigger '{t}'")


def enforcement_start(stage: Stage, windows: Windows, f: Figures) -> date:
    """The first day whose sessions an enforcement stage's trigger counts: a child must have
    been of compulsory school age since then for the stage to apply (domain.md sections 1 and 6:
    sessions before the pupil reached CSA do not count)."""
    if stage.trigger == Trigger.CONTINUOUS:
        return f.absent_since or windows.as_of
    if stage.trigger == Trigger.NO_CONTACT:
        return f.no_contact_since or windows.as_of
    if stage.trigger == Trigger.MANUAL:
        return windows.as_of
    return windows.starts.get(stage_window_key(stage), windows.as_of)


def evaluate(stage: Stage, f: Figures, *, windows: Windows) -> Fired | None:
    """Does ``stage`` fire for a pupil with figures ``f``, and why? ``stage_check`` decides
    (thresholds compare unrounded values); this puts the figures behind it into words."""
    period = stage_fires(stage, f, windows=windows)
    if period is None:
        return None
    key, t = stage_window_key(stage), stage.trigger
    if t in (Trigger.BELOW, Trigger.BELOW_DECLINING):
        words = f"{'at or below' if stage.threshold_inclusive else 'below'} {float(stage.threshold):g}%"
        if t == Trigger.BELOW_DECLINING:
            words += (f" and declining (last 4 school weeks {f.pct('last4'):.1f}% against "
                      f"{f.pct('prev4'):.1f}% the 4 weeks before)")
        return Fired(stage, f.pct(key), f"{_pct_text(f, key, _window_label(stage))}; {words}", period)
    if t in (Trigger.PERSISTENT, Trigger.SEVERE):
        limit = 10 if t == Trigger.PERSISTENT else 50
        words = (f"absence {f.absent(key) * 100.0 / f.get(key, 'possible'):.1f}% is at least {limit}% "
                 f"({'persistent' if limit == 10 else 'severe'} absence)")
        return Fired(stage, f.pct(key), f"{_pct_text(f, key, _window_label(stage))}; {words}", period)
    if t in (Trigger.UNAUTHORISED, Trigger.U_COUNT):
        metric = "unauthorised" if t == Trigger.UNAUTHORISED else "u"
        n = f.get(key, metric)
        what = ("unauthorised sessions (G, N, O, U)" if metric == "unauthorised"
                else "late-after-close (U) marks")
        return Fired(stage, float(n), f"{n} {what} in the {_window_label(stage)} since "
                                      f"{windows.starts[key]:%-d %b %Y} (threshold {stage.count})", period)
    days, since = ((f.absent_days, f.absent_since) if t == Trigger.CONTINUOUS
                   else (f.no_contact_days, f.no_contact_since))
    what = "absent" if t == Trigger.CONTINUOUS else "absent with no reason received (N or O)"
    return Fired(stage, float(days), f"{what} for {days} school days in a row since {since:%-d %b %Y} "
                                     f"(threshold {stage.count})", period)


# --- the run -----------------------------------------------------------------------------------

def n_to_o(*, as_of: date) -> int:
    """N marks still unresolved 5 school days after their session become O, each with an
    amendment row (domain.md section 5), in one statement."""
    days = list(SchoolDay.objects.filter(closed=False, date__lte=as_of).order_by("-date")
                .values_list("date", flat=True)[:N_TO_O_SCHOOL_DAYS + 1])
    if len(days) <= N_TO_O_SCHOOL_DAYS:
        return 0
    cutoff = days[N_TO_O_SCHOOL_DAYS]  # a session on or before this day has had 5 school days since
    with connection.cursor() as cur:
        cur.execute(f"""
            WITH changed AS (
                UPDATE registers_mark SET code = 'O', recorded_at = now()
                WHERE code = 'N' AND date <= %s
                RETURNING pupil_id, date, session, minutes_late)
            INSERT INTO {MarkAmendment._meta.db_table}
                (pupil_id, date, session, original_code, original_minutes_late, new_code, new_minutes_late,
                 reason, user_id, user_name, role, at)
            SELECT pupil_id, date, session, 'N', minutes_late, 'O', minutes_late, %s, NULL, %s, %s, now()
            FROM changed""", [cutoff, N_TO_O_REASON, NIGHTLY_ROLE, NIGHTLY_ROLE])
        return cur.rowcount


SNAPSHOT_COLS = ["possible", "attended", "authorised", "unauthorised", "u_count", "attendance_pct", "band",
                 "band_colour", "last4_pct", "prev4_pct", "trend", "penalty_unauthorised", "absent_days",
                 "no_contact_days"]


def snapshots_upsert(*, night: date, rows: dict[int, dict]) -> set[int]:
    """Write the night's snapshots; returns the pupils whose snapshot was written.

    A night without snapshots yet (every night but a rerun) takes them all with COPY. A rerun
    leaves out the rows equal to those already there (compared exactly: ints, floats read back
    as sent, text), and upserts the rest: INSERT ... ON CONFLICT (pupil, night) DO UPDATE."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT pupil_id, {', '.join(SNAPSHOT_COLS)} FROM escalation_pupilsnapshot "
                    "WHERE night = %s", [night])
        there = {r[0]: r[1:] for r in cur.fetchall()}
    new = [dict(r, pupil=p, night=night) for p, r in rows.items()
           if not there or there.get(p) != tuple(r[c] for c in SNAPSHOT_COLS)]
    if not there:
        insert_rows(PupilSnapshot, new)
        return set(rows)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in SNAPSHOT_COLS)
    written = insert_rows(
        PupilSnapshot, new, returning="pupil_id",
        on_conflict=f"""ON CONFLICT (pupil_id, night) DO UPDATE SET {sets}
                        WHERE ({", ".join(f"escalation_pupilsnapshot.{c}" for c in SNAPSHOT_COLS)})
                              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in SNAPSHOT_COLS)})""")
    return {r[0] for r in written}


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


def cases_insert(cases: list[Case]) -> None:
    """``Case.objects.bulk_create(cases)`` in one statement (``insert_rows``), setting each
    case's pk from RETURNING (each new case is the only one of its pupil and track)."""
    fields = [f.attname for f in Case._meta.concrete_fields if not f.primary_key]
    returned = insert_rows(Case, [{f: getattr(c, f) for f in fields} for c in cases],
                           returning="id, pupil_id, track")
    ids = {(pupil_id, track): pk for pk, pupil_id, track in returned}
    for c in cases:
        c.pk = ids[(c.pupil_id, c.track)]
        c._state.adding, c._state.db = False, connection.alias


PERCENT_BASED = (Trigger.BELOW, Trigger.BELOW_DECLINING, Trigger.PERSISTENT, Trigger.SEVERE)


def evidence(stage: Stage, f: Figures) -> tuple[int, int] | None:
    """(possible sessions in the window, sessions needed) when a percentage trigger lacks its
    minimum evidence, else None."""
    if stage.trigger not in PERCENT_BASED:
        return None
    possible = f.w.get(stage_window_key(stage), NO_MARKS)[0]
    need = max(stage.min_possible, 1)
    return (possible, need) if possible < need else None


def stage_recovered(stage: Stage, base: Stage | None, f: Figures, checks: dict) -> bool | None:
    """Has the pupil recovered from ``stage``? Its exit threshold if set (attendance % at or
    above it), else its trigger (or, for a stage with no trigger, that of the stage it stands
    on) no longer holds; for 'below X% and declining' the figure is back at X% or above. None
    when the window has too little evidence to say (the start of a school year)."""
    if base is None or evidence(base, f):
        return None
    key = stage_window_key(base)
    if stage.exit_threshold is not None:
        pct = f.pct(key if base.trigger in PERCENT_BASED else "ytd")
        return pct is not None and pct >= float(stage.exit_threshold)
    if base.trigger == Trigger.BELOW_DECLINING:
        pct = f.pct(key)
        x = float(base.threshold)
        return pct is not None and (pct > x if base.threshold_inclusive else pct >= x)
    return checks[base.pk](f) is None


def cases_recovered_set(pks: list[int], since: date | None) -> None:
    if pks:
        Case.objects.filter(pk__in=pks).update(recovered_since=since)


@dataclass
class Engine:
    as_of: date
    version: PolicyVersion
    stats: Counter = field(default_factory=Counter)
    rows: list = field(default_factory=list)
    new_cases: list = field(default_factory=list)
    changed_cases: dict = field(default_factory=dict)
    previous_letters: dict = field(default_factory=dict)  # case pk -> (template key, night)

    def __post_init__(self):
        self.at = event_time(self.as_of)

    def letter_context(self, f: Figures) -> dict:
        return {"attendance_pct": f.pct("ytd"), "possible": f.get("ytd", "possible"),
                "attended": f.get("ytd", "attended"), "absent_sessions": f.absent("ytd"),
                "unauthorised": f.get("ytd", "unauthorised"), "night": self.as_of.isoformat()}

    def enter(self, case: Case, stage: Stage, *, explanation: str, measure, kind: str, key: str,
              trigger_key: str, f: Figures) -> None:
        context = self.letter_context(f)
        if case.pk in self.previous_letters:  # a letter can name the one before it and its date
            template, night = self.previous_letters[case.pk]
            context.update(previous_letter=template,
                           previous_letter_date=night.isoformat() if night else None)
        self.rows += stage_entry_plan(case=case, stage=stage, night=self.as_of, explanation=explanation,
                                      measure=measure, version=self.version, kind=kind, key=key,
                                      trigger_key=trigger_key, letter_context=context, at=self.at)
        self.stats["letters_queued"] += bool(stage.letter_template)
        if case.pk:
            self.changed_cases[case.pk] = case

    def event(self, case: Case, *, kind: str, detail: str, key: str, data=None) -> None:
        self.rows.append((CaseEvent, dict(case=case, pupil=case.pupil_id, kind=kind, detail=detail, key=key,
                                          stage=case.stage, user_name=NIGHTLY_ROLE, night=self.as_of,
                                          at=self.at, policy_version=self.version, data=data or {})))

    def review(self, case: Case, f: Figures, base: Stage | None, stages: list[Stage], checks: dict,
               may_enforce) -> None:
        """A review: too little evidence postpones it; improvement keeps the stage; otherwise the
        case climbs one rung if the next stage's condition holds (no trigger: always)."""
        stage, as_of = case.stage, self.as_of
        key = f"review:{case.track}:{stage.key}:{case.review_due}"
        if base is not None and (short := evidence(base, f)):
            self.event(case, kind=CaseEvent.Kind.REVIEW, key=key, data={"improved": None},
                       detail=f"Not enough evidence yet ({short[0]} of the {short[1]} possible sessions the "
                              f"stage waits for): reviewed again in {EVIDENCE_WAIT_DAYS} days")
            case.review_due = as_of + timedelta(days=EVIDENCE_WAIT_DAYS)
            self.changed_cases[case.pk] = case
            self.stats["reviews_postponed"] += 1
            return
        now, entry = stage_measure(stage, f), case.entry_measure
        improved = (now is not None and entry is not None
                    and (now < entry if lower_is_better(stage) else now > entry))
        fmt = "{:.1f}%".format if not lower_is_better(stage) else "{:g}".format
        change = f"{fmt(entry) if entry is not None else '–'} → {fmt(now) if now is not None else '–'}"
        rung = next_rung(stage, stages)
        target = None if improved else next(
            (s for s in rung
             if (s.trigger == Trigger.MANUAL or checks[s.pk](f) is not None) and may_enforce(s)), None)
        if target is not None:
            self.enter(case, target, kind=CaseEvent.Kind.ADVANCED, key=key, f=f,
                       trigger_key=f"{target.key}:{case.track}:{case.review_due}",
                       measure=stage_measure(target, f),
                       explanation=f"no improvement by the review due {case.review_due:%-d %b %Y} ({change})")
            self.stats["cases_advanced"] += 1
            return
        if improved:
            detail = f"Improved since the stage began ({change}); next review in {stage.review_days} days"
        elif rung:
            detail = (f"No improvement ({change}), but the next stage's condition does not hold "
                      f"({', '.join(s.name for s in rung)}): staying at this stage; next review in "
                      f"{stage.review_days} days")
        else:
            detail = f"No improvement ({change}) and no further stage: decide the next step"
        self.event(case, kind=CaseEvent.Kind.REVIEW, detail=detail, key=key, data={"improved": improved})
        case.review_due = as_of + timedelta(days=stage.review_days)
        self.changed_cases[case.pk] = case
        self.stats["reviews"] += 1

    def step_down(self, case: Case, ascending: list[Stage], checks: dict, f: Figures, may_enforce) -> None:
        """The figure has stayed recovered for the stage's exit time: step down to the highest
        stage below whose trigger still holds, or close; then the stage's recovery actions."""
        stage, since = case.stage, case.recovered_since
        days = (self.as_of - since).days
        now = stage_measure(stage, f)
        figure = (f"{now:.1f}%" if now is not None and not lower_is_better(stage) else
                  f"{now:g}" if now is not None else "–")
        why = f"recovered since {since:%-d %b %Y} ({days} days; now {figure})"
        lower = next((s for s in reversed(ascending) if s.order < stage.order
                      and checks[s.pk](f) is not None and may_enforce(s)), None)
        suffix = f"{case.track}:{stage.key}:{since}"
        if lower is not None:
            case.stage, case.stage_since, case.owner_role = lower, self.as_of, lower.owner_role
            case.review_due = self.as_of + timedelta(days=lower.review_days)
            case.monitor_until, case.recovered_since, case.told_on = None, None, None
            case.entry_measure = stage_measure(lower, f)
            case.explanation = f"stepped down from '{stage.name}': {why}"
            self.event(case, kind=CaseEvent.Kind.STEPPED_DOWN, key=f"down:{suffix}",
                       detail=f"{stage.name} → {lower.name}: {why}",
                       data={"from": stage.key, "to": lower.key})
            self.stats["cases_stepped_down"] += 1
        else:
            case.status, case.closed_on = Case.Status.CLOSED, self.as_of
            case.close_reason = f"Recovered from '{stage.name}': {why}"[:200]
            self.event(case, kind=CaseEvent.Kind.CLOSED, key=f"close:{suffix}", detail=case.close_reason,
                       data={"from": stage.key, "recovered": True})
            self.stats["cases_closed_recovered"] += 1
        self.changed_cases[case.pk] = case
        if stage.recovery_letter:
            trigger_key = f"recovered:{suffix}"[:120]
            self.rows.append((Letter, dict(pupil=case.pupil_id, trigger_key=trigger_key, night=self.as_of,
                                           case=case, template_key=stage.recovery_letter,
                                           context=self.letter_context(f))))
            self.event(case, kind=CaseEvent.Kind.LETTER, key=f"letter:{trigger_key}"[:120],
                       detail=f"Letter '{stage.recovery_letter}' queued")
            self.stats["letters_queued"] += 1
        if stage.recovery_task:
            self.event(case, kind=CaseEvent.Kind.TASK, key=f"task:{suffix}"[:120], detail=stage.recovery_task)


@contextmanager
def gc_paused():
    """No cyclic garbage collection meanwhile: a night allocates many short-lived objects (no
    cycles), which would set off collections that each walk every long-lived object of the
    worker, about a tenth of the night's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def night_run(*, as_of: date) -> NightlyRun:
    """Run the nightly job for the current school schema and night ``as_of``."""
    started = timezone.now()
    try:
        with gc_paused(), transaction.atomic():
            with connection.cursor() as cur:  # one run per school at a time
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                            [f"nightly:{connection.schema_name}"])
            return _run(as_of=as_of, started=started)
    except Exception as exc:
        log.exception("nightly run failed for %s on %s", connection.schema_name, as_of)
        if not connection.needs_rollback:  # the night's own transaction is already rolled back
            with transaction.atomic():
                NightlyRun.objects.create(night=as_of, status=NightlyRun.Status.FAILED, started=started,
                                          finished=timezone.now(),
                                          error=f"{type(exc).__name__}: {exc}"[:2000])
        raise


def _run(*, as_of: date, started) -> NightlyRun:
    version = policy_version_current()
    eng = Engine(as_of, version)
    eng.stats["n_to_o"] = n_to_o(as_of=as_of)
    all_stages = {s.pk: s for s in Stage.objects.all()}  # inactive ones too: live cases may be at one
    stages = [s for s in all_stages.values() if s.active]
    windows = Windows.build(as_of, all_stages.values())
    born = dict(Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of),
                                     admission_date__lte=as_of).values_list("pk", "date_of_birth"))
    on_roll = set(born)
    # Enforcement applies only to children of compulsory school age (domain.md section 1).
    csa_since = {pid: csa_start(dob) for pid, dob in born.items() if of_compulsory_school_age(dob, as_of)}

    def may_enforce(pid: int, stage: Stage | None, f: Figures) -> bool:
        if stage is None or not stage.enforcement:
            return True
        since = csa_since.get(pid)
        return since is not None and since <= enforcement_start(stage, windows, f)

    figs = {pid: f for pid, f in figures(as_of=as_of, windows=windows).items() if pid in on_roll}
    for pid in on_roll - figs.keys():
        figs[pid] = Figures()
    eng.stats["pupils"] = len(figs)

    # Snapshots and band moves.
    bands, before = active_bands(), previous_bands(as_of)
    snap = {}
    for pid, f in figs.items():
        possible, attended, authorised, unauthorised, u = f.w.get("ytd", NO_MARKS)
        pct = attended * 100.0 / possible if possible else None
        band = band_for(pct, bands)
        snap[pid] = {"possible": possible, "attended": attended, "authorised": authorised,
                     "unauthorised": unauthorised, "u_count": u, "attendance_pct": pct,
                     "band": band.name if band else "", "band_colour": band.colour if band else "",
                     "last4_pct": f.pct("last4"), "prev4_pct": f.pct("prev4"), "trend": f.trend,
                     "penalty_unauthorised": f.w.get("pn", NO_MARKS)[3],
                     "absent_days": f.absent_days, "no_contact_days": f.no_contact_days}
    written = snapshots_upsert(night=as_of, rows=snap)
    eng.stats["snapshots_written"] = len(written)
    for pid in written:  # band moves since the previous night's snapshot, counted when first seen
        if pid in before and before[pid] != snap[pid]["band"]:
            eng.stats[f"band: {before[pid] or '–'} → {snap[pid]['band'] or '–'}"] += 1
    eng.stats["penalty_candidates"] = sum(1 for pid, s in snap.items()
                                          if s["penalty_unauthorised"] >= PENALTY_SESSIONS
                                          and csa_since.get(pid, as_of) <= windows.starts["pn"])

    # The ladders (domain.md section 5): a case opens at the lowest stage whose trigger holds
    # (or at a direct entry), climbs one rung at a time at a review, steps down on recovery.
    ladders = {}
    for track in sorted({s.track for s in stages}):
        ascending = [s for rung in track_rungs(stages, track) for s in rung if s.trigger != Trigger.MANUAL]
        ladders[track] = (ascending, [s for s in reversed(ascending) if s.direct_entry])
    checks = {s.pk: stage_check(s, windows) for s in all_stages.values() if s.trigger != Trigger.MANUAL}
    bases = {pk: rung_base(s, stages + ([] if s.active else [s])) for pk, s in all_stages.items()}
    ytd, year = windows.starts["ytd"], windows.starts["ytd"].year
    # Live cases are read as plain rows; only those the night acts on are loaded as objects.
    live = {(r[1], r[2]): r for r in Case.objects.exclude(status=Case.Status.CLOSED).values_list(
        "pk", "pupil_id", "track", "status", "stage_id", "review_due", "monitor_until", "recovered_since",
        "stage_since") if r[1] in figs}
    # A monitoring stage whose family has not been told yet (its letter still waiting) holds
    # its clock: no review, no step, no jump until the letter is sent (issue 12 item 6).
    held = {k for k, r in live.items() if r[3] == Case.Status.OPEN and not r[6]
            and all_stages[r[4]].monitor_school_days}
    # A track closed tonight is not reopened by a rerun of the night; one a person closed this
    # school year reopens only above the stage they closed it at (their decision stands).
    closed_tonight, closed_floor = set(), {}
    with connection.cursor() as cur:
        cur.execute("""
            SELECT c.pupil_id, c.track, s."order", c.closed_on,
                   EXISTS (SELECT 1 FROM escalation_caseevent e WHERE e.case_id = c.id AND e.kind = 'closed'
                           AND e.night IS NOT NULL)
            FROM escalation_case c JOIN escalation_stage s ON s.id = c.stage_id
            WHERE c.status = 'closed' AND c.closed_on >= %s""", [ytd])
        for pid, track, order, closed_on, by_job in cur.fetchall():
            if closed_on >= as_of:
                closed_tonight.add((pid, track))
            elif not by_job:
                closed_floor[(pid, track)] = max(order, closed_floor.get((pid, track), 0))
    candidates = []  # (pupil, figures, track, live case pk or None, [(stage, trigger key)] preferred first)
    for pid, f in figs.items():
        for track, (ascending, direct) in ladders.items():
            row = live.get((pid, track))
            if row is None:
                if (pid, track) in closed_tonight:
                    continue
                floor = closed_floor.get((pid, track), 0)
                # Direct entries first (the highest), then the ladder from the bottom: up to the
                # first stage not limited to once a year, which is the choice if nothing before it is.
                prefs = [(s, f"{s.key}:{p}") for s in direct if s.order > floor
                         and (p := checks[s.pk](f)) is not None and may_enforce(pid, s, f)]
                for s in ascending:
                    if s.order > floor and (p := checks[s.pk](f)) is not None and may_enforce(pid, s, f):
                        prefs.append((s, f"{s.key}:{p}"))
                        if not s.once_per_year:
                            break
                if prefs:
                    candidates.append((pid, f, track, None, prefs))
            elif direct and row[3] == Case.Status.OPEN and not row[6] and (pid, track) not in held:
                order = all_stages[row[4]].order
                fired = [(s, f"{s.key}:{p}") for s in direct if s.order > order
                         and (p := checks[s.pk](f)) is not None and may_enforce(pid, s, f)]
                if fired:
                    candidates.append((pid, f, track, row[0], fired))
    # Open cases from an earlier school year carry over to a review (once).
    pupil_of = {r[0]: r[1] for r in live.values()}
    carry = {r[0]: f"carry:{r[2]}:{year}" for r in live.values()
             if r[3] == Case.Status.OPEN and not r[6] and r[8] < ytd and (r[1], r[2]) not in held}
    seen = keys_seen([(c[0], key) for c in candidates for _, key in c[4]]
                     + [(pupil_of[pk], key) for pk, key in carry.items()])
    moves = []
    for pid, f, track, pk, prefs in candidates:
        # A stage acted on once this year (once_per_year) is passed over, the next one taken.
        choice = next(((s, key) for s, key in prefs if (pid, key) not in seen), None)
        if choice:
            moves.append((pid, f, track, pk, *choice))
    touched = {(pid, track) for pid, _, track, *_ in moves}

    # Recovery: the first night of a run of recovered figures is kept on the case.
    recovered_from, recovered_clear, due_down = [], [], []
    for key, r in live.items():
        if key in touched or r[3] != Case.Status.OPEN or r[6] or key in held:
            continue
        stage = all_stages[r[4]]
        rec = stage_recovered(stage, bases[stage.pk], figs[r[1]], checks)
        since = r[7]
        if rec and since is None:
            recovered_from.append(r[0])
            since = as_of
        elif rec is False and since is not None:
            recovered_clear.append(r[0])
            since = None
        if rec and (as_of - since).days >= stage.exit_after_days:
            due_down.append(r[0])
    cases_recovered_set(recovered_from, as_of)
    cases_recovered_set(recovered_clear, None)
    carry = {pk: key for pk, key in carry.items() if (pupil_of[pk], key) not in seen}
    skip = touched | held
    waiting = [r[0] for k, r in live.items() if k not in skip and r[3] == Case.Status.OPEN
               and (r[6] or (r[5] is not None and r[5] <= as_of) or r[0] in carry or r[0] in due_down)]
    cases = Case.objects.select_related("stage").in_bulk([m[3] for m in moves if m[3]] + waiting)
    eng.previous_letters = {case_id: (template, night) for case_id, template, night in Letter.objects.filter(
        case_id__in=list(cases), night__lt=as_of).order_by("case_id", "night", "pk").values_list(
        "case_id", "template_key", "night")}

    for pid, f, track, pk, stage, key in moves:
        fired = evaluate(stage, f, windows=windows)
        explanation = fired.explanation
        if pk is None:
            case = Case(pupil_id=pid, track=track, opened_on=as_of)
            eng.new_cases.append(case)
            kind = CaseEvent.Kind.OPENED
            eng.stats["cases_opened"] += 1
        elif (case := cases.get(pk)) is not None:  # (unless deleted meanwhile)
            kind = CaseEvent.Kind.ADVANCED
            eng.stats["cases_advanced"] += 1
        else:
            continue
        if stage.direct_entry and (pk is not None or stage is not ladders[track][0][0]):
            explanation += f" (direct entry: {stage.direct_entry_reason})"
        eng.enter(case, stage, explanation=explanation, measure=fired.measure, kind=kind, key=key,
                  trigger_key=key, f=f)

    # Step-downs, carry-overs, reviews and monitoring periods of the cases not moved tonight.
    waiting = [cases[pk] for pk in waiting if pk in cases]
    monitored = [c for c in waiting if c.monitor_until]
    absences = unauthorised_dates(cases=monitored, as_of=as_of)
    for case in waiting:
        f, stage = figs[case.pupil_id], case.stage
        if case.monitor_until:
            dates = absences.get(case.pk)
            key = f"monitor:{case.track}:{stage.key}:{case.stage_since}"
            target = next((s for s in next_rung(stage, stages) if may_enforce(case.pupil_id, s, f)), None)
            if dates and target:
                listed = ", ".join(f"{d:%-d %b}" for d in dates)
                eng.enter(case, target, kind=CaseEvent.Kind.ADVANCED, key=key, f=f,
                          trigger_key=f"{target.key}:{case.track}:{case.stage_since}",
                          measure=stage_measure(target, f),
                          explanation=f"unauthorised absence during the monitoring period ({listed})")
                eng.stats["cases_advanced"] += 1
            elif not dates and as_of >= case.monitor_until:
                case.status, case.closed_on = Case.Status.CLOSED, as_of
                case.close_reason = (f"{stage.monitor_school_days} school days of monitoring with no "
                                     "unauthorised absence")
                eng.event(case, kind=CaseEvent.Kind.CLOSED, detail=case.close_reason, key=key)
                eng.changed_cases[case.pk] = case
                eng.stats["monitoring_completed"] += 1
            continue
        if case.pk in due_down:
            eng.step_down(case, ladders[case.track][0], checks, f, lambda s, c=case, f=f: may_enforce(
                c.pupil_id, s, f))
            continue
        if case.pk in carry:
            eng.event(case, kind=CaseEvent.Kind.REVIEW, key=carry[case.pk],
                      detail=f"Carried over into the school year {year}/{str(year + 1)[2:]}: reviewed "
                             "once this year's marks give enough evidence")
            case.review_due = as_of
            eng.changed_cases[case.pk] = case
            eng.stats["cases_carried_over"] += 1
        if case.review_due is None or case.review_due > as_of:
            continue
        eng.review(case, f, bases[stage.pk], stages, checks, lambda s, c=case, f=f: may_enforce(
            c.pupil_id, s, f))

    cases_insert(eng.new_cases)
    update_rows(list(eng.changed_cases.values()), [
        "stage", "stage_since", "owner_role", "review_due", "monitor_until", "explanation", "entry_measure",
        "policy_version", "status", "closed_on", "close_reason", "recovered_since", "told_on"])
    rows_save(eng.rows)
    summary = {k: v for k, v in sorted(eng.stats.items()) if v}
    summary["policy_version"] = version.number
    return NightlyRun.objects.create(night=as_of, status=NightlyRun.Status.COMPLETED, started=started,
                                     finished=timezone.now(), policy_version=version, summary=summary)


def run_for_schema(schema_name: str, as_of: date) -> NightlyRun:
    from django_tenants.utils import schema_context

    with schema_context(schema_name):
        return night_run(as_of=as_of)


__all__ = ["night_run", "run_for_schema", "figures", "Windows", "Figures", "evaluate", "night_of",
           "case_event"]
