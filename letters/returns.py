"""The statutory returns to the local authority (docs/domain.md section 7), computed in SQL.

Every function here is a read: it returns plain records (one per pupil) with the evidence
that put the pupil on the return. ``export_return`` prints them; ``services.return_generate``
stores them as a reviewable ``LAReturn``.

Runs of school days ("a continuous period of 10 school days") are counted over *open*
school days only: weekends, holidays and closures (#) inside a run do not break it. A school
day belongs to a run when every mark the pupil has that day carries one of the run's codes;
any other mark (a present session, an authorised absence...) breaks the run, and so does an
open day with no mark at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Count, Max, Q

from registers import codes as national_codes
from registers.models import Contact, DeletionGround, Mark, Pupil, SchoolDay
from registers.school_year import school_year_start
from registers.selectors import compulsory_school_age, stats_by_pupil

KINDS = ["attendance", "sickness", "new_pupils", "deletions", "cme"]
UNAUTHORISED = ["G", "N", "O", "U"]   # attendance return: continuous unauthorised absence
UNEXPLAINED = ["N", "O"]              # missing from school / CME
ILLNESS = ["I"]

BASE_FIELDS = ["upn", "legal_surname", "legal_forename", "preferred_forename", "date_of_birth",
               "gender", "year_group", "registration_group", "address", "reason", "dates",
               "sessions", "codes"]
EXTRA_FIELDS = {
    "attendance": ["possible", "absence_pct", "authorised", "unauthorised"],
    "sickness": ["illness_sessions", "illness_days"],
    "new_pupils": ["admission_date", "due_by", "parent_name", "parent_phone"],
    "deletions": ["leaving_date", "deletion_ground", "parent_name", "parent_address",
                  "emergency_phone"],
    "cme": ["last_present", "parent_name", "parent_phone"],
}


def csv_fields(kind: str) -> list[str]:
    return BASE_FIELDS + EXTRA_FIELDS[kind]


@dataclass(frozen=True)
class Rules:
    """The configurable numbers (LetterSettings); the defaults are docs/domain.md section 7."""

    regular_absence_pct: float = 10.0
    regular_min_possible: int = 20
    continuous_days: int = 10
    sickness_days: int = 15
    cme_days: int = 10
    new_pupil_due_days: int = 5
    exempt_junior_intake: bool = True

    @classmethod
    def from_settings(cls) -> Rules:
        from .models import LetterSettings

        s = LetterSettings.get()
        return cls(float(s.regular_absence_pct), s.regular_min_possible, s.continuous_days,
                   s.sickness_days, s.cme_days, s.new_pupil_due_days, s.exempt_junior_intake)


# --- runs of school days ----------------------------------------------------------

RUNS_SQL = """
WITH days AS (
    SELECT date, ROW_NUMBER() OVER (ORDER BY date) AS idx
    FROM {schoolday} WHERE NOT closed AND date BETWEEN %(start)s AND %(end)s
), pupil_days AS (
    -- Days with a mark in the codes and no other mark (index probe on pupil, date).
    SELECT m.pupil_id, d.date, d.idx, COUNT(*) AS sessions,
           STRING_AGG(m.code, ',' ORDER BY m.session) AS day_codes
    FROM {mark} m JOIN days d ON d.date = m.date
    WHERE m.code = ANY(%(codes)s) AND m.date BETWEEN %(start)s AND %(end)s {pupil_filter}
      AND NOT EXISTS (SELECT 1 FROM {mark} o WHERE o.pupil_id = m.pupil_id AND o.date = m.date
                      AND o.code <> ALL(%(codes)s))
    GROUP BY m.pupil_id, d.date, d.idx
), islands AS (
    SELECT pupil_id, date, sessions, day_codes,
           idx - ROW_NUMBER() OVER (PARTITION BY pupil_id ORDER BY idx) AS grp
    FROM pupil_days
)
SELECT pupil_id, MIN(date) AS first_day, MAX(date) AS last_day, COUNT(*) AS days,
       SUM(sessions) AS sessions, STRING_AGG(day_codes, ',' ORDER BY date) AS run_codes
FROM islands
GROUP BY pupil_id, grp
HAVING COUNT(*) >= %(min_days)s AND MAX(date) >= %(ends_from)s
ORDER BY pupil_id, MIN(date)
"""


@dataclass
class Run:
    pupil_id: int
    first_day: date
    last_day: date
    days: int
    sessions: int
    codes: dict

    def as_dict(self) -> dict:
        return {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
                "school_days": self.days, "sessions": self.sessions, "codes": self.codes}


def _code_counts(joined: str) -> dict:
    out: dict[str, int] = {}
    for c in joined.split(","):
        out[c] = out.get(c, 0) + 1
    return dict(sorted(out.items()))


def runs(*, codes: list[str], min_days: int, start: date, end: date, ends_from: date | None = None,
         pupil_ids: list[int] | None = None) -> dict[int, list[Run]]:
    """Runs of at least ``min_days`` open school days coded only with ``codes``, per pupil.

    Days are counted from ``start`` to ``end``; only runs ending on or after ``ends_from``
    are returned. One SQL statement (gaps-and-islands over the numbered open days).
    """
    params = {"start": start, "end": end, "codes": list(codes), "min_days": min_days,
              "ends_from": ends_from or start}
    pupil_filter = ""
    if pupil_ids is not None:
        pupil_filter = "AND m.pupil_id = ANY(%(pupils)s)"
        params["pupils"] = list(pupil_ids)
    sql = RUNS_SQL.format(schoolday=SchoolDay._meta.db_table, mark=Mark._meta.db_table,
                          pupil_filter=pupil_filter)
    out: dict[int, list[Run]] = {}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for pupil_id, first, last, days, sessions, joined in cur.fetchall():
            out.setdefault(pupil_id, []).append(
                Run(pupil_id, first, last, days, int(sessions), _code_counts(joined)))
    return out


def _lookback(period_start: date, as_of: date) -> date:
    """Where run-counting starts: a run that began before the period still counts in full."""
    return min(period_start, school_year_start(as_of)) - timedelta(days=42)


# --- records --------------------------------------------------------------------

def _address(pupil: Pupil, contact: Contact | None) -> str:
    return (pupil.address or (contact.address if contact else "") or "").strip()


def _first_contacts(pupil_ids) -> dict[int, Contact]:
    """Priority-1 (or the first) contact of each pupil: the parent named on returns."""
    out: dict[int, Contact] = {}
    for c in Contact.objects.filter(pupil_id__in=list(pupil_ids)).order_by("pupil_id", "priority"):
        out.setdefault(c.pupil_id, c)
    return out


def _codes_text(counts: dict) -> str:
    return " ".join(f"{c}:{n}" for c, n in sorted(counts.items()))


def _base(p: Pupil, contact: Contact | None) -> dict:
    return {"upn": p.upn, "legal_surname": p.legal_surname, "legal_forename": p.legal_forename,
            "preferred_forename": p.preferred_forename, "date_of_birth": p.date_of_birth.isoformat(),
            "gender": p.gender, "year_group": p.get_year_group_display(),
            "registration_group": p.registration_group.name, "address": _address(p, contact),
            "pupil_id": p.pk}


def _pupils(ids) -> dict[int, Pupil]:
    return {p.pk: p for p in Pupil.objects.filter(pk__in=list(ids)).select_related("registration_group")}


def _on_roll(on: date):
    return Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=on),
                                admission_date__lte=on)


def _runs_text(rs: list[Run]) -> str:
    return "; ".join(f"{r.first_day.isoformat()} to {r.last_day.isoformat()} ({r.days} school days)"
                     for r in rs)


def attendance_return(*, as_of: date, period_start: date | None = None,
                      rules: Rules | None = None) -> list[dict]:
    """Pupils of compulsory school age who fail to attend regularly (absence % at or above the
    school's threshold for the school year to date: persistent absence by default) or who had
    a continuous period of ``continuous_days`` school days of unauthorised absence (G, N, O, U)
    ending in the period."""
    rules = rules or Rules()
    year_start = school_year_start(as_of)
    # Issue 17: attendance is measured over the period asked for (the school year to date
    # when none is given), and each row says so: "1 September to 27 November", not from 1 August.
    period_start = period_start or year_start
    csa = compulsory_school_age(
        Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=period_start),
                             admission_date__lte=as_of), as_of)
    csa_ids = set(csa.values_list("pk", flat=True))
    stats = stats_by_pupil(pupils=csa, date_from=period_start, date_to=as_of)
    irregular = {pk: s for pk, s in stats.items()
                 if s.possible >= max(rules.regular_min_possible, 1)
                 and s.absent * 100 >= rules.regular_absence_pct * s.possible}
    continuous = {pk: rs for pk, rs in runs(codes=UNAUTHORISED, min_days=rules.continuous_days,
                                            start=_lookback(period_start, as_of), end=as_of,
                                            ends_from=period_start).items() if pk in csa_ids}
    ids = set(irregular) | set(continuous)
    pupils, contacts = _pupils(ids), _first_contacts(ids)
    records = []
    for pk in ids:
        p, s = pupils[pk], stats.get(pk)
        reasons, dates, sessions, code_counts = [], "", None, {}
        if pk in irregular:
            dates = f"{period_start.isoformat()} to {as_of.isoformat()}"
            reasons.append(f"Fails to attend regularly (irregular attendance): absence "
                           f"{s.absence_pct:.1f}% ({s.absent} of {s.possible} sessions), {dates}")
            sessions = s.absent
        rs = continuous.get(pk, [])
        if rs:
            reasons.append("Continuous unauthorised absence (G, N, O, U): " + "; ".join(
                f"{r.days} school days, {r.first_day.isoformat()} to {r.last_day.isoformat()}"
                for r in rs))
            dates = _runs_text(rs) if pk not in irregular else f"{dates}; {_runs_text(rs)}"
            sessions = sessions if sessions is not None else sum(r.sessions for r in rs)
            for r in rs:
                for c, n in r.codes.items():
                    code_counts[c] = code_counts.get(c, 0) + n
        rec = _base(p, contacts.get(pk))
        rec.update(reason="; ".join(reasons), dates=dates, sessions=sessions,
                   codes=_codes_text(code_counts) if code_counts else "",
                   possible=s.possible if s else 0,
                   absence_pct=round(s.absence_pct, 2) if s and s.absence_pct is not None else None,
                   authorised=s.authorised if s else 0, unauthorised=s.unauthorised if s else 0,
                   evidence={"irregular": pk in irregular, "runs": [r.as_dict() for r in rs]},
                   key=",".join(r.first_day.isoformat() for r in rs))
        records.append(rec)
    return sorted(records, key=lambda r: (r["legal_surname"], r["legal_forename"], r["upn"]))


def _illness_sessions(start: date, end: date) -> dict[int, int]:
    rows = (Mark.objects.filter(date__gte=start, date__lte=end, code__in=ILLNESS)
            .order_by().values_list("pupil_id").annotate(n=Count("id")))
    return dict(rows)


def sickness_return(*, as_of: date, period_start: date | None = None,
                    rules: Rules | None = None) -> list[dict]:
    """Pupils of compulsory school age with illness (I) for ``sickness_days`` school days in the school year,
    consecutively (a run of I days) or cumulatively (2 × days sessions of I). The evidence
    lists each continuous period of illness; ``key`` is the latest period's first day, so a
    continuing period is reported once."""
    rules = rules or Rules()
    year_start = school_year_start(as_of)
    period_start = period_start or year_start
    threshold_sessions = rules.sickness_days * 2
    totals = _illness_sessions(year_start, as_of)
    periods = runs(codes=ILLNESS, min_days=1, start=year_start, end=as_of)
    long_runs = {pk for pk, rs in periods.items() if any(r.days >= rules.sickness_days for r in rs)}
    ids = {pk for pk, n in totals.items() if n >= threshold_sessions} | long_runs
    roll = set(_on_roll(as_of).filter(pk__in=ids).values_list("pk", flat=True)) | set(
        Pupil.objects.filter(pk__in=ids, leaving_date__gte=period_start).values_list("pk", flat=True))
    csa = compulsory_school_age(Pupil.objects.filter(pk__in=ids), as_of)
    ids &= roll & set(csa.values_list("pk", flat=True))
    pupils, contacts = _pupils(ids), _first_contacts(ids)
    records = []
    for pk in ids:
        p, rs, n = pupils[pk], periods.get(pk, []), totals.get(pk, 0)
        consecutive = max((r.days for r in rs), default=0)
        why = (f"Illness for {consecutive} consecutive school days" if consecutive >= rules.sickness_days
               else f"Illness for {n} sessions ({n / 2:g} school days) this school year")
        rec = _base(p, contacts.get(pk))
        latest = rs[-1] if rs else None
        rec.update(reason=why,
                   dates=_runs_text(rs[-5:]) + (" (and earlier periods)" if len(rs) > 5 else ""),
                   sessions=n, codes=f"I:{n}", illness_sessions=n,
                   illness_days=round(n / 2, 1),
                   evidence={"periods": [r.as_dict() for r in rs], "cumulative_sessions": n},
                   key=latest.first_day.isoformat() if latest else "")
        records.append(rec)
    return sorted(records, key=lambda r: (r["legal_surname"], r["legal_forename"], r["upn"]))


def _school_days_after(day: date, n: int) -> date:
    """The n-th open school day after ``day`` (calendar days if the calendar runs out)."""
    found = list(SchoolDay.objects.filter(closed=False, date__gt=day).order_by("date")
                 .values_list("date", flat=True)[:n])
    return found[-1] if len(found) == n else day + timedelta(days=n + 2 * (n // 5))


def _first_school_day(year_start: date) -> date | None:
    return (SchoolDay.objects.filter(closed=False, date__gte=year_start).order_by("date")
            .values_list("date", flat=True).first())


def new_pupils_return(*, as_of: date, period_start: date | None = None,
                      rules: Rules | None = None) -> list[dict]:
    """Pupils added to the admission register in the period, due within N school days of
    entry. Pupils joining the most junior class on the first day of the school year are
    left out unless the school (at the LA's request) says otherwise."""
    rules = rules or Rules()
    year_start = school_year_start(as_of)
    period_start = period_start or year_start
    joined = list(Pupil.objects.filter(admission_date__gte=period_start, admission_date__lte=as_of)
                  .select_related("registration_group"))
    if rules.exempt_junior_intake and joined:
        first_day = _first_school_day(year_start)
        youngest = (Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of))
                    .order_by("year_group").values_list("year_group", flat=True).first())
        joined = [p for p in joined if not (
            p.year_group == youngest and first_day is not None
            and year_start <= p.admission_date <= first_day)]
    contacts = _first_contacts(p.pk for p in joined)
    records = []
    for p in joined:
        c = contacts.get(p.pk)
        rec = _base(p, c)
        due = _school_days_after(p.admission_date, rules.new_pupil_due_days)
        rec.update(reason="Added to the admission register", dates=p.admission_date.isoformat(),
                   sessions=None, codes="", admission_date=p.admission_date.isoformat(),
                   due_by=due.isoformat(), parent_name=str(c) if c else "",
                   parent_phone=c.best_phone if c else "",
                   evidence={"admission_date": p.admission_date.isoformat(), "due_by": due.isoformat()},
                   key=p.admission_date.isoformat())
        records.append(rec)
    return sorted(records, key=lambda r: (r["admission_date"], r["legal_surname"], r["upn"]))


def deletions_return(*, as_of: date, period_start: date | None = None,
                     rules: Rules | None = None) -> list[dict]:
    """Pupils deleted from the admission register in the period: the ground, and the parent's
    name, address and an emergency telephone number."""
    period_start = period_start or school_year_start(as_of)
    left = list(Pupil.objects.filter(leaving_date__gte=period_start, leaving_date__lte=as_of)
                .select_related("registration_group"))
    contacts = _first_contacts(p.pk for p in left)
    grounds = dict(DeletionGround.choices)
    records = []
    for p in left:
        c = contacts.get(p.pk)
        rec = _base(p, c)
        ground = grounds.get(p.deletion_ground, p.deletion_ground or "not recorded")
        rec.update(reason=f"Deleted from the admission register: {ground}",
                   dates=p.leaving_date.isoformat(), sessions=None, codes="",
                   leaving_date=p.leaving_date.isoformat(), deletion_ground=ground,
                   parent_name=str(c) if c else "", parent_address=(c.address if c else "") or p.address,
                   emergency_phone=c.best_phone if c else "",
                   evidence={"leaving_date": p.leaving_date.isoformat(), "ground": p.deletion_ground},
                   key=p.leaving_date.isoformat())
        records.append(rec)
    return sorted(records, key=lambda r: (r["leaving_date"], r["legal_surname"], r["upn"]))


def cme_return(*, as_of: date, period_start: date | None = None,
               rules: Rules | None = None) -> list[dict]:
    """Children of compulsory school age missing from school: ``cme_days`` consecutive school
    days of unexplained absence (N or O) ending in the period. (Younger children missing from
    school still reach the office through the no-contact track's home visit.)"""
    rules = rules or Rules()
    period_start = period_start or school_year_start(as_of)
    found = runs(codes=UNEXPLAINED, min_days=rules.cme_days, start=_lookback(period_start, as_of),
                 end=as_of, ends_from=period_start)
    csa = set(compulsory_school_age(Pupil.objects.filter(pk__in=list(found)), as_of)
              .values_list("pk", flat=True))
    found = {pk: rs for pk, rs in found.items() if pk in csa}
    pupils, contacts = _pupils(found), _first_contacts(found)
    last_present = dict(Mark.objects.filter(pupil_id__in=list(found),
                                            code__in=national_codes.ATTENDED_CODES, date__lte=as_of)
                        .order_by().values_list("pupil_id").annotate(d=Max("date")))
    records = []
    for pk, rs in found.items():
        p, c = pupils[pk], contacts.get(pk)
        r = rs[-1]
        counts: dict[str, int] = {}
        for x in rs:
            for code, n in x.codes.items():
                counts[code] = counts.get(code, 0) + n
        ongoing = r.last_day >= (SchoolDay.objects.filter(closed=False, date__lte=as_of)
                                 .order_by("-date").values_list("date", flat=True).first() or as_of)
        rec = _base(p, c)
        rec.update(reason=f"{r.days} consecutive school days of unexplained absence"
                          + (" (continuing)" if ongoing else ""),
                   dates=_runs_text(rs), sessions=sum(x.sessions for x in rs),
                   codes=_codes_text(counts),
                   last_present=(last_present[pk].isoformat() if pk in last_present else ""),
                   parent_name=str(c) if c else "", parent_phone=c.best_phone if c else "",
                   evidence={"runs": [x.as_dict() for x in rs], "ongoing": ongoing},
                   key=r.first_day.isoformat())
        records.append(rec)
    return sorted(records, key=lambda r: (r["legal_surname"], r["legal_forename"], r["upn"]))


BUILDERS = {"attendance": attendance_return, "sickness": sickness_return,
            "new_pupils": new_pupils_return, "deletions": deletions_return, "cme": cme_return}


def build(kind: str, *, as_of: date, period_start: date | None = None,
          rules: Rules | None = None) -> list[dict]:
    if kind not in BUILDERS:
        raise ValueError(f"unknown return '{kind}': choose from {', '.join(KINDS)}")
    return BUILDERS[kind](as_of=as_of, period_start=period_start, rules=rules)


def public_record(rec: dict) -> dict:
    """The exported shape: no internal ids."""
    return {k: v for k, v in rec.items() if k not in ("pupil_id", "key")}


# --- census -------------------------------------------------------------------------

CENSUS_TERMS = {"autumn": "spring census", "spring": "summer census", "summer": "autumn census"}


def census_period(term: str, on: date) -> tuple[date, date]:
    """The term's dates in the school year containing ``on`` (docs/domain.md section 7):
    autumn 1 Aug – 31 Dec; spring 1 Jan – Easter Sunday; summer Easter Monday – 31 Jul
    (the two halves of the summer term)."""
    from dateutil.easter import easter

    start = school_year_start(on)
    y = start.year + 1
    if term == "autumn":
        return start, date(start.year, 12, 31)
    if term == "spring":
        return date(y, 1, 1), easter(y)
    if term == "summer":
        return easter(y) + timedelta(days=1), date(y, 7, 31)
    raise ValueError(f"unknown census term '{term}': autumn, spring or summer")


def census_term_of(day: date) -> str:
    for term in ("autumn", "spring", "summer"):
        start, end = census_period(term, day)
        if start <= day <= end:
            return term
    return "summer"


CENSUS_REASONS = national_codes.AUTHORISED_CODES + national_codes.UNAUTHORISED_CODES
CENSUS_FIELDS = (["upn", "legal_surname", "legal_forename", "date_of_birth", "year_group",
                  "registration_group", "term", "census", "from", "to", "sessions_possible",
                  "sessions_authorised", "sessions_unauthorised"]
                 + [f"reason_{c}" for c in CENSUS_REASONS])


def census_rows(*, term: str, on: date) -> list[dict]:
    """Per pupil on roll in the term: sessions possible, authorised, unauthorised and absence
    sessions by reason code. Two queries: pupils, and marks grouped by pupil and code."""
    start, end = census_period(term, on)
    pupils = list(Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=start),
                                       admission_date__lte=end).select_related("registration_group"))
    counts: dict[int, dict[str, int]] = {}
    for pk, code, n in (Mark.objects.filter(date__gte=start, date__lte=end,
                                            pupil_id__in=[p.pk for p in pupils])
                        .order_by().values_list("pupil_id", "code").annotate(n=Count("id"))):
        counts.setdefault(pk, {})[code] = n
    possible = set(national_codes.POSSIBLE_CODES)
    auth, unauth = set(national_codes.AUTHORISED_CODES), set(national_codes.UNAUTHORISED_CODES)
    rows = []
    for p in sorted(pupils, key=lambda p: p.upn):
        c = counts.get(p.pk, {})
        row = {"upn": p.upn, "legal_surname": p.legal_surname, "legal_forename": p.legal_forename,
               "date_of_birth": p.date_of_birth.isoformat(), "year_group": p.get_year_group_display(),
               "registration_group": p.registration_group.name, "term": term,
               "census": CENSUS_TERMS[term], "from": start.isoformat(), "to": end.isoformat(),
               "sessions_possible": sum(n for k, n in c.items() if k in possible),
               "sessions_authorised": sum(n for k, n in c.items() if k in auth),
               "sessions_unauthorised": sum(n for k, n in c.items() if k in unauth)}
        row.update({f"reason_{code}": c.get(code, 0) for code in CENSUS_REASONS})
        rows.append(row)
    return rows
