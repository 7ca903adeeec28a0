"""Reads for recognition, improvers, early warning, class competitions and trust lists.

Figures come from registers.selectors (present, possible, persistent absence at 10%) and
the code categories of registers.codes; every list is a fixed number of queries whatever
the number of pupils (tests/recognition/test_queries.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, F, Func, IntegerField, Q, QuerySet

from registers import at_risk, codes
from registers.models import (
    ETHNICITY_NOT_RECORDED,
    AttendanceHistory,
    CalendarEntry,
    Ethnicity,
    Mark,
    Pupil,
    RegistrationGroup,
    SchoolDay,
)
from registers.school_year import school_year_start
from registers.selectors import STAT_AGGREGATES, Stats, pupils_on_roll, stats_by_pupil

from .models import Award, PositiveCall, PrizeDraw, RecognitionSettings, Rule

# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # "half_term", "term" or "year"
    label: str
    start: date
    end: date

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.start:%Y-%m-%d}:{self.end:%Y-%m-%d}"

    @property
    def school_year(self) -> int:
        return school_year_start(self.start).year


KIND_OF = {Rule.Qualifies.HALF_TERM_100: "half_term", Rule.Qualifies.TERM_100: "term",
           Rule.Qualifies.YEAR_100: "year", Rule.Qualifies.CONSECUTIVE_YEARS: "year"}
FULL_KINDS = {Rule.Qualifies.HALF_TERM_100, Rule.Qualifies.TERM_100, Rule.Qualifies.YEAR_100}


def periods(today: date) -> list[Period]:
    """The half terms (each term entry of the calendar), terms (the half terms sharing the
    first word of their label, "Autumn 1" and "Autumn 2") and school years of this school
    year and the last, most recent first; only those that have started."""
    since = date(school_year_start(today).year - 1, 8, 1)
    entries = list(CalendarEntry.objects.filter(kind=CalendarEntry.Kind.TERM, start_date__lte=today,
                                                end_date__gte=since).order_by("start_date"))
    out: list[Period] = []
    terms: dict[tuple, list[CalendarEntry]] = {}
    years: dict[int, list[CalendarEntry]] = {}
    for e in entries:
        y = school_year_start(e.start_date).year
        out.append(Period("half_term", f"{e.label} {y}-{(y + 1) % 100:02d}", e.start_date, e.end_date))
        word = (e.label.split() or ["Term"])[0].capitalize()
        terms.setdefault((y, word), []).append(e)
        years.setdefault(y, []).append(e)
    for (y, word), es in terms.items():
        out.append(Period("term", f"{word} term {y}-{(y + 1) % 100:02d}", es[0].start_date,
                          max(e.end_date for e in es)))
    for y, es in years.items():
        out.append(Period("year", f"School year {y}-{(y + 1) % 100:02d}", es[0].start_date,
                          max(e.end_date for e in es)))
    order = {"half_term": 2, "term": 1, "year": 0}
    return sorted(set(out), key=lambda p: (-p.end.toordinal(), order[p.kind], p.start))


def period_for(key: str | None, today: date) -> Period | None:
    """The period a query string names, only if it is one of ``periods`` (never a 500)."""
    for p in periods(today):
        if p.key == key:
            return p
    return None


# --- figures per school year (consecutive years, best ever) ---------------------------------


class SchoolYearOf(Func):
    """The school year (1 August start, registers.school_year) a date falls in, as its year."""

    template = "EXTRACT(YEAR FROM (%(expressions)s - INTERVAL '7 months'))::int"
    output_field = IntegerField()


def year_figures(pupils: QuerySet) -> dict[int, dict[int, tuple[int, int]]]:
    """{pupil: {school year: (possible, attended)}} from this school's marks and the years a
    Common Transfer File brought from earlier schools. One query for each source."""
    out: dict[int, dict[int, tuple[int, int]]] = {}
    rows = (Mark.objects.filter(pupil__in=pupils.values("pk")).annotate(sy=SchoolYearOf("date"))
            .order_by().values("pupil_id", "sy")
            .annotate(possible=STAT_AGGREGATES["possible"],
                      attended=Count("id", filter=Q(code__in=codes.ATTENDED_CODES))))
    for r in rows:
        out.setdefault(r["pupil_id"], {})[r["sy"]] = (r["possible"], r["attended"])
    for h in AttendanceHistory.objects.filter(pupil__in=pupils.values("pk"), sessions_possible__gt=0,
                                              sessions_authorised__isnull=False,
                                              sessions_unauthorised__isnull=False).order_by():
        attended = h.sessions_possible - h.sessions_authorised - h.sessions_unauthorised
        mine = out.setdefault(h.pupil_id, {})
        p, a = mine.get(h.school_year, (0, 0))
        mine[h.school_year] = (p + h.sessions_possible, a + attended)
    return out


def full_years_run(years: dict[int, tuple[int, int]], last: int) -> int:
    """Consecutive school years of 100% ending with ``last`` (a year with no possible
    session breaks the run: nothing was recorded to celebrate)."""
    run, y = 0, last
    while y in years and years[y][0] > 0 and years[y][1] == years[y][0]:
        run, y = run + 1, y - 1
    return run


def _pct(possible: int, attended: int) -> float | None:
    return attended * 100.0 / possible if possible else None


# --- recognition lists ----------------------------------------------------------------------

TITLE_FULL = "100% attendance"
TITLE_BEST_EVER = "Best ever attendance"
TITLE_IMPROVED = "Most improved attendance"


@dataclass
class Row:
    pupil: Pupil
    stats: Stats
    title: str
    reason: str = ""
    before_pct: float | None = None
    years: int = 0
    given: list[str] = field(default_factory=list)


def _days_before(start: date, n: int) -> date | None:
    """The first of the ``n`` open school days before ``start``."""
    days = list(SchoolDay.objects.filter(date__lt=start, closed=False).order_by("-date")
                .values_list("date", flat=True)[:n])
    return days[-1] if days else None


def improvement(pupils: QuerySet, date_from: date, date_to: date) -> tuple[dict, dict, date | None]:
    """Figures in the window and in as many open school days just before it. Three queries."""
    n = SchoolDay.objects.filter(date__gte=date_from, date__lte=date_to, closed=False).count()
    before_from = _days_before(date_from, n) if n else None
    now = stats_by_pupil(pupils=pupils, date_from=date_from, date_to=date_to)
    before = (stats_by_pupil(pupils=pupils, date_from=before_from, date_to=date_from - timedelta(days=1))
              if before_from else {})
    return now, before, before_from


# Complexity: one branch per award kind and per fairness setting (medical, EHC plan), in one pass.
def recognition_list(*, rule: Rule, period: Period, today: date,  # noqa: C901
                     settings: RecognitionSettings) -> list[Row]:
    """Who qualifies under ``rule`` for ``period`` (up to today), with why. 100% compares
    whole sessions (attended == possible), never a rounded percentage: 99.96% is not 100%."""
    until = min(period.end, today)
    on_roll = pupils_on_roll(period.start, until)
    pupils = {p.pk: p for p in on_roll.select_related("registration_group")}
    stats = stats_by_pupil(pupils=on_roll, date_from=period.start, date_to=until)
    given: dict[int, list[str]] = {}
    for pid, gift in Award.objects.filter(rule=rule, period_start=period.start,
                                          period_end=period.end).values_list("pupil_id", "gift"):
        given.setdefault(pid, []).append(Rule.Gift(gift).label)
    rows: list[Row] = []
    q = rule.qualifies
    if q in FULL_KINDS:
        alt = settings.fair_alternative
        medical: dict[int, int] = {}
        years: dict = {}
        if alt != RecognitionSettings.Alternative.NONE:
            medical = dict(Mark.objects.filter(pupil__in=on_roll.values("pk"), date__gte=period.start,
                                               date__lte=until, code__in=codes.MEDICAL_CODES)
                           .order_by().values("pupil_id").annotate(n=Count("id"))
                           .values_list("pupil_id", "n"))
            years = year_figures(on_roll)
        for pid, s in stats.items():
            p = pupils.get(pid)
            if p is None or not s.possible:
                continue
            if s.attended == s.possible:
                rows.append(Row(p, s, TITLE_FULL))
                continue
            if alt == RecognitionSettings.Alternative.NONE:
                continue
            if p.sen_status == Pupil.SEN.EHCP:
                why = "EHC plan"
            elif s.absent == medical.get(pid, 0) and s.attended + s.absent == s.possible:
                why = "only medical absence (I, M)"
            else:
                continue
            earlier = [_pct(*v) for y, v in years.get(pid, {}).items()
                       if y < period.school_year and v[0]]
            pct = s.attendance_pct
            if alt == RecognitionSettings.Alternative.BEST_EVER:
                if earlier and pct >= max(earlier):
                    rows.append(Row(p, s, TITLE_BEST_EVER, f"Instead of 100%: {why}",
                                    before_pct=max(earlier)))
            else:
                last = years.get(pid, {}).get(period.school_year - 1)
                before = _pct(*last) if last else None
                if before is not None and pct - before >= float(settings.improved_margin):
                    rows.append(Row(p, s, TITLE_IMPROVED, f"Instead of 100%: {why}", before_pct=before))
    elif q == Rule.Qualifies.CONSECUTIVE_YEARS:
        years = year_figures(on_roll)
        for pid, p in pupils.items():
            run = full_years_run(years.get(pid, {}), period.school_year)
            if run >= rule.years:
                rows.append(Row(p, stats.get(pid, Stats()), f"{run} years of 100% attendance",
                                years=run))
    elif q == Rule.Qualifies.MOST_IMPROVED:
        now, before, _ = improvement(on_roll, period.start, until)
        margin = float(settings.improved_margin)
        for pid, s in now.items():
            b = before.get(pid)
            p = pupils.get(pid)
            if p is None or not b or not b.possible or not s.possible:
                continue
            if s.attendance_pct - b.attendance_pct >= margin:
                rows.append(Row(p, s, TITLE_IMPROVED, before_pct=b.attendance_pct))
    for r in rows:
        r.given = given.get(r.pupil.pk, [])
    rows.sort(key=lambda r: (r.pupil.registration_group.name, r.pupil.legal_surname,
                             r.pupil.legal_forename, r.pupil.pk))
    return rows


def rules_for(period: Period) -> QuerySet:
    kinds = [q for q, k in KIND_OF.items() if k == period.kind] + [Rule.Qualifies.MOST_IMPROVED]
    return Rule.objects.filter(active=True, qualifies__in=kinds)


def draws(limit: int = 20) -> QuerySet:
    return PrizeDraw.objects.all()[:limit]


def awards_for_pupils(pupils: QuerySet) -> QuerySet:
    return (Award.objects.filter(pupil__in=pupils.values("pk"))
            .select_related("pupil", "letter").order_by("pupil__legal_forename", "-period_end", "pk"))


# --- improvers (item 3) -----------------------------------------------------------------------

@dataclass
class Improver:
    pupil: Pupil
    now: Stats
    before: Stats
    call: PositiveCall | None = None

    @property
    def gain(self) -> float:
        return self.now.attendance_pct - self.before.attendance_pct


def improvers(*, today: date, settings: RecognitionSettings) -> tuple[list[Improver], date, date]:
    """Pupils whose attendance over the last ``improved_weeks`` school weeks is up by at least
    ``improved_margin`` points on the same number of school days before. Five queries."""
    weeks = list(SchoolDay.objects.filter(date__lte=today, closed=False).order_by("-week")
                 .values_list("week", flat=True).distinct()[:settings.improved_weeks])
    start = weeks[-1] if weeks else today
    on_roll = pupils_on_roll(start, today)
    now, before, _ = improvement(on_roll, start, today)
    pupils = {p.pk: p for p in on_roll.filter(pk__in=list(now)).select_related("registration_group")}
    calls = {c.pupil_id: c for c in PositiveCall.objects.filter(pupil__in=on_roll.values("pk"),
                                                                 done_on__isnull=True)}
    out = []
    for pid, s in now.items():
        b = before.get(pid)
        if pid in pupils and b and b.possible and s.possible and \
                s.attendance_pct - b.attendance_pct >= float(settings.improved_margin):
            out.append(Improver(pupils[pid], s, b, calls.get(pid)))
    out.sort(key=lambda i: (-i.gain, i.pupil.legal_surname, i.pupil.pk))
    return out, start, today


def open_calls() -> QuerySet:
    return PositiveCall.objects.filter(done_on__isnull=True).select_related("pupil__registration_group")


# --- early warning (item 4) -------------------------------------------------------------------

# The rule lives in registers.at_risk (one home: the graduated response's at_risk_pa trigger uses
# it too); these names stay importable from here.
RECENT_WEEKS, SHARP_FALL_POINTS = at_risk.RECENT_WEEKS, at_risk.SHARP_FALL_POINTS


@dataclass
class AtRisk:
    pupil: Pupil
    stats: Stats
    reasons: list[str]
    projected_pct: float | None = None
    recent_pct: float | None = None
    last_year_pct: float | None = None


def _sessions(s: Stats) -> at_risk.Sessions:
    return at_risk.Sessions(s.possible, s.absent)


def projected_absence_pct(so_far: Stats, recent: Stats, sessions_left: int) -> float | None:
    """Absence % at the end of the year if the rest of it goes as the last four weeks did."""
    return at_risk.projected_absence_pct(_sessions(so_far), _sessions(recent), sessions_left)


def early_warning(*, today: date) -> list[AtRisk]:
    """Pupils not (yet) persistently absent this year who are at risk of it
    (registers.at_risk.risks), with the reasons. Six queries, whatever the number of pupils."""
    start = school_year_start(today)
    on_roll = pupils_on_roll(today, today)
    so_far = stats_by_pupil(pupils=on_roll, date_from=start, date_to=today)
    recent_from = at_risk.recent_weeks_start(today)
    recent = stats_by_pupil(pupils=on_roll, date_from=recent_from, date_to=today) if recent_from else {}
    left = at_risk.sessions_left(today)
    last_from, last_to = at_risk.previous_school_year(today)
    last_year = stats_by_pupil(pupils=on_roll, date_from=last_from, date_to=last_to)
    candidates = {pid for pid, s in so_far.items() if not s.persistent}
    candidates |= {pid for pid, s in last_year.items() if s.persistent and pid not in so_far}
    pupils = {p.pk: p for p in on_roll.filter(pk__in=list(candidates)).select_related("registration_group")}
    out = []
    for pid in candidates:
        p = pupils.get(pid)
        if p is None:
            continue
        s, r, ly = so_far.get(pid, Stats()), recent.get(pid, Stats()), last_year.get(pid)
        reasons = at_risk.risks(_sessions(s), _sessions(r), _sessions(ly) if ly is not None else None, left)
        if reasons:
            proj = projected_absence_pct(s, r, left)
            out.append(AtRisk(p, s, [x.text for x in reasons], None if proj is None else 100 - proj,
                              r.attendance_pct, ly.attendance_pct if ly else None))
    out.sort(key=lambda a: (a.projected_pct if a.projected_pct is not None else 101,
                            a.pupil.legal_surname, a.pupil.pk))
    return out


# --- class competitions (item 2) --------------------------------------------------------------

@dataclass
class ClassRow:
    group: RegistrationGroup
    stats: Stats
    rank: int = 0

    @property
    def late(self) -> int:
        return self.stats.late_before_close + self.stats.late_after_close


def class_table(date_from: date, date_to: date, *, lateness: bool = False) -> list[ClassRow]:
    """Each class's figures over the range (marks while each pupil was on roll), best first:
    by attendance, then (if the school ranks lateness) fewest late marks. Two queries."""
    rows = (Mark.objects.filter(date__gte=date_from, date__lte=date_to)
            .filter(date__gte=F("pupil__admission_date"))
            .filter(Q(pupil__leaving_date__isnull=True) | Q(date__lte=F("pupil__leaving_date")))
            .order_by().values("pupil__registration_group_id").annotate(**STAT_AGGREGATES))
    groups = RegistrationGroup.objects.in_bulk()
    out = []
    for r in rows:
        g = groups.get(r.pop("pupil__registration_group_id"))
        if g is not None:
            out.append(ClassRow(g, Stats(**{k: int(v or 0) for k, v in r.items()})))

    def key(c: ClassRow):
        late = c.late * 1.0 / c.stats.possible if (lateness and c.stats.possible) else 0
        return (-(c.stats.attendance_pct or 0), late, c.group.name)

    out.sort(key=key)
    prev = None
    for i, c in enumerate(out, 1):
        k = key(c)[:2]
        c.rank = prev[1] if prev and prev[0] == k else i
        prev = (k, c.rank)
    return out


def competition_periods(today: date) -> dict:
    """The last complete school week (or this one if none) and the current half term."""
    this_week = today - timedelta(days=today.weekday())
    week = (SchoolDay.objects.filter(date__lte=today, closed=False).order_by("-week")
            .values_list("week", flat=True).first()) or this_week
    half = (CalendarEntry.objects.filter(kind=CalendarEntry.Kind.TERM, start_date__lte=today)
            .order_by("-start_date").first())
    return {"week": (week, min(week + timedelta(days=4), today)),
            "half_term": (half.start_date, min(half.end_date, today), half.label) if half else None}


def benchmarks() -> QuerySet:
    from .models import Benchmark

    return Benchmark.objects.all()


# --- trust-wide lists (item 5) ----------------------------------------------------------------

# Pupil groups compared across a trust's schools. Safeguarding characteristics (young carer,
# social worker) are never a breakdown for figures-only viewers (registers.disclosure), and a
# trust director is one: they appear on the staff group page only.
TRUST_GROUPS = [("Pupil premium", Q(pupil_premium=True)), ("SEN support", Q(sen_status="K")),
                ("EHC plan", Q(sen_status="E")), ("EAL", Q(eal=True))]


@dataclass
class SchoolLists:
    school: object
    figures: Stats
    pupils: int
    pa: list = field(default_factory=list)
    sa: list = field(default_factory=list)
    ehcp: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    names: bool = False
    groups: list = field(default_factory=list)
    benchmarks: list = field(default_factory=list)


def _school_lists(school, today: date) -> SchoolLists:
    start = school_year_start(today)
    on_roll = pupils_on_roll(today, today)
    settings = RecognitionSettings.objects.filter(pk=1).first()
    names = bool(settings and settings.trust_sees_names)
    stats = stats_by_pupil(pupils=on_roll, date_from=start, date_to=today)
    pupils = {p.pk: p for p in on_roll.select_related("registration_group")}
    total = Stats()
    for s in stats.values():
        total = total + s
    out = SchoolLists(school, total, len(pupils), names=names)
    for pid, p in sorted(pupils.items(), key=lambda kv: (kv[1].legal_surname, kv[0])):
        s = stats.get(pid, Stats())
        row = (p, s)
        if s.persistent:
            out.pa.append(row)
        if s.severe:
            out.sa.append(row)
        if p.sen_status == Pupil.SEN.EHCP:
            out.ehcp.append(row)
    out.counts = {"pa": len(out.pa), "sa": len(out.sa), "ehcp": len(out.ehcp)}
    if not names:
        out.pa, out.sa, out.ehcp = [], [], []
    for label, q in TRUST_GROUPS:
        ids = set(on_roll.filter(q).values_list("pk", flat=True))
        g = Stats()
        for pid in ids:
            g = g + stats.get(pid, Stats())
        pa = sum(1 for pid in ids if stats.get(pid, Stats()).persistent)
        out.groups.append({"label": label, "pupils": len(ids), "stats": g, "pa": pa,
                           "pa_pct": pa * 100.0 / len(ids) if ids else None})
    out.benchmarks = list(benchmarks())
    return out


def trust_lists(trust, today: date) -> list[SchoolLists]:
    """For each school of ``trust`` (and no other): headline figures, the PA, severe absence
    and EHCP lists (names where the school shares them with its trust, else counts), and the
    pupil groups. Each school is read in its own schema."""
    from django_tenants.utils import tenant_context

    from tenants.models import School

    out = []
    for school in School.objects.filter(trust=trust).order_by("name"):
        with tenant_context(school):
            out.append(_school_lists(school, today))
    return out


# --- more pupil groups for staff (item 6) -----------------------------------------------------

# Breakdowns for staff who read pupil records (tenants.roles.PUPIL_REPORT_READERS). Young
# carer and social worker are safeguarding characteristics: never shown to figures-only
# viewers (registers.disclosure), so this page is not open to governors or the trust.
STAFF_GROUPS = [("Pupil premium", Q(pupil_premium=True)), ("FSM eligible", Q(fsm=True)),
                ("SEN support", Q(sen_status="K")), ("EHC plan", Q(sen_status="E")),
                ("EAL", Q(eal=True)), ("Young carer", Q(young_carer=True)),
                ("Social worker", Q(social_worker=True)), ("Looked after", Q(lac=True))]


def staff_groups(today: date) -> tuple[Stats, list[dict]]:
    """This school year's figures for each group and the rest of the school. Two queries a
    group (figures, PA count), whatever the number of pupils."""
    from registers.selectors import stats_total

    start = school_year_start(today)
    on_roll = pupils_on_roll(start, today)
    whole = stats_total(pupils=on_roll, date_from=start, date_to=today)
    out = []
    for label, q in STAFF_GROUPS:
        members = on_roll.filter(q)
        stats = stats_by_pupil(pupils=members, date_from=start, date_to=today)
        total = Stats()
        for s in stats.values():
            total = total + s
        n = members.count()
        pa = sum(1 for s in stats.values() if s.persistent)
        out.append({"label": label, "pupils": n, "stats": total, "pa": pa,
                    "pa_pct": pa * 100.0 / n if n else None})
    return whole, out


def ethnicity_groups(today: date) -> list[dict]:
    """This school year's figures per DfE census ethnicity category ("Not recorded" last), for
    staff. Two queries, whatever the number of pupils."""
    start = school_year_start(today)
    on_roll = pupils_on_roll(start, today)
    stats = stats_by_pupil(pupils=on_roll, date_from=start, date_to=today)
    members: dict[str, list[int]] = {}
    for pid, code in on_roll.order_by().values_list("pk", "ethnicity"):
        members.setdefault(code, []).append(pid)
    out = []
    for code in [c for c in Ethnicity.values if c in members] + ([""] if "" in members else []):
        total = Stats()
        for pid in members[code]:
            total = total + stats.get(pid, Stats())
        n = len(members[code])
        pa = sum(1 for pid in members[code] if stats.get(pid, Stats()).persistent)
        out.append({"label": f"{Ethnicity(code).label} ({code})" if code else ETHNICITY_NOT_RECORDED,
                    "code": code, "pupils": n, "stats": total, "pa": pa, "pa_pct": pa * 100.0 / n})
    return out


def list_chosen(period_key: str | None, rule_pk: str | None, today: date):
    """The periods offered, the period asked for (else the current term, else the first),
    its rules and the rule asked for (else the first): (periods, period, rules, rule)."""
    periods_ = periods(today)
    current = [p for p in periods_ if p.kind == "term" and p.start <= today <= p.end]
    period = period_for(period_key, today) or (current or periods_ or [None])[0]
    rules = list(rules_for(period)) if period else []
    rule = next((r for r in rules if str(r.pk) == rule_pk), rules[0] if rules else None)
    return periods_, period, rules, rule
