"""The school census attendance module (docs/domain.md section 7; issue 16).

Each census carries the previous term's figures per pupil, one term in arrears: the spring
census (January) the autumn term (1 August – 31 December), the summer census (May) the
spring term (1 January – Easter Sunday), the autumn census (October) the summer term
(Easter Monday – 31 July: both halves). Figures per pupil: sessions possible, authorised,
unauthorised, and absence sessions by reason code. The totals come from
selectors.stats_by_pupil, the same figures export_stats writes.

When the school sends a census it records the figures as taken (CensusSnapshot); the
reconciliation lists each pupil whose figures have changed since (a late amendment).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.easter import easter
from django.db.models import Count
from lxml import etree

from attendance_site.spreadsheet import csv_text

from . import codes
from .models import CensusSnapshot, Mark, Pupil
from .selectors import pupils_on_roll, stats_by_pupil

CENSUSES = ("spring", "summer", "autumn")
REASON_CODES = codes.ABSENCE_CODES  # authorised and unauthorised absence codes


def census_period(census: str, year: int) -> tuple[date, date]:
    """The term a census in calendar year ``year`` reports."""
    if census == "spring":
        return date(year - 1, 8, 1), date(year - 1, 12, 31)
    if census == "summer":
        return date(year, 1, 1), easter(year)
    if census == "autumn":
        return easter(year) + timedelta(days=1), date(year, 7, 31)
    raise ValueError(f"unknown census '{census}': choose from {', '.join(CENSUSES)}")


def census_preparing(today: date) -> tuple[str, int]:
    """The census the school is preparing on ``today``: the next one whose term has ended
    or is ending (autumn census in October, spring in January, summer in May)."""
    if today.month in (8, 9, 10):
        return "autumn", today.year
    if today.month in (11, 12):
        return "spring", today.year + 1
    if today.month == 1:
        return "spring", today.year
    if today.month <= 5:
        return "summer", today.year
    return "autumn", today.year


@dataclass
class CensusRow:
    upn: str
    name: str
    possible: int
    authorised: int
    unauthorised: int
    reasons: dict[str, int] = field(default_factory=dict)

    def figures(self) -> list:
        return [self.possible, self.authorised, self.unauthorised, dict(sorted(self.reasons.items()))]


def census_rows(census: str, year: int) -> list[CensusRow]:
    """One row per pupil on roll during the census term, by UPN."""
    date_from, date_to = census_period(census, year)
    pupils = pupils_on_roll(date_from, date_to)
    stats = stats_by_pupil(pupils=pupils, date_from=date_from, date_to=date_to)
    reasons: dict[int, dict[str, int]] = {}
    for pid, code, n in (Mark.objects.filter(pupil__in=pupils.values("pk"), date__gte=date_from,
                                             date__lte=date_to, code__in=REASON_CODES)
                         .order_by().values_list("pupil_id", "code").annotate(n=Count("id"))):
        reasons.setdefault(pid, {})[code] = n
    rows = []
    for p in pupils.order_by("upn").only("pk", "upn", "legal_forename", "legal_surname",
                                         "preferred_forename", "preferred_surname"):
        s = stats.get(p.pk)
        rows.append(CensusRow(p.upn, p.display_name, s.possible if s else 0,
                              s.authorised if s else 0, s.unauthorised if s else 0,
                              reasons.get(p.pk, {})))
    return rows


CSV_FIELDS = ["upn", "sessions_possible", "sessions_authorised", "sessions_unauthorised",
              *[f"absence_{c}" for c in REASON_CODES]]


def census_csv(rows: list[CensusRow]) -> str:
    return csv_text(CSV_FIELDS, ([r.upn, r.possible, r.authorised, r.unauthorised,
                                  *[r.reasons.get(c, 0) for c in REASON_CODES]] for r in rows))


def census_xml(rows: list[CensusRow], census: str, year: int) -> bytes:
    """The attendance fragment: per pupil the term's sessions and absence by reason."""
    date_from, date_to = census_period(census, year)
    root = etree.Element("TermlyAttendance", Census=census, Year=str(year),
                         PeriodStart=date_from.isoformat(), PeriodEnd=date_to.isoformat())
    for r in rows:
        p = etree.SubElement(root, "Pupil")
        etree.SubElement(p, "UPN").text = r.upn
        for tag, value in (("SessionsPossible", r.possible), ("SessionsAuthorised", r.authorised),
                           ("SessionsUnauthorised", r.unauthorised)):
            etree.SubElement(p, tag).text = str(value)
        for code, n in sorted(r.reasons.items()):
            a = etree.SubElement(p, "SessionAbsence")
            etree.SubElement(a, "AttendanceReason").text = code
            etree.SubElement(a, "Sessions").text = str(n)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def census_take(census: str, year: int, *, user) -> CensusSnapshot:
    """Record the figures as sent, for the reconciliation."""
    rows = census_rows(census, year)
    return CensusSnapshot.objects.create(
        census=census, year=year, taken_by=(user.get_full_name() or user.username) if user else "",
        figures={r.upn: r.figures() for r in rows})


@dataclass
class Change:
    upn: str
    name: str
    before: list | None
    after: list | None


def census_changes(census: str, year: int) -> tuple[CensusSnapshot | None, list[Change]]:
    """Pupils whose figures differ from the last time this census was taken."""
    last = CensusSnapshot.objects.filter(census=census, year=year).order_by("-taken_at").first()
    if last is None:
        return None, []
    now = {r.upn: r for r in census_rows(census, year)}
    names = dict((p.upn, p.display_name) for p in Pupil.objects.filter(upn__in=last.figures))
    out = []
    for upn in sorted(set(now) | set(last.figures)):
        after = now[upn].figures() if upn in now else None
        before = last.figures.get(upn)
        if before != after:
            out.append(Change(upn, now[upn].name if upn in now else names.get(upn, ""),
                              before, after))
    return last, out
