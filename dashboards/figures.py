"""Selectors for the dashboards (issue 6): every figure is aggregated in SQL.

The figures follow docs/domain.md section 3 and equal ``registers.selectors`` for the same pupils
and range. A handful of queries per page, whatever the number of pupils:

- ``rollup``: marks -> (pupil, week) -> pupil -> GROUPING SETS over cohort and each pupil
  attribute (year group, class, gender, PP, FSM, EAL, SEN, LAC, ethnicity, band). One scan of
  the marks, as counted by week (``_marks_counted``: whole weeks from registers_markweek, the
  days around them from the marks; about a quarter of the rows, so a period nobody has opened
  since the data changed is still quick).
- ``patterns``: the same counts GROUPING SETS over day of week, session, code and week.
- ``today``: each class's registers for one day (both sessions), with totals.
- ``classes_at_100``: the class(es) of the week with 100% attendance (Beecroft trophy).
- ``pupil_figures``: every pupil's figures (cached, warmed with the dashboard); ``pupil_rows``,
  the pupils behind any number (drill-down), filters them with the same tests.

"Cohort" is ``csa`` (compulsory school age: aged 5–15 at the start of the school year, the
national headline) or ``all``. Year to date runs from the school year start; each pupil counts
from their admission date, leavers up to their leaving date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction

from django.db import connection
from django.db.models import Count, Q

from escalation.services import active_bands
from registers import codes
from registers.models import Ethnicity, Mark, MarkWeek, Pupil, RegistrationGroup
from registers.school_year import csa_birth_range, school_year_start
from registers.selectors import PA_THRESHOLD, SA_THRESHOLD, Stats

# The national figure shown beside the school's. Configurable: replace this dict (or a
# school's LA entry in LA_BENCHMARKS) when the DfE publishes newer figures.
NATIONAL_BENCHMARK = {
    "attendance_pct": 93.3,
    "absence_pct": 6.7,
    "pa_pct": 20.1,
    "label": "England, state-funded schools, autumn term 2023/24",
    "source": "DfE, Pupil attendance in schools (official statistics in development)",
    "url": "https://explore-education-statistics.service.gov.uk/find-statistics/"
           "pupil-attendance-in-schools/2024-week-6",
    "date": date(2024, 2, 8),
}
# Local-authority figures keyed by School.la_name, same keys as NATIONAL_BENCHMARK.
LA_BENCHMARKS: dict[str, dict] = {}

COHORTS = {"csa": "Compulsory school age (5–15)", "all": "All pupils"}

# Pupil attributes the dashboards compare. (key, column, label of each value)
DIMENSIONS = {
    "year_group": "year_group",
    "group": "registration_group_id",
    "gender": "gender",
    "pp": "pupil_premium",
    "fsm": "fsm",
    "eal": "eal",
    "sen": "sen_status",
    "lac": "lac",
    "ethnicity": "ethnicity",
    "band": "band",
}
# Pupil-level lists by these are for staff who may read pupil records, never governors.
SAFEGUARDING_DIMS = {"lac"}

# The pupil groups compared with "the rest" (LAP annex 3, St Luke's section 16).
PUPIL_GROUPS = [
    ("pp", True, "Pupil premium"),
    ("fsm", True, "FSM eligible"),
    ("eal", True, "EAL"),
    ("sen", "K", "SEN support"),
    ("sen", "E", "EHC plan"),
    ("lac", True, "Looked after (LAC)"),
    ("gender", "F", "Girls"),
    ("gender", "M", "Boys"),
]
WEEKDAYS = {1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday",
            6: "Saturday", 7: "Sunday"}

_STAT_FIELDS = ["possible", "present", "aea", "authorised", "unauthorised", "not_possible",
                "late_before_close", "late_after_close", "minutes_late"]


@dataclass
class Figures:
    """Statistics of a set of pupils, plus counts of pupils (PA, SA, broken weeks)."""

    stats: Stats = field(default_factory=Stats)
    pupils: int = 0
    counted: int = 0  # pupils with at least one possible session: the PA/SA denominator
    pa: int = 0
    sa: int = 0
    broken_weeks: int = 0
    pupils_broken: int = 0

    def _rate(self, n: int) -> float | None:
        return n * 100.0 / self.counted if self.counted else None

    @property
    def pa_pct(self) -> float | None:
        return self._rate(self.pa)

    @property
    def sa_pct(self) -> float | None:
        return self._rate(self.sa)

    def __sub__(self, other: Figures) -> Figures:
        return Figures(
            stats=Stats(**{k: getattr(self.stats, k) - getattr(other.stats, k)
                           for k in _STAT_FIELDS}),
            **{k: getattr(self, k) - getattr(other, k)
               for k in ("pupils", "counted", "pa", "sa", "broken_weeks", "pupils_broken")})

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            stats=self.stats + other.stats,
            **{k: getattr(self, k) + getattr(other, k)
               for k in ("pupils", "counted", "pa", "sa", "broken_weeks", "pupils_broken")})


@dataclass(frozen=True)
class Criteria:
    """Which marks and pupils a figure is about; the drill-down list uses the same."""

    date_from: date
    date_to: date
    cohort: str = "csa"                 # csa | all
    dims: tuple = ()                    # ((dimension key, value), ...) on pupils
    dow: int | None = None              # ISO day of week of the marks
    session: str | None = None          # AM | PM
    code: str | None = None             # one national code
    measure: str | None = None          # see MEASURES

    def with_(self, **kw) -> Criteria:
        return replace(self, **kw)

    @property
    def filtered(self) -> bool:
        """Narrowed beyond period and cohort (pupil attributes, day, session, code, measure):
        refused to figures-only viewers (registers.disclosure)."""
        return bool(self.dims) or any(getattr(self, k) is not None
                                      for k in ("dow", "session", "code", "measure"))

    def query(self) -> dict:
        """Query-string parameters of this criteria (for links and exports)."""
        q = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(),
             "cohort": self.cohort}
        for k, v in self.dims:
            q[k] = _encode(v)
        for k in ("dow", "session", "code", "measure"):
            if getattr(self, k) is not None:
                q[k] = getattr(self, k)
        return q


# Which pupils a drill-down lists, by their figures over the criteria's marks.
MEASURES = {
    "pa": "Persistently absent (absence ≥ 10%)",
    "sa": "Severely absent (absence ≥ 50%)",
    "absent": "At least one absence",
    "authorised": "At least one authorised absence",
    "unauthorised": "At least one unauthorised absence",
    "broken": "At least one broken week",
    "late": "Late at least once (L or U)",
    "marked": "With any mark of this kind",
    "full": "100% attendance",
}


def _encode(v) -> str:
    if v is True:
        return "1"
    if v is False:
        return "0"
    return "" if v is None else str(v)


def _decode(key: str, raw: str):
    if key in ("pp", "fsm", "eal", "lac"):
        return raw in ("1", "true", "True", "yes")
    if key in ("year_group", "group", "band"):
        return int(raw)
    if key == "ethnicity" and raw not in Ethnicity.values:
        raise ValueError("unknown ethnicity code")
    return raw


def criteria_from_query(params, *, today: date) -> Criteria:
    """Build criteria from a request's GET parameters; bad values raise ValueError."""
    date_to = date.fromisoformat(params["to"]) if params.get("to") else today
    date_from = (date.fromisoformat(params["from"]) if params.get("from")
                 else school_year_start(date_to))
    if date_from > date_to:
        raise ValueError("the start date is after the end date")
    cohort = params.get("cohort") or "csa"
    if cohort not in COHORTS:
        raise ValueError("unknown cohort")
    dims = tuple((k, _decode(k, params[k])) for k in DIMENSIONS if params.get(k, "") != "")
    dow = int(params["dow"]) if params.get("dow") else None
    if dow is not None and not 1 <= dow <= 7:
        raise ValueError("day of week must be 1–7")
    session = params.get("session") or None
    if session not in (None, "AM", "PM"):
        raise ValueError("session must be AM or PM")
    code = params.get("code") or None
    if code is not None and code not in codes.CODES:
        raise ValueError("unknown code")
    measure = params.get("measure") or None
    if measure is not None and measure not in MEASURES:
        raise ValueError("unknown measure")
    return Criteria(date_from, date_to, cohort, dims, dow, session, code, measure)


# --- SQL building blocks -----------------------------------------------------------------

def _tables() -> dict:
    return {"mark": Mark._meta.db_table, "pupil": Pupil._meta.db_table,
            "rgroup": RegistrationGroup._meta.db_table}


def _code_params() -> dict:
    return {"c_possible": codes.POSSIBLE_CODES, "c_present": codes.PRESENT_CODES,
            "c_aea": codes.AEA_CODES, "c_auth": codes.AUTHORISED_CODES,
            "c_unauth": codes.UNAUTHORISED_CODES, "c_notposs": codes.NOT_POSSIBLE_CODES,
            "c_absent": codes.ABSENCE_CODES,
            "pa": PA_THRESHOLD, "sa": SA_THRESHOLD}


# Monday of a mark's week and its ISO day of week, by integer date arithmetic (cheaper than
# date_trunc, which goes through timestamps with time zones). 3 January 2000 was a Monday.
_WEEK = "(DATE '2000-01-03' + 7 * ((m.date - DATE '2000-01-03') / 7))"
_DOW = "(MOD(m.date - DATE '2000-01-03', 7) + 1)"

# Per-mark counts, as in selectors.STAT_AGGREGATES.
_MARK_COUNTS = """
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_possible)s)) AS possible,
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_present)s)) AS present,
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_aea)s)) AS aea,
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_auth)s)) AS authorised,
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_unauth)s)) AS unauthorised,
    COUNT(*) FILTER (WHERE m.code = ANY(%(c_notposs)s)) AS not_possible,
    COUNT(*) FILTER (WHERE m.code = 'L') AS late_before_close,
    COUNT(*) FILTER (WHERE m.code = 'U') AS late_after_close,
    COALESCE(SUM(m.minutes_late), 0) AS minutes_late"""
# The same counts over rows already grouped by code (columns ``code``, ``n``, ``mins``):
# the big scan groups marks by code once and the category filters run on far fewer rows.
_CODE_SUMS = """
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_possible)s)), 0)::bigint AS possible,
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_present)s)), 0)::bigint AS present,
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_aea)s)), 0)::bigint AS aea,
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_auth)s)), 0)::bigint AS authorised,
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_unauth)s)), 0)::bigint AS unauthorised,
    COALESCE(SUM(n) FILTER (WHERE code = ANY(%(c_notposs)s)), 0)::bigint AS not_possible,
    COALESCE(SUM(n) FILTER (WHERE code = 'L'), 0)::bigint AS late_before_close,
    COALESCE(SUM(n) FILTER (WHERE code = 'U'), 0)::bigint AS late_after_close,
    COALESCE(SUM(mins), 0)::bigint AS minutes_late,
    COALESCE(SUM(n), 0)::bigint AS marks"""
_SUMS = ",\n    ".join(f"COALESCE(SUM({{p}}{f}), 0)::bigint AS {f}" for f in _STAT_FIELDS)
_PA = "(authorised + unauthorised) * 100.0 >= %(pa)s * possible"
_SA = "(authorised + unauthorised) * 100.0 >= %(sa)s * possible"


def _on_roll_marks(c: Criteria, params: dict) -> str:
    """WHERE clause for marks in range while the pupil was on roll, with mark filters."""
    params.update(date_from=c.date_from, date_to=c.date_to)
    where = ["m.date BETWEEN %(date_from)s AND %(date_to)s", "m.date >= p.admission_date",
             "(p.leaving_date IS NULL OR m.date <= p.leaving_date)"]
    if c.dow is not None:
        where.append(f"{_DOW} = %(dow)s")
        params["dow"] = c.dow
    if c.session:
        where.append("m.session = %(session)s")
        params["session"] = c.session
    if c.code:
        where.append("m.code = %(code)s")
        params["code"] = c.code
    return " AND ".join(where)


def _band_case(bands, params: dict) -> str:
    """SQL CASE giving a pupil's band id; edges compared unrounded (cross-multiplied)."""
    if not bands:
        return "NULL::bigint"
    whens = []
    for i, b in enumerate(bands):
        cond = []
        if b.lower is not None:
            params[f"band_lo{i}"] = b.lower
            op = ">=" if b.lower_inclusive else ">"
            cond.append(f"(present + aea) * 100 {op} %(band_lo{i})s * possible")
        if b.upper is not None:
            params[f"band_hi{i}"] = b.upper
            op = "<=" if b.upper_inclusive else "<"
            cond.append(f"(present + aea) * 100 {op} %(band_hi{i})s * possible")
        params[f"band_id{i}"] = b.pk
        whens.append(f"WHEN {' AND '.join(cond) or 'TRUE'} THEN %(band_id{i})s::bigint")
    return f"CASE WHEN possible = 0 THEN NULL {' '.join(whens)} END"


def _pupil_where(c: Criteria, params: dict, alias: str = "p") -> str:
    params.update(roll_from=c.date_from, roll_to=c.date_to)
    where = [f"{alias}.admission_date <= %(roll_to)s",
             f"({alias}.leaving_date IS NULL OR {alias}.leaving_date >= %(roll_from)s)"]
    for key, value in c.dims:
        if key == "band":
            continue  # a computed column: filtered after aggregation
        params[f"dim_{key}"] = value
        where.append(f"{alias}.{DIMENSIONS[key]} = %(dim_{key})s")
    return " AND ".join(where)


def _whole_weeks(c: Criteria) -> tuple[date, date] | None:
    """The Mondays of the first and last whole weeks (Monday to Sunday) inside ``c``'s dates,
    when the week counts (registers_markweek) can stand for its marks: not for one day of the
    week or one session, whose marks the counts do not split by both."""
    if c.dow is not None or c.session:
        return None
    first = c.date_from + timedelta(days=-c.date_from.weekday() % 7)
    last = c.date_to - timedelta(days=(c.date_to.weekday() + 1) % 7 + 6)
    return (first, last) if first <= last else None


# Per-slot columns of registers_markweek (session, ISO day of week), and the same per mark.
_SLOTS = {"am": "m.session = 'AM'", "pm": "m.session = 'PM'",
          **{f"d{d}": f"{_DOW} = {d}" for d in range(1, 8)}}
_SLOT_COLS = [f"{x}_{slot}" for slot in _SLOTS for x in ("n", "mins")]
_SLOT_EXPR = [f"CASE WHEN {cond} THEN {x} ELSE 0 END AS {name}_{slot}"
              for slot, cond in _SLOTS.items()
              for name, x in (("n", "1"), ("mins", "COALESCE(m.minutes_late, 0)"))]


def _marks_counted(c: Criteria, params: dict, *, slots: bool = False) -> str:
    """The marks of ``c`` (its dates, while each pupil was on roll, its code) as rows
    ``pupil_id, wk, code, n, mins`` (and with ``slots`` the counts by session and day of the
    week, ``_SLOT_COLS``) to be summed by pupil, week and code: for each whole week a pupil
    was on roll throughout, the week's counts (registers_markweek: a row per code, plus rows
    of changes since the night); for the days around them, a pupil's week of admission or
    leaving, or one day of the week or session, the marks themselves. About a quarter of the
    rows of the marks for a year: the dashboards' big scans. A sum of 0 is no marks."""
    t = _tables()
    marks_where = _on_roll_marks(c, params)
    if c.code:
        params["code"] = c.code
    mark_cols = ", ".join([f"m.pupil_id, {_WEEK} AS wk, m.code, 1 AS n, COALESCE(m.minutes_late, 0) AS mins",
                           *(_SLOT_EXPR if slots else [])])
    marks = f"SELECT {mark_cols} FROM {t['mark']} m JOIN {t['pupil']} p ON p.id = m.pupil_id"
    weeks = _whole_weeks(c)
    if weeks is None:
        return f"{marks} WHERE {marks_where}"
    params.update(wk_first=weeks[0], wk_last=weeks[1])
    whole = ("p.admission_date <= {wk} AND (p.leaving_date IS NULL OR p.leaving_date >= {wk} + 6)")
    week_cols = ", ".join(["s.pupil_id, s.week AS wk, s.code, s.n, s.mins",
                           *(f"s.{col}" for col in (_SLOT_COLS if slots else []))])
    return f"""
SELECT {week_cols} FROM {MarkWeek._meta.db_table} s JOIN {t['pupil']} p ON p.id = s.pupil_id
WHERE s.week BETWEEN %(wk_first)s AND %(wk_last)s AND {whole.format(wk='s.week')}
  {'AND s.code = %(code)s' if c.code else ''}
UNION ALL
{marks} WHERE {marks_where} AND (m.date < %(wk_first)s OR m.date > %(wk_last)s + 6)
UNION ALL
{marks} WHERE {marks_where} AND m.date BETWEEN %(wk_first)s AND %(wk_last)s + 6
  AND (p.admission_date > %(wk_first)s OR p.leaving_date < %(wk_last)s + 6)
  AND NOT ({whole.format(wk=_WEEK)})"""


def _per_pupil_sql(c: Criteria, params: dict, bands) -> str:
    """CTEs ``pc`` (pupil x code) and ``pp`` (one row per pupil on roll, with figures)."""
    oldest, youngest = csa_birth_range(c.date_to)
    params.update(csa_oldest=oldest, csa_youngest=youngest, **_code_params())
    t = _tables()
    return f"""
WITH pc AS (
  -- The one scan of the marks (counted by week): per pupil and code, and for absences per
  -- week as well (broken weeks): a few dozen groups per pupil.
  SELECT u.pupil_id, u.code, CASE WHEN u.code = ANY(%(c_absent)s) THEN u.wk END AS awk,
    SUM(u.n) AS n, SUM(u.mins) AS mins
  FROM ({_marks_counted(c, params)}) u
  GROUP BY 1, 2, 3 HAVING SUM(u.n) <> 0
), pp0 AS (
  SELECT p.id, p.year_group, p.registration_group_id, p.gender, p.pupil_premium, p.fsm,
    p.eal, p.sen_status, p.lac, p.ethnicity,
    (p.date_of_birth BETWEEN %(csa_oldest)s AND %(csa_youngest)s) AS csa,
    {_CODE_SUMS},
    COUNT(DISTINCT pc.awk) AS broken_weeks
  FROM {t['pupil']} p LEFT JOIN pc ON pc.pupil_id = p.id
  WHERE {_pupil_where(c, params)}
  GROUP BY p.id
), pp AS (
  SELECT pp0.*, {_band_case(bands, params)} AS band FROM pp0
)"""


def _figures(row: dict) -> Figures:
    return Figures(stats=Stats(**{k: int(row[k]) for k in _STAT_FIELDS}),
                   pupils=row["pupils"], counted=row["counted"], pa=row["pa"], sa=row["sa"],
                   broken_weeks=int(row["broken_weeks"]), pupils_broken=row["pupils_broken"])


# Memory for the sorts and hash tables of one figures query (PostgreSQL's default is 4 MB):
# their groups spill to disk below this for 1,000 pupils, half their time when cold.
WORK_MEM = "32MB"


def _rows(sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    """Run one figures query with WORK_MEM. The setting goes in the same message, so it lasts
    for this statement's transaction only (the implicit one in autocommit) and costs no round
    trip; behind pgbouncer it never outlives the transaction either."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT set_config('work_mem', %(work_mem)s, true); {sql}",
                    {**params, "work_mem": WORK_MEM})
        cur.nextset()  # past the setting, to the query's own rows
        return [d[0] for d in cur.description], cur.fetchall()


def _fetch(sql: str, params: dict) -> list[dict]:
    cols, rows = _rows(sql, params)
    return [dict(zip(cols, r, strict=True)) for r in rows]


# --- the rollup ------------------------------------------------------------------------------

@dataclass
class Rollup:
    """Figures by cohort (``csa``, ``all``) for the total and each value of each dimension."""

    criteria: Criteria
    total: dict[str, Figures]                      # cohort -> figures
    by: dict[str, dict[str, dict]]                 # dim -> cohort -> value -> figures

    def get(self, dim: str, value, cohort: str = "csa") -> Figures:
        return self.by.get(dim, {}).get(cohort, {}).get(value, Figures())

    def rest(self, dim: str, value, cohort: str = "csa") -> Figures:
        """Everyone in the cohort except that group: the comparison for "gap to the rest"."""
        return self.total.get(cohort, Figures()) - self.get(dim, value, cohort)


def rollup(c: Criteria, *, dims: list[str] | None = None, bands=None) -> Rollup:
    """One query: figures per cohort and per value of each dimension (``dims``: all)."""
    dims = list(DIMENSIONS) if dims is None else dims
    bands = active_bands() if bands is None else bands
    params: dict = {}
    cols = [DIMENSIONS[d] for d in dims]
    sets = ["(csa)", "()"] + [s for col in cols for s in (f"(csa, {col})", f"({col})")]
    grouping = f"GROUPING({', '.join(cols)})" if cols else "0"
    # The cohort is not a criteria filter here: both cohorts come back in one query.
    sql = _per_pupil_sql(c.with_(cohort="all"), params, bands) + f"""
SELECT GROUPING(csa) AS g_csa, csa, {', '.join(cols + [''])}{grouping} AS gmask,
  COUNT(*) AS pupils, COUNT(*) FILTER (WHERE possible > 0) AS counted,
  COUNT(*) FILTER (WHERE possible > 0 AND {_PA}) AS pa,
  COUNT(*) FILTER (WHERE possible > 0 AND {_SA}) AS sa,
  {_SUMS.format(p='')},
  COALESCE(SUM(broken_weeks), 0)::bigint AS broken_weeks,
  COUNT(*) FILTER (WHERE broken_weeks > 0) AS pupils_broken
FROM pp
GROUP BY GROUPING SETS ({', '.join(sets)})"""
    total: dict[str, Figures] = {"csa": Figures(), "all": Figures()}
    by: dict[str, dict[str, dict]] = {d: {"csa": {}, "all": {}} for d in dims}
    full = (1 << len(cols)) - 1
    for row in _fetch(sql, params):
        if row["g_csa"]:
            cohort = "all"
        elif row["csa"]:
            cohort = "csa"
        else:
            continue  # pupils outside compulsory school age: only inside "all"
        figures = _figures(row)
        if row["gmask"] == full:
            total[cohort] = figures
            continue
        for i, d in enumerate(dims):
            if not row["gmask"] & (1 << (len(cols) - 1 - i)):
                by[d][cohort][row[DIMENSIONS[d]]] = figures
                break
    return Rollup(criteria=c, total=total, by=by)


# --- patterns: day of week, session, codes, weeks ---------------------------------------------

@dataclass
class Patterns:
    by: dict[str, dict[str, dict]]  # "dow"|"session"|"code"|"week" -> cohort -> value -> Stats
    code_counts: dict[str, dict[str, int]]  # cohort -> code -> marks

    def get(self, kind: str, value, cohort: str = "csa") -> Stats:
        return self.by.get(kind, {}).get(cohort, {}).get(value, Stats())


# Each kind's value from a row of counts by pupil, week and code (and slot): (value, n, mins).
_PATTERN_VALUES = {
    "week": ["y.wk::text, y.n, y.mins"],
    "code": ["y.code, y.n, y.mins"],
    "session": [f"'{s.upper()}', y.n_{s}, y.mins_{s}" for s in ("am", "pm")],
    "dow": [f"'{d}', y.n_d{d}, y.mins_d{d}" for d in range(1, 8)],
}
_PATTERN_PARSE = {"week": date.fromisoformat, "code": str, "session": str, "dow": int}


def patterns(c: Criteria, *, kinds=("dow", "session", "code", "week")) -> Patterns:
    """One scan of the marks (counted by week) grouped by each of ``kinds``, for both cohorts."""
    params: dict = {}
    oldest, youngest = csa_birth_range(c.date_to)
    params.update(csa_oldest=oldest, csa_youngest=youngest, **_code_params())
    t = _tables()
    values = ", ".join(f"('{kind}', {v})" for kind in kinds for v in _PATTERN_VALUES[kind])
    slots = _SLOT_COLS if {"dow", "session"} & set(kinds) else []  # by session or day
    sums = ", ".join(f"SUM(u.{col}) AS {col}" for col in ("n", "mins", *slots))
    # Counts by cohort, week and code first (a few thousand rows); then each gives one row per
    # kind and value (its slot's counts), the code beside it for the categories (present...).
    sql = f"""
WITH y AS (
  SELECT (p.date_of_birth BETWEEN %(csa_oldest)s AND %(csa_youngest)s) AS csa, u.wk, u.code,
    {sums}
  FROM ({_marks_counted(c, params, slots=bool(slots))}) u
  JOIN {t['pupil']} p ON p.id = u.pupil_id
  WHERE {_pupil_where(c.with_(cohort='all'), params)}
  GROUP BY 1, 2, 3
), x AS (
  SELECT y.csa, v.kind, v.value, y.code, v.n, v.mins
  FROM y CROSS JOIN LATERAL (VALUES {values}) v(kind, value, n, mins)
  WHERE v.n <> 0
)
SELECT GROUPING(csa) AS g_csa, csa, kind, value, {_CODE_SUMS}
FROM x
GROUP BY GROUPING SETS ((csa, kind, value), (kind, value))"""
    by = {k: {"csa": {}, "all": {}} for k in kinds}
    counts: dict[str, dict[str, int]] = {"csa": {}, "all": {}}
    for row in _fetch(sql, params):
        cohort = "all" if row["g_csa"] else ("csa" if row["csa"] else None)
        if cohort is None:
            continue
        kind, value = row["kind"], _PATTERN_PARSE[row["kind"]](row["value"])
        by[kind][cohort][value] = Stats(**{k: int(row[k]) for k in _STAT_FIELDS})
        if kind == "code":
            counts[cohort][value] = row["marks"]
    return Patterns(by=by, code_counts=counts)


def code_pupils(c: Criteria) -> dict[str, dict[str, int]]:
    """Cohort -> code -> pupils with that code: what small-number suppression counts on the
    code table of figures-only viewers. One more scan of the marks (counted by week), so
    only their pages ask for it."""
    oldest, youngest = csa_birth_range(c.date_to)
    params: dict = {"csa_oldest": oldest, "csa_youngest": youngest}
    t = _tables()
    # Pupil x code first (a hash aggregate), then count those rows: far cheaper than
    # COUNT(DISTINCT) under GROUPING SETS, which sorts every mark.
    sql = f"""
WITH pc AS (
  SELECT u.pupil_id, u.code, (p.date_of_birth BETWEEN %(csa_oldest)s AND %(csa_youngest)s) AS csa
  FROM ({_marks_counted(c, params)}) u JOIN {t['pupil']} p ON p.id = u.pupil_id
  WHERE {_pupil_where(c.with_(cohort='all'), params)}
  GROUP BY 1, 2, 3 HAVING SUM(u.n) <> 0
)
SELECT GROUPING(csa) AS g_csa, csa, code, COUNT(*) AS pupils
FROM pc GROUP BY GROUPING SETS ((csa, code), (code))"""
    out: dict[str, dict[str, int]] = {"csa": {}, "all": {}}
    for row in _fetch(sql, params):
        cohort = "all" if row["g_csa"] else ("csa" if row["csa"] else None)
        if cohort is not None:
            out[cohort][row["code"]] = row["pupils"]
    return out


# --- today -------------------------------------------------------------------------------------

@dataclass
class TodayRow:
    group_id: int | None
    name: str
    on_roll: int
    marked: dict  # session -> marks
    present: dict
    authorised: dict
    unauthorised: dict
    no_reason: dict  # N: reason not yet provided
    not_possible: dict

    def missing(self, session: str) -> int:
        return self.on_roll - self.marked[session]


def today(day: date) -> tuple[TodayRow, list[TodayRow]]:
    """Registers taken and missing per class for both sessions of ``day``, and the totals."""
    t = _tables()
    params = {"day": day, **_code_params(), "attended": codes.ATTENDED_CODES}
    per = []
    for s in ("am", "pm"):
        per += [f"COUNT({s}.id) AS marked_{s}",
                f"COUNT({s}.id) FILTER (WHERE {s}.code = ANY(%(attended)s)) AS present_{s}",
                f"COUNT({s}.id) FILTER (WHERE {s}.code = ANY(%(c_auth)s)) AS authorised_{s}",
                f"COUNT({s}.id) FILTER (WHERE {s}.code = ANY(%(c_unauth)s)) AS unauthorised_{s}",
                f"COUNT({s}.id) FILTER (WHERE {s}.code = 'N') AS no_reason_{s}",
                f"COUNT({s}.id) FILTER (WHERE {s}.code = ANY(%(c_notposs)s)) AS not_possible_{s}"]
    sql = f"""
SELECT GROUPING(g.id) AS total, g.id, MIN(g.name) AS name, MIN(g.year_group) AS year_group,
  COUNT(p.id) AS on_roll, {', '.join(per)}
FROM {t['rgroup']} g
LEFT JOIN {t['pupil']} p ON p.registration_group_id = g.id AND p.admission_date <= %(day)s
  AND (p.leaving_date IS NULL OR p.leaving_date >= %(day)s)
LEFT JOIN {t['mark']} am ON am.pupil_id = p.id AND am.date = %(day)s AND am.session = 'AM'
LEFT JOIN {t['mark']} pm ON pm.pupil_id = p.id AND pm.date = %(day)s AND pm.session = 'PM'
GROUP BY GROUPING SETS ((g.id), ())
ORDER BY GROUPING(g.id), MIN(g.year_group), MIN(g.name)"""
    rows, total = [], None
    for r in _fetch(sql, params):
        kw = {k: {"AM": r[f"{k}_am"], "PM": r[f"{k}_pm"]}
              for k in ("marked", "present", "authorised", "unauthorised", "no_reason",
                        "not_possible")}
        row = TodayRow(group_id=None if r["total"] else r["id"],
                       name="Whole school" if r["total"] else r["name"], on_roll=r["on_roll"],
                       **kw)
        if r["total"]:
            total = row
        elif row.on_roll:
            rows.append(row)
    return total, rows


# --- class of the week (Beecroft trophy) -----------------------------------------------------

def class_weeks(date_from: date, date_to: date) -> dict[date, list[tuple[int, Stats]]]:
    """Per week (Monday) of the range: each class's figures, best first. One query."""
    t = _tables()
    params = {"date_from": date_from, "date_to": date_to, **_code_params()}
    sql = f"""
SELECT {_WEEK} AS wk, p.registration_group_id AS gid, {_MARK_COUNTS}
FROM {t['mark']} m JOIN {t['pupil']} p ON p.id = m.pupil_id
WHERE m.date BETWEEN %(date_from)s AND %(date_to)s AND m.date >= p.admission_date
  AND (p.leaving_date IS NULL OR m.date <= p.leaving_date)
GROUP BY wk, gid"""
    out: dict[date, list] = {}
    for r in _fetch(sql, params):
        out.setdefault(r["wk"], []).append(
            (r["gid"], Stats(**{k: int(r[k]) for k in _STAT_FIELDS})))
    for rows in out.values():
        rows.sort(key=lambda gs: -(gs[1].attendance_pct or 0))
    return out


def classes_at_100(week_rows: list[tuple[int, Stats]]) -> list[int]:
    return [gid for gid, s in week_rows if s.possible and s.attended == s.possible]


# --- drill-down: the pupils behind a number -------------------------------------------------

_MEASURE_SQL = {
    "pa": f"possible > 0 AND {_PA}",
    "sa": f"possible > 0 AND {_SA}",
    "absent": "authorised + unauthorised > 0",
    "authorised": "authorised > 0",
    "unauthorised": "unauthorised > 0",
    "broken": "broken_weeks > 0",
    "late": "late_before_close + late_after_close > 0",
    "marked": "marks > 0",
    "full": "possible > 0 AND present + aea = possible",
}


@dataclass
class PupilRow:
    pupil: Pupil
    stats: Stats
    broken_weeks: int
    band_id: int | None


# The same tests in Python, on one pupil's row of ``pupil_figures`` (its Stats, broken weeks and
# marks): the drill-downs filter the per-pupil figures the warm-up cached.
_MEASURE_TEST = {
    "pa": lambda s, broken, marks: s.persistent,
    "sa": lambda s, broken, marks: s.severe,
    "absent": lambda s, broken, marks: s.absent > 0,
    "authorised": lambda s, broken, marks: s.authorised > 0,
    "unauthorised": lambda s, broken, marks: s.unauthorised > 0,
    "broken": lambda s, broken, marks: broken > 0,
    "late": lambda s, broken, marks: s.late_before_close + s.late_after_close > 0,
    "marked": lambda s, broken, marks: marks > 0,
    "full": lambda s, broken, marks: s.possible > 0 and s.attended == s.possible,
}
_PUPIL_COLS = ("id", *DIMENSIONS.values(), "csa", *_STAT_FIELDS, "marks", "broken_weeks")


def _pupils_base(c: Criteria) -> Criteria:
    """What the per-pupil figures depend on: the marks (period, day, session, code); the
    cohort, pupil attributes and measure only choose among the pupils."""
    return c.with_(cohort="all", dims=(), measure=None)


def pupil_figures(c: Criteria, *, bands) -> list[tuple]:
    """Every pupil on roll in ``c``'s period with their figures over ``c``'s marks, one tuple
    each (columns ``_PUPIL_COLS``): one query (one scan of the marks), whatever is drilled into."""
    params: dict = {}
    sql = _per_pupil_sql(_pupils_base(c), params, bands) + f"""
SELECT {', '.join(_PUPIL_COLS)} FROM pp"""
    return [tuple(r) for r in _rows(sql, params)[1]]


def pupil_figures_cached(c: Criteria, *, bands) -> list[tuple]:
    """``pupil_figures`` from the shared figures cache (computed on the first request after a
    change, or by the warm-up that register saves queue)."""
    base = _pupils_base(c)
    key = (base, tuple((b.pk, b.lower, b.lower_inclusive, b.upper, b.upper_inclusive)
                       for b in bands))
    return _cached("pupil_figures", key, lambda: pupil_figures(base, bands=bands))


def _pupil_matches(c: Criteria):
    """A test of one row of ``pupil_figures`` against ``c``'s cohort, pupil attributes and
    measure (as the SQL of the rollup counts them)."""
    col = {name: i for i, name in enumerate(_PUPIL_COLS)}
    wanted = [(col[DIMENSIONS[k]], v) for k, v in c.dims]
    if c.cohort == "csa":
        wanted.append((col["csa"], True))
    measure = _MEASURE_TEST[c.measure] if c.measure else None
    first, marks, broken = col[_STAT_FIELDS[0]], col["marks"], col["broken_weeks"]

    def test(r: tuple) -> Stats | None:
        if any(r[i] != v for i, v in wanted):
            return None
        s = Stats(*(int(x) for x in r[first:first + len(_STAT_FIELDS)]))
        if measure is not None and not measure(s, r[broken], r[marks]):
            return None
        return s
    return test


def pupil_rows(c: Criteria, *, bands=None, limit: int = 5000) -> list[PupilRow]:
    """The pupils counted by ``c`` with their figures over the same marks, worst attendance
    first: the cached per-pupil figures filtered, and one query for the pupils listed."""
    bands = active_bands() if bands is None else bands
    test = _pupil_matches(c)
    col = {name: i for i, name in enumerate(_PUPIL_COLS)}
    chosen = []
    for r in pupil_figures_cached(c, bands=bands):
        s = test(r)
        if s is not None:
            chosen.append((r, s))
    chosen.sort(key=lambda rs: (rs[1].possible == 0,
                                Fraction(rs[1].attended, rs[1].possible or 1), rs[0][0]))
    chosen = chosen[:limit]
    pupils = Pupil.objects.select_related("registration_group").in_bulk([r[0] for r, _ in chosen])
    return [PupilRow(pupil=pupils[r[0]], stats=s, broken_weeks=r[col["broken_weeks"]],
                     band_id=r[col["band"]]) for r, s in chosen if r[0] in pupils]


def today_pupils(day: date, state: str, session: str | None = None):
    """Pupils of one day by register state: present, authorised, unauthorised, no_reason,
    unmarked (on roll with no mark). Two queries."""
    on_roll = Pupil.objects.filter(admission_date__lte=day).exclude(leaving_date__lt=day)
    sessions = [session] if session else ["AM", "PM"]
    marks = Mark.objects.filter(date=day, session__in=sessions)
    wanted = {"present": codes.ATTENDED_CODES, "authorised": codes.AUTHORISED_CODES,
              "unauthorised": codes.UNAUTHORISED_CODES, "no_reason": ["N"]}
    if state == "unmarked":  # missing a mark in the session (either session if none given)
        ids = on_roll.annotate(n=Count("marks", filter=Q(marks__date=day,
                                                         marks__session__in=sessions))) \
            .filter(n__lt=len(sessions))
    elif state in wanted:
        ids = on_roll.filter(pk__in=marks.filter(code__in=wanted[state]).values("pupil_id"))
    else:
        raise ValueError("unknown register state")
    return list(ids.select_related("registration_group").order_by("registration_group__name",
                                                                   "legal_surname"))


# --- the school dashboard as one object --------------------------------------------------------

def weeks_of_year(c: Criteria, weekly: dict[date, Stats]) -> list[tuple[int, date, Stats]]:
    """Weekly figures with the week's index counted from the school year's first week."""
    start = school_year_start(c.date_to)
    first_monday = start - timedelta(days=start.weekday())
    return sorted(((wk - first_monday).days // 7, wk, s) for wk, s in weekly.items())


def same_point_last_year(c: Criteria) -> Criteria:
    """The same dates a year earlier (a year start maps to the previous year start)."""
    def back(d: date) -> date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)
    return c.with_(date_from=back(c.date_from), date_to=back(c.date_to))


def last_year_whole(c: Criteria) -> Criteria:
    start = school_year_start(c.date_to)
    return c.with_(date_from=date(start.year - 1, 8, 1), date_to=date(start.year, 7, 31))


@dataclass
class SchoolDashboard:
    criteria: Criteria
    rollup: Rollup
    patterns: Patterns
    last_year_weeks: dict[date, Stats]
    bands: list
    day: date
    today_total: TodayRow | None
    today_rows: list[TodayRow]
    trophy_weeks: dict[date, list[tuple[int, Stats]]]
    groups: dict[int, RegistrationGroup]


def school_dashboard(c: Criteria, *, day: date) -> SchoolDashboard:
    """Everything the school dashboard shows: a constant number of queries (7)."""
    bands = active_bands()
    roll = rollup(c, bands=bands)
    pats = patterns(c)
    last = patterns(last_year_whole(c), kinds=("week",)).by["week"]
    week_start = c.date_to - timedelta(days=c.date_to.weekday())
    total, rows = today(day)
    trophies = class_weeks(week_start - timedelta(days=7), c.date_to)
    groups = RegistrationGroup.objects.in_bulk()
    return SchoolDashboard(criteria=c, rollup=roll, patterns=pats,
                           last_year_weeks=last[c.cohort], bands=bands, day=day,
                           today_total=total, today_rows=rows, trophy_weeks=trophies,
                           groups=groups)


def school_summary(c: Criteria) -> Rollup:
    """The headline figures of a school for the trust dashboard: one query."""
    return rollup(c, dims=["pp"], bands=[])


# --- caching, exact right after any save ------------------------------------------------------
#
# Figures are cached with a version of everything they are computed from, read in one cheap
# query on every request: the highest mark id (a register save or import adds marks), the
# highest amendment id (every change to a mark writes an amendment row, docs/domain.md section
# 9), and digests of the pupils (admission, leaving, groups, flags), the classes and the active
# bands. Marks are never deleted on their own (only with their pupil, which changes the pupil
# digest). So a page is never stale: an entry whose version is not the current one is
# recomputed and replaced.
#
# One entry per school, view and criteria, replaced when the data change: so memory does not
# grow with the saves, and an entry can live long. It is dropped only when unused for
# CACHE_SECONDS, so the figures of a quiet afternoon are still served from the cache.

CACHE_SECONDS = 36 * 60 * 60


def _code_digest() -> str:
    """The code whose objects the cache holds (these dataclasses, bands, classes): a release
    that changes it finds none of the entries pickled by the one before."""
    from pathlib import Path

    import django

    root = Path(__file__).resolve().parent.parent
    sources = [root / "dashboards" / "figures.py", root / "escalation" / "models.py",
               root / "registers" / "models.py"]
    text = b"".join(p.read_bytes() for p in sources) + django.get_version().encode()
    return hashlib.sha1(text).hexdigest()[:12]


_CODE = _code_digest()


def data_version() -> str:
    from escalation.models import Band, BandSet
    from registers.models import MarkAmendment

    t = _tables()
    sql = f"""
SELECT (SELECT max(id) FROM {t['mark']}), (SELECT max(id) FROM {MarkAmendment._meta.db_table}),
  (SELECT count(*) || ':' || COALESCE(sum(hashtext(x::text)::bigint), 0) FROM {t['pupil']} x),
  (SELECT count(*) || ':' || COALESCE(sum(hashtext(x::text)::bigint), 0) FROM {t['rgroup']} x),
  (SELECT count(*) || ':' || COALESCE(sum(hashtext(x::text)::bigint), 0)
     FROM {Band._meta.db_table} x JOIN {BandSet._meta.db_table} s
     ON s.id = x.band_set_id AND s.active)"""
    with connection.cursor() as cur:
        cur.execute(sql)
        return "|".join(str(v) for v in cur.fetchone())


def _cache():
    """The figures cache every web and Celery worker shares (settings.CACHES["dashboards"])."""
    from django.core.cache import caches

    return caches["dashboards"]


def _cache_key(name: str, key: tuple) -> str:
    digest = hashlib.sha1(repr(key).encode()).hexdigest()
    return f"dash:{_CODE}:{connection.schema_name}:{name}:{digest}"


def _cached(name: str, key: tuple, compute, *, refresh: bool = False):
    """``compute()``, from the cache when it was stored for the data as they are now."""
    version = data_version()
    full = _cache_key(name, key)
    found = None if refresh else _cache().get(full)
    if found is not None and found[0] == version:
        return found[1]
    value = compute()
    _cache().set(full, (version, value), CACHE_SECONDS)
    return value


# --- no cold dashboard (issue 18.4) ----------------------------------------------------------
#
# A register save (registers.signals.marks_saved, after its commit) queues ``dashboard_warm``
# a few seconds later, once per school however many registers are saved meanwhile: it computes
# the head's default dashboard under the new data version into the shared cache, so the first
# look after the 9.15 registers is a cache hit rather than a recomputation.

WARM_DELAY = 3  # seconds: registers saved together are warmed once


def default_view(today: date) -> tuple[Criteria, date]:
    """The criteria and day of the dashboard as opened from the menu (no query string)."""
    from django.http import QueryDict

    from registers.calendar import latest_open_day

    c = criteria_from_query(QueryDict(""), today=today)
    return c, latest_open_day(min(c.date_to, today)) or c.date_to


def dashboard_warm_now(today: date) -> None:
    c, day = default_view(today)
    school_dashboard_cached(c, day=day)
    code_pupils_cached(c)
    pupil_figures_cached(c, bands=active_bands())  # the lists behind the figures (PA...)


def _warm_flag(schema: str) -> str:
    from django.conf import settings

    return f"{settings.CELERY_KEY_PREFIX}dashwarm:{schema}"


def on_marks_saved(sender, schema_name: str, **kwargs) -> None:
    """Queue one warm-up per school per WARM_DELAY (a Redis flag, set if absent)."""
    from attendance_site.redis_client import broker

    try:
        if broker().set(
                _warm_flag(schema_name), 1, nx=True, ex=WARM_DELAY * 20):
            from .tasks import dashboard_warm

            dashboard_warm.apply_async(args=(schema_name,), countdown=WARM_DELAY,
                                       headers={"_schema_name": schema_name})
    except Exception:  # a warm-up is an optimisation: never fail a register save for it
        import logging

        logging.getLogger(__name__).warning("dashboard warm-up not queued for %s", schema_name,
                                            exc_info=True)


def school_dashboard_cached(c: Criteria, *, day: date) -> SchoolDashboard:
    return _cached("school", (c, day), lambda: school_dashboard(c, day=day))


def code_pupils_cached(c: Criteria) -> dict[str, dict[str, int]]:
    return _cached("code_pupils", (c,), lambda: code_pupils(c))


def school_summary_cached(c: Criteria) -> Rollup:
    return _cached("summary", (c,), lambda: school_summary(c))


# --- half-termly QA report (LAP annex 4a) ------------------------------------------------------

def pupil_code_counts(c: Criteria, code_list: list[str]) -> dict[str, tuple[int, int]]:
    """For the pupils selected by ``c`` (e.g. the PA pupils): code -> (sessions, pupils).

    The context of PA pupils' absence (holidays G, part-time timetables C2, suspensions E...).
    """
    bands: list = []
    params: dict = {"qa_codes": code_list}
    sql = _per_pupil_sql(c, params, bands)
    where = ["csa"] if c.cohort == "csa" else ["TRUE"]
    if c.measure:
        where.append(_MEASURE_SQL[c.measure])
    t = _tables()
    sql += f"""
, chosen AS (SELECT id FROM pp WHERE {' AND '.join(where)})
SELECT m.code, COUNT(*) AS sessions, COUNT(DISTINCT m.pupil_id) AS pupils
FROM {t['mark']} m JOIN chosen ON chosen.id = m.pupil_id JOIN {t['pupil']} p ON p.id = m.pupil_id
WHERE {_on_roll_marks(c, params)} AND m.code = ANY(%(qa_codes)s)
GROUP BY m.code"""
    found = {r["code"]: (r["sessions"], r["pupils"]) for r in _fetch(sql, params)}
    return {code: found.get(code, (0, 0)) for code in code_list}


def letters_impact(c: Criteria, *, letter_table: str, statuses: list[str],
                   days: int = 28) -> dict:
    """Letters sent in the period and attendance in the ``days`` before and after each one.

    A letter is sent once emailed or printed; its date is when it was first emailed or
    printed (else the night it was triggered, else its creation date). "Improved" means
    the pupil's attendance over the days after the letter (up to the end of the period) is
    higher than over the days before it. One query; totals and per letter template.
    """
    t = _tables()
    params = {"statuses": statuses, "date_from": c.date_from, "date_to": c.date_to,
              "days": days, **_code_params(), "attended": codes.ATTENDED_CODES}
    sql = f"""
WITH l0 AS (
  SELECT id, pupil_id, template_key,
    COALESCE(LEAST(emailed_at, printed_at)::date, night, created::date) AS d
  FROM {letter_table}
  WHERE status = ANY(%(statuses)s) OR emailed_at IS NOT NULL OR printed_at IS NOT NULL
), l AS (
  SELECT * FROM l0 WHERE d BETWEEN %(date_from)s AND %(date_to)s
), per AS (
  SELECT l.id, MIN(l.template_key) AS template_key, MIN(l.pupil_id) AS pupil_id,
    COUNT(m.id) FILTER (WHERE m.date < l.d AND m.code = ANY(%(c_possible)s)) AS before_possible,
    COUNT(m.id) FILTER (WHERE m.date < l.d AND m.code = ANY(%(attended)s)) AS before_attended,
    COUNT(m.id) FILTER (WHERE m.date > l.d AND m.code = ANY(%(c_possible)s)) AS after_possible,
    COUNT(m.id) FILTER (WHERE m.date > l.d AND m.code = ANY(%(attended)s)) AS after_attended
  FROM l LEFT JOIN {t['mark']} m ON m.pupil_id = l.pupil_id
    AND m.date BETWEEN l.d - %(days)s AND LEAST(l.d + %(days)s, %(date_to)s)
  GROUP BY l.id
)
SELECT GROUPING(template_key) AS total, template_key, COUNT(*) AS letters,
  COUNT(DISTINCT pupil_id) AS pupils,
  COUNT(*) FILTER (WHERE before_possible > 0 AND after_possible > 0) AS measurable,
  COUNT(*) FILTER (WHERE before_possible > 0 AND after_possible > 0
                   AND after_attended * before_possible > before_attended * after_possible) AS improved,
  COALESCE(SUM(before_possible), 0)::bigint AS before_possible,
  COALESCE(SUM(before_attended), 0)::bigint AS before_attended,
  COALESCE(SUM(after_possible), 0)::bigint AS after_possible,
  COALESCE(SUM(after_attended), 0)::bigint AS after_attended
FROM per GROUP BY GROUPING SETS ((template_key), ())
ORDER BY GROUPING(template_key), template_key"""
    rows = []
    for r in _fetch(sql, params):
        r["before_pct"] = (r["before_attended"] * 100.0 / r["before_possible"]
                           if r["before_possible"] else None)
        r["after_pct"] = (r["after_attended"] * 100.0 / r["after_possible"]
                          if r["after_possible"] else None)
        r["improved_pct"] = r["improved"] * 100.0 / r["measurable"] if r["measurable"] else None
        rows.append(r)
    total = next((r for r in rows if r["total"]), None)
    return {"total": total, "templates": [r for r in rows if not r["total"]], "days": days}
