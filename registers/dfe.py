"""The DfE's daily attendance data (docs/domain.md section 7; issue 16).

Since August 2024 schools share their registers with the DfE every day. The extract is
one row per pupil on roll per session of an open school day, in this documented layout
(CSV, or JSON as a list of objects with the same keys):

    upn, date (YYYY-MM-DD), session (AM/PM), code (national code; empty if unmarked),
    year_group (N1, N2, R, 1–14), gender (F/M/U), fsm, pupil_premium, eal, lac,
    child_in_need (Y/N), sen (N none, K SEN support, E EHC plan)

An extract is written each school day after registers close (Celery beat) and on demand,
and kept as sent (DailyExtract). The reconciliation compares the school's own figures for a
week with the figures computed from the extracts alone; where they differ, the marks
amended after the extract was written are listed.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

from attendance_site.spreadsheet import csv_text

from . import codes
from .models import DailyExtract, Mark, MarkAmendment, Pupil, SchoolDay
from .selectors import stats_total

FIELDS = ["upn", "date", "session", "code", "year_group", "gender", "fsm", "pupil_premium",
          "eal", "lac", "child_in_need", "sen"]
YEAR_CODE = {-2: "N1", -1: "N2", 0: "R"}


def _yn(v: bool) -> str:
    return "Y" if v else "N"


def extract_rows(day: date) -> list[dict]:
    """The day's registers per pupil on roll (empty when the day is not a school session)."""
    if not SchoolDay.objects.filter(date=day, closed=False).exists():
        return []
    marks = {(pid, s): c for pid, s, c in Mark.objects.filter(date=day).values_list(
        "pupil_id", "session", "code")}
    pupils = Pupil.objects.filter(admission_date__lte=day).exclude(leaving_date__lt=day) \
        .order_by("upn")
    rows = []
    for p in pupils:
        for session in ("AM", "PM"):
            rows.append({"upn": p.upn, "date": day.isoformat(), "session": session,
                         "code": marks.get((p.pk, session), ""),
                         "year_group": YEAR_CODE.get(p.year_group, str(p.year_group)),
                         "gender": p.gender, "fsm": _yn(p.fsm), "pupil_premium": _yn(p.pupil_premium),
                         "eal": _yn(p.eal), "lac": _yn(p.lac),
                         "child_in_need": _yn(p.child_protection), "sen": p.sen_status})
    return rows


def extract_csv(rows: list[dict]) -> str:
    return csv_text(FIELDS, ([r[f] for f in FIELDS] for r in rows))


def extract_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=1) + "\n"


def extract_write(day: date) -> DailyExtract | None:
    """Write (send) the day's extract and keep it as sent; None if not a school day."""
    rows = extract_rows(day)
    if not rows:
        return None
    return DailyExtract.objects.create(day=day, rows=len(rows), content=extract_csv(rows))


def _read(extract: DailyExtract) -> list[dict]:
    return list(csv.DictReader(io.StringIO(extract.content)))


@dataclass
class Figures:
    possible: int = 0
    attended: int = 0
    authorised: int = 0
    unauthorised: int = 0

    def as_tuple(self):
        return (self.possible, self.attended, self.authorised, self.unauthorised)


def figures_from_codes(values) -> Figures:
    """The DfE's arithmetic (docs/domain.md section 3) over a list of codes."""
    f = Figures()
    for code in values:
        c = codes.CODES.get(code)
        if c is None:
            continue
        f.possible += c.possible
        f.attended += c.attended
        f.authorised += c.category == codes.AUTHORISED
        f.unauthorised += c.category == codes.UNAUTHORISED
    return f


@dataclass
class WeekReconciliation:
    monday: date
    school: Figures
    dfe: Figures
    missing_days: list[date]
    amendments: list

    @property
    def agree(self) -> bool:
        return self.school.as_tuple() == self.dfe.as_tuple()


def week_reconciliation(monday: date) -> WeekReconciliation:
    monday -= timedelta(days=monday.weekday())
    friday = monday + timedelta(days=4)
    s = stats_total(date_from=monday, date_to=friday)
    school = Figures(s.possible, s.attended, s.authorised, s.unauthorised)
    days = list(SchoolDay.objects.filter(date__range=(monday, friday), closed=False)
                .values_list("date", flat=True))
    latest = {}
    for e in DailyExtract.objects.filter(day__range=(monday, friday)).order_by("written_at"):
        latest[e.day] = e
    sent_codes, amendments = [], []
    for day in days:
        extract = latest.get(day)
        if extract is None:
            continue
        sent_codes += [r["code"] for r in _read(extract)]
        amendments += list(MarkAmendment.objects.filter(date=day, at__gt=extract.written_at)
                           .select_related("pupil").order_by("at"))
    return WeekReconciliation(monday, school, figures_from_codes(sent_codes),
                              [d for d in days if d not in latest], amendments)
