"""School dashboard, drill-down lists, exports and the half-termly QA report (issue 6).

Thin views over ``dashboards.figures``. Every figure is a table cell that links to the
pupils behind it; every table exports to CSV and XLSX from the same rows it displays.
Figures-only viewers (governors, trust directors who are not staff here) get aggregates
only, with small-number suppression (``registers.disclosure``): no links, no lists, no
filters, no safeguarding groups. Pupil lists are for PUPIL_REPORT_READERS.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeData, mark_safe

from attendance_site.spreadsheet import csv_text, xlsx_bytes
from registers import codes, disclosure
from registers.calendar import latest_open_day
from registers.forms import SchoolTargetsForm
from registers.models import ETHNICITY_NOT_RECORDED, YEAR_GROUPS, CalendarEntry, Ethnicity, Pupil
from registers.school_year import school_year_start
from registers.selectors import Stats
from tenants.access import role_required
from tenants.roles import (
    ACCOUNT_MANAGERS,
    PUPIL_REPORT_READERS,
    REPORT_READERS,
    SAFEGUARDING_READERS,
    Role,
)
from tenants.services import school_targets_set

from . import figures as dashboard

YEAR_LABELS = dict(YEAR_GROUPS)
GENDER_LABELS = dict(Pupil.Gender.choices)
SEN_LABELS = dict(Pupil.SEN.choices)


# --- tables: what the page shows and what the exports write ------------------------------------

@dataclass
class Cell:
    value: Any
    text: str = ""
    href: str | None = None
    cls: str = ""
    colour: str = ""
    rate: bool = False  # a percentage: rounded in figures-only exports

    def __post_init__(self):
        if not self.text:
            self.text = "–" if self.value is None else str(self.value)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    foot: list[list[Cell]] = field(default_factory=list)

    def body_html(self) -> str:
        """The rows as dashboards/_table.html shows them, built here: a list of a thousand
        pupils is 14,000 cells, which the template language renders ten times slower."""
        return mark_safe("".join(  # noqa: S308 (every value escaped in _cell_html)
            f"<tr>{''.join(_cell_html(c, i == 0) for i, c in enumerate(row))}</tr>\n    "
            for row in self.rows))


@lru_cache(maxsize=64)
def _band_dot(colour: str) -> str:
    return render_to_string("_band_dot.html", {"colour": colour})


def _escape(value) -> str:
    """django.utils.html.conditional_escape, without its per-call wrappers (same output)."""
    return value if isinstance(value, SafeData) else html.escape(str(value))


def _cell_html(cell: Cell, first: bool) -> str:
    text = _escape(cell.text)
    if cell.href:
        text = f'<a href="{_escape(cell.href)}">{text}</a>'
    if cell.colour:
        text = f"{_band_dot(cell.colour)} {text}"
    if first:
        return f'<th scope="row" class="fw-normal">{text}</th>'
    return f'<td class="text-end {_escape(cell.cls)}">{text}</td>'


def pct_cell(value: float | None, href: str | None = None, cls: str = "") -> Cell:
    # One decimal place for display; the unrounded value goes into exports.
    return Cell(value, "–" if value is None else f"{value:.1f}%", href, cls, rate=True)


def gap_cell(a: float | None, b: float | None) -> Cell:
    if a is None or b is None:
        return Cell(None)
    gap = a - b
    return Cell(gap, f"{gap:+.1f} pts", cls="text-danger" if gap < -0.05 else "", rate=True)


def _viewer(request) -> dict:
    """What this person may see on the dashboards (registers.disclosure)."""
    return {"figures_only": disclosure.figures_only(request.roles)}


def hidden_cell(cell: Cell, value=None) -> Cell:
    """A figure a figures-only viewer may not see: "fewer than 5" or "suppressed"."""
    v = cell.value if value is None else value
    text = disclosure.SUPPRESSED if cell.rate or not isinstance(v, int) else disclosure.text(v)
    return Cell(text, text, cls="text-body-secondary")


def _figure(cell: Cell) -> bool:
    return isinstance(cell.value, int | float) and not isinstance(cell.value, bool)


# Complexity: disclosure control: each suppression rule is one branch, kept together to audit.
def protect(t: Table, *, counts: dict[int, tuple[int, ...]], population: int | None = None,  # noqa: C901
            row_hidden: list[bool] | None = None, figure_cols: set[int] | None = None,
            partition: bool = True, also: dict[int, list[bool]] | None = None,
            groups: list | None = None) -> Table:
    """Disclosure control on a table whose rows are groups of pupils (registers.disclosure).

    ``population``: the column of each row's pupil count: a row of fewer than 5 pupils (or one
    in ``row_hidden``) loses every figure (``figure_cols``, default all numeric cells).
    ``counts``: pupil-count columns and the rate columns that hang on each; fewer than 5 is
    hidden (and cells flagged in ``also``), then, when rows split a total (``partition``), the
    next-smallest of the column (within each of ``groups``, when rows nest in groups whose
    own totals are shown). A single hidden cell with no other to hide, or a total of
    fewer than 5, hides the total in the foot. Rates are rounded to one decimal place.
    """
    original = [[c.value for c in r] for r in t.rows]
    hide_row = [bool(row_hidden and row_hidden[i]) or (
        population is not None and disclosure.small(original[i][population]))
        for i in range(len(t.rows))]
    for i, r in enumerate(t.rows):
        if hide_row[i]:
            for j, c in enumerate(r):
                if j and _figure(c) and (figure_cols is None or j in figure_cols):
                    r[j] = hidden_cell(c)
    for col, rates in counts.items():
        values = [v[col] if isinstance(v[col], int) else None for v in original]
        extra = (also or {}).get(col) or [False] * len(values)
        primary = [a or b for a, b in zip(hide_row, extra, strict=True)]
        hide = (disclosure.hidden_cells_grouped(values, primary, groups) if groups is not None
                else disclosure.hidden_cells(values, primary, total_shown=partition))
        for i, h in enumerate(hide):
            if h:
                t.rows[i][col] = hidden_cell(Cell(original[i][col]))
                for rc in rates:
                    t.rows[i][rc] = hidden_cell(t.rows[i][rc])
        for f in t.foot:
            if sum(hide) == 1 or (isinstance(f[col].value, int) and disclosure.small(f[col].value)):
                f[col] = hidden_cell(f[col])
                for rc in rates:
                    f[rc] = hidden_cell(f[rc])
    for r in t.rows + t.foot:
        for j, c in enumerate(r):
            if c.rate and isinstance(c.value, float):
                r[j] = replace(c, value=round(c.value, 1))
    return t


class BadRequest(Exception):
    """A malformed query string (dates, cohort, filters): answered with 400."""


def _criteria(request) -> dashboard.Criteria:
    """The query's criteria; any filter beyond period and cohort is refused (403) to
    figures-only viewers, whatever the URL says."""
    try:
        c = dashboard.criteria_from_query(request.GET, today=timezone.localdate())
    except (ValueError, KeyError) as exc:
        raise BadRequest(str(exc)) from exc
    if disclosure.figures_only(request.roles) and (
            c.filtered or disclosure.asks_for_safeguarding(request.GET)):
        raise PermissionDenied
    return c


PERIOD_KEYS = ("from", "to", "cohort")


def _page_criteria(request) -> tuple[dashboard.Criteria, str]:
    """A page's criteria, and a message for its form when the period or cohort cannot be read
    (issue 17: a bad date range is a form error on the same page, showing the default period,
    never a bare 400). Other malformed filters are still refused (BadRequest)."""
    try:
        return _criteria(request), ""
    except BadRequest as exc:
        message = str(exc)
        rest = request.GET.copy()
        for k in PERIOD_KEYS:
            rest.pop(k, None)
        request.GET = rest
        c = _criteria(request)  # raises for anything else wrong with the query
        return c, f"{message[:1].upper()}{message[1:]}: showing the default period instead."


def bad_request_guard(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:  # the app's own 400 page, with the navigation
            from attendance_site.errors import BadInput, bad_request

            return bad_request(request, BadInput(f"Bad request: {exc}"))
    return wrapped


class Links:
    """URLs of drill-down lists for a base criteria."""

    def __init__(self, base: dashboard.Criteria, enabled: bool = True):
        self.base = base
        self.enabled = enabled
        self.url = reverse("dashboard_pupils")

    def __call__(self, *, dims: dict | None = None, **kw) -> str | None:
        if not self.enabled:  # figures-only viewers: no lists behind the figures
            return None
        c = self.base.with_(**kw)
        if dims is not None:
            c = c.with_(dims=tuple(dims.items()))
        return f"{self.url}?{urlencode(c.query())}"

    def cohort(self, cohort: str) -> Links:
        return Links(self.base.with_(cohort=cohort), self.enabled)


# --- building the school dashboard's tables -----------------------------------------------------

def _figure_row(label: str, f: dashboard.Figures, link: Links, dims: dict,
                rest: dashboard.Figures | None = None) -> list[Cell]:
    s = f.stats
    row = [Cell(label, href=link(dims=dims)), Cell(f.pupils, href=link(dims=dims)),
           pct_cell(s.attendance_pct, link(dims=dims, measure="absent")),
           pct_cell(s.authorised_pct, link(dims=dims, measure="authorised")),
           pct_cell(s.unauthorised_pct, link(dims=dims, measure="unauthorised")),
           Cell(f.pa, href=link(dims=dims, measure="pa")), pct_cell(f.pa_pct),
           Cell(f.sa, href=link(dims=dims, measure="sa")),
           Cell(f.pupils_broken, href=link(dims=dims, measure="broken"))]
    if rest is not None:
        row.append(gap_cell(s.attendance_pct, rest.stats.attendance_pct))
    return row


FIGURE_COLUMNS = ["", "Pupils", "Attendance", "Authorised absence", "Unauthorised absence",
                  "PA pupils", "PA rate", "SA pupils", "Pupils with broken weeks"]


def headline_table(roll: dashboard.Rollup, link: Links, figures_only: bool = False) -> Table:
    t = Table("headline", "Year to date", ["Measure", dashboard.COHORTS["csa"],
                                           dashboard.COHORTS["all"]])
    cols = [("csa", link.cohort("csa")), ("all", link.cohort("all"))]
    hidden = headline_hidden(roll) if figures_only else {"csa": (), "all": ()}

    def row(label, key, fn):
        cells = []
        for c, lk in cols:
            f = roll.total[c]
            hide = key in hidden[c] or "stats" in hidden[c]
            cells.append(hidden_cell(Cell(getattr(f, key, 0))) if hide else fn(f, lk))
        t.rows.append([Cell(label)] + cells)

    row("Pupils on roll", "pupils", lambda f, lk: Cell(f.pupils, href=lk()))
    row("Possible sessions", "stats", lambda f, lk: Cell(f.stats.possible))
    row("Attendance", "stats", lambda f, lk: pct_cell(f.stats.attendance_pct, lk(measure="absent")))
    row("Authorised absence", "stats", lambda f, lk: pct_cell(f.stats.authorised_pct,
                                                              lk(measure="authorised")))
    row("Unauthorised absence", "stats", lambda f, lk: pct_cell(f.stats.unauthorised_pct,
                                                                lk(measure="unauthorised")))
    row("Persistent absence (PA, ≥10%)", "pa", lambda f, lk: Cell(
        f.pa, f"PA: {f.pa} pupils ({_pct_text(f.pa_pct)})", lk(measure="pa")))
    row("Severe absence (SA, ≥50%)", "sa", lambda f, lk: Cell(
        f.sa, f"SA: {f.sa} pupils ({_pct_text(f.sa_pct)})", lk(measure="sa")))
    row("Broken weeks (pupil-weeks with an absence)", "pupils_broken", lambda f, lk: Cell(
        f.broken_weeks, f"{f.broken_weeks} ({f.pupils_broken} pupils)", lk(measure="broken")))
    row("Late before register closed (L)", "stats", lambda f, lk: Cell(
        f.stats.late_before_close, href=lk(code="L", measure="marked")))
    row("Late after register closed (U)", "stats", lambda f, lk: Cell(
        f.stats.late_after_close, href=lk(code="U", measure="marked")))
    row("Minutes late", "stats", lambda f, lk: Cell(f.stats.minutes_late, href=lk(measure="late")))
    return protect(t, counts={}) if figures_only else t


def headline_hidden(roll: dashboard.Rollup) -> dict[str, frozenset]:
    """Cohort -> names of the headline figures a figures-only viewer may not see."""
    csa, everyone = roll.total["csa"], roll.total["all"]
    return {"csa": disclosure.figures_hidden(csa),
            "all": disclosure.figures_hidden(everyone, complement_of=csa)}


def _pct_text(v):
    return "–" if v is None else f"{v:.1f}%"


def bands_table(roll: dashboard.Rollup, bands, link: Links, figures_only: bool = False) -> Table:
    t = Table("bands", "Pupils per band", ["Band", dashboard.COHORTS["csa"],
                                           dashboard.COHORTS["all"]])
    for b in bands:
        t.rows.append([Cell(b.name, colour=b.colour)] + [
            Cell(roll.get("band", b.pk, c).pupils,
                 href=link.cohort(c)(dims={"band": b.pk}))
            for c in ("csa", "all")])
    if not bands:
        t.note = "No attendance bands are configured for this school."
        return t
    none = [roll.get("band", None, c).pupils for c in ("csa", "all")]
    if any(none):
        t.rows.append([Cell("No possible sessions yet")] + [Cell(n) for n in none])
    if figures_only:
        # All pupils minus compulsory school age, per band: 0-4 out-of-age pupils in a band
        # would be told by the two columns side by side (unless there are none at all).
        out_of_age = roll.total["all"].pupils != roll.total["csa"].pupils
        diff = [out_of_age and disclosure.small(r[2].value - r[1].value) for r in t.rows]
        protect(t, counts={1: (), 2: ()}, also={2: diff})
    return t


def dimension_table(key: str, title: str, roll: dashboard.Rollup, link: Links, labels,
                    cohort: str, figures_only: bool = False, parent=None) -> Table:
    """Figures per year group or class. ``parent`` (classes, figures-only): the protected
    year groups table and each class's year group label, for nested suppression."""
    first = {"year_groups": "Year group", "classes": "Class"}[key]
    t = Table(key, title, [first] + FIGURE_COLUMNS[1:] + ["Gap to the rest"])
    dim = {"year_groups": "year_group", "classes": "group"}[key]
    values = roll.by[dim][cohort]
    order = sorted(values, key=lambda v: labels(v)[0])
    for value in order:
        f = values[value]
        t.rows.append(_figure_row(labels(value)[1], f, link, {dim: value},
                                  roll.rest(dim, value, cohort)))
    if figures_only:
        hide = []
        for i, value in enumerate(order):
            rest = roll.rest(dim, value, cohort)
            if disclosure.reveals(rest.pupils):  # gap to 1-4 other pupils
                t.rows[i][-1] = hidden_cell(t.rows[i][-1])
            # Under "all pupils", a row whose out-of-age pupils number 1-4 would give them away
            # beside the same row under compulsory school age.
            hide.append(cohort == "all" and disclosure.reveals(
                values[value].pupils - roll.get(dim, value, "csa").pupils))
        counts = {1: (), 5: (6,), 7: (), 8: ()}
        groups, also = None, None
        if parent is not None:
            table, year_of = parent
            years = {r[0].value: r for r in table.rows}
            groups = [year_of(v) for v in order]
            alone = [groups.count(g) == 1 for g in groups]
            also = {col: [alone[i] and isinstance(years.get(g, [Cell(0)] * 9)[col].value, str)
                          for i, g in enumerate(groups)] for col in counts}
        protect(t, population=1, row_hidden=hide, counts=counts, also=also, groups=groups)
    return t


def groups_table(roll: dashboard.Rollup, link: Links, cohort: str, viewer: dict) -> Table:
    t = Table("pupil_groups", "Pupil groups compared with the rest",
              ["Group", "Pupils", "Attendance", "The rest", "Gap", "Unauthorised",
               "PA pupils", "PA rate", "PA rate of the rest", "SA pupils"])
    figures_only = viewer["figures_only"]
    hidden, dims, figs = [], [], []
    for dim, value, label in dashboard.PUPIL_GROUPS:
        if figures_only and dim in dashboard.SAFEGUARDING_DIMS:
            continue  # never a breakdown for figures-only viewers
        f, rest = roll.get(dim, value, cohort), roll.rest(dim, value, cohort)
        hidden.append(disclosure.figures_hidden(f, whole=roll.total[cohort]))
        dims.append(dim)
        figs.append(f)
        lk = link
        d = {dim: value}
        t.rows.append([Cell(label, href=lk(dims=d)), Cell(f.pupils, href=lk(dims=d)),
                       pct_cell(f.stats.attendance_pct, lk(dims=d, measure="absent")),
                       pct_cell(rest.stats.attendance_pct),
                       gap_cell(f.stats.attendance_pct, rest.stats.attendance_pct),
                       pct_cell(f.stats.unauthorised_pct, lk(dims=d, measure="unauthorised")),
                       Cell(f.pa, href=lk(dims=d, measure="pa")), pct_cell(f.pa_pct),
                       pct_cell(rest.pa_pct), Cell(f.sa, href=lk(dims=d, measure="sa"))])
    if figures_only:
        # A group and the rest split the school: hidden together (disclosure.figures_hidden);
        # so do the values of one attribute shown side by side and what they leave over.
        for dim in {d for d in dims if dims.count(d) > 1}:
            idx = [i for i, d in enumerate(dims) if d == dim]
            extra = disclosure.remainder_hidden([figs[i] for i in idx], roll.total[cohort])
            for i in idx:
                hidden[i] = hidden[i] | extra
        for r, names in zip(t.rows, hidden, strict=True):
            cols = ({1, 2, 3, 4, 5, 6, 7, 8, 9} if "pupils" in names else set()) | \
                ({6, 7, 8} if "pa" in names else set()) | ({9} if "sa" in names else set())
            for j in cols:
                r[j] = hidden_cell(r[j])
        protect(t, counts={}, partition=False)
    return t


def ethnicity_table(roll: dashboard.Rollup, link: Links, cohort: str, figures_only: bool) -> Table:
    """Figures per DfE census ethnicity category (issue 19 item 6), "not recorded" included so
    the rows split the school. Figures-only viewers (governors): a category of fewer than 5
    pupils shows no figures, and the next-smallest is hidden with it (registers.disclosure)."""
    t = Table("ethnicity", "Ethnicity (DfE census categories)",
              ["Ethnicity", "Pupils", "Attendance", "The rest", "Gap", "Unauthorised",
               "PA pupils", "PA rate", "SA pupils"])
    values = roll.by.get("ethnicity", {}).get(cohort, {})
    order = [v for v in Ethnicity.values if v in values] + ([""] if "" in values else [])
    hide = []
    for value in order:
        f, rest = values[value], roll.rest("ethnicity", value, cohort)
        label = (f"{Ethnicity(value).label} ({value})" if value else ETHNICITY_NOT_RECORDED)
        # "Not recorded" is no query-string filter (an empty value is no filter): no link.
        lk = link if value else (lambda **kw: None)
        d = {"ethnicity": value}
        t.rows.append([Cell(label, href=lk(dims=d)), Cell(f.pupils, href=lk(dims=d)),
                       pct_cell(f.stats.attendance_pct, lk(dims=d, measure="absent")),
                       pct_cell(rest.stats.attendance_pct),
                       gap_cell(f.stats.attendance_pct, rest.stats.attendance_pct),
                       pct_cell(f.stats.unauthorised_pct, lk(dims=d, measure="unauthorised")),
                       Cell(f.pa, href=lk(dims=d, measure="pa")), pct_cell(f.pa_pct),
                       Cell(f.sa, href=lk(dims=d, measure="sa"))])
        hide.append(disclosure.reveals(rest.pupils))  # the rest is 1-4 pupils
    if figures_only:
        protect(t, population=1, row_hidden=hide, counts={1: (2, 3, 4, 5), 6: (7,), 8: ()})
    return t


def _stats_row(label, s: Stats, href_absent=None, extra=()) -> list[Cell]:
    return [Cell(label), Cell(s.possible), pct_cell(s.attendance_pct),
            pct_cell(s.absence_pct, href_absent), pct_cell(s.authorised_pct),
            pct_cell(s.unauthorised_pct), *extra]


PATTERN_COLUMNS = ["", "Possible sessions", "Attendance", "Absence", "Authorised",
                   "Unauthorised"]


def weekday_table(p: dashboard.Patterns, link: Links, cohort: str) -> Table:
    t = Table("weekdays", "Day of the week", ["Day"] + PATTERN_COLUMNS[1:])
    for dow in sorted(p.by["dow"][cohort]):
        t.rows.append(_stats_row(dashboard.WEEKDAYS[dow], p.get("dow", dow, cohort),
                                 link(dow=dow, measure="absent")))
    return t


def session_table(p: dashboard.Patterns, link: Links, cohort: str) -> Table:
    t = Table("sessions", "Morning and afternoon", ["Session"] + PATTERN_COLUMNS[1:])
    for s in ("AM", "PM"):
        if s in p.by["session"][cohort]:
            t.rows.append(_stats_row(s, p.get("session", s, cohort),
                                     link(session=s, measure="absent")))
    return t


def codes_table(p: dashboard.Patterns, link: Links, cohort: str, possible: int,
                code_pupils: dict | None = None) -> Table:
    """Sessions per code. ``code_pupils`` (figures-only viewers: dashboard.code_pupils) adds
    the pupils per code and suppresses codes used by fewer than 5 pupils."""
    t = Table("codes", "Code usage", ["Code", "Meaning", "Category", "Sessions",
                                      "% of possible sessions"])
    counts = p.code_counts[cohort]
    order = sorted(counts, key=lambda c: -counts[c])
    for code in order:
        info = codes.CODES.get(code)
        n = counts[code]
        t.rows.append([Cell(code, href=link(code=code, measure="marked")),
                       Cell(info.meaning if info else code), Cell(info.category if info else ""),
                       Cell(n, href=link(code=code, measure="marked")),
                       pct_cell(n * 100.0 / possible if possible else None)])
    if code_pupils is not None:
        # A code used by fewer than 5 pupils (an exclusion, a part-time timetable) is about
        # those pupils; under "all pupils", so is one whose out-of-age users number 1-4.
        pupils, csa = code_pupils.get(cohort, {}), code_pupils.get("csa", {})
        t.columns.insert(3, "Pupils")
        for code, r in zip(order, t.rows, strict=True):
            r.insert(3, Cell(pupils.get(code, 0)))
        hide = [cohort == "all" and disclosure.reveals(pupils.get(c, 0) - csa.get(c, 0))
                for c in order]
        # Pupils per code do not add up (a pupil has many codes); sessions do, to the
        # possible sessions: secondary suppression on the sessions only.
        protect(t, population=3, row_hidden=hide, counts={4: (5,)})
    return t


def protect_patterns(t: Table, hidden: bool) -> Table:
    """Figures-only day, session and week tables: every pupil of the cohort is in each row,
    so they are hidden only with the cohort's own figures (``headline_hidden``)."""
    return protect(t, counts={}, row_hidden=[hidden] * len(t.rows), population=None)


def weekly_table(d: dashboard.SchoolDashboard, link: Links, target: float) -> tuple[Table, dict]:
    c = d.criteria
    this = dashboard.weeks_of_year(c, d.patterns.by["week"][c.cohort])
    last_c = dashboard.last_year_whole(c)
    last = {i: (wk, s) for i, wk, s in dashboard.weeks_of_year(last_c, d.last_year_weeks)}
    t = Table("weekly", "Week by week", ["Week commencing", "Possible sessions", "Attendance",
                                         "Unauthorised", "Same week last year"])
    for i, wk, s in this:
        prev = last.get(i)
        t.rows.append([Cell(wk, wk.strftime("%-d %b %Y")), Cell(s.possible),
                       pct_cell(s.attendance_pct, link(date_from=max(wk, c.date_from),
                                                        date_to=min(wk + timedelta(days=6),
                                                                    c.date_to),
                                                        measure="absent")),
                       pct_cell(s.unauthorised_pct),
                       pct_cell(prev[1].attendance_pct if prev else None)])
    chart = line_chart([
        ("This year", "series-this", [(i, s.attendance_pct) for i, _, s in this]),
        ("Last year", "series-last", [(i, s.attendance_pct) for i, (_, s) in sorted(last.items())]),
    ], target=target, labels={i: wk.strftime("%-d %b") for i, wk, _ in this})
    return t, chart


def _not_yet_due(day: date, school=None, now=None) -> set[str]:
    """Sessions of ``day`` whose register has not opened yet (only ever today's)."""
    if school is None:
        return set()
    now = timezone.localtime(now)
    if day != now.date():
        return set()
    opens = {"AM": getattr(school, "am_open", None), "PM": getattr(school, "pm_open", None)}
    return {s for s, t in opens.items() if t is not None and now.time() < t}


def today_table(d: dashboard.SchoolDashboard, viewer: dict, school=None, now=None) -> Table:
    not_due = _not_yet_due(d.day, school, now)
    t = Table("today", f"Registers on {d.day:%A %-d %B %Y}",
              ["Class", "On roll", "AM taken", "PM taken", "Present (AM)", "Present (PM)",
               "Absent with reason (AM)", "Absent with reason (PM)",
               "No reason yet, N (AM)", "No reason yet, N (PM)"])
    base = reverse("dashboard_today")

    def href(state, session):
        return f"{base}?{urlencode({'day': d.day.isoformat(), 'state': state, 'session': session})}"

    def rows(r: dashboard.TodayRow, total=False):
        cells = [Cell(r.name), Cell(r.on_roll)]
        for s in ("AM", "PM"):
            missing = r.missing(s)
            if s in not_due and not r.marked[s]:
                # Before the register opens nothing is missing yet: say so, quietly.
                cells.append(Cell(r.marked[s], "not yet due", cls="text-body-secondary text-nowrap"))
                continue
            cells.append(Cell(r.marked[s], f"{r.marked[s]}/{r.on_roll}" + (
                f" ({missing} missing)" if missing else ""),
                href("unmarked", s) if missing and total else None,
                "text-danger" if missing else "text-success"))
        for s in ("AM", "PM"):
            cells.append(Cell(r.present[s], href=href("present", s) if total else None))
        for s in ("AM", "PM"):
            with_reason = r.authorised[s] + r.unauthorised[s] - r.no_reason[s]
            cells.append(Cell(with_reason, href=href("with_reason", s) if total else None))
        for s in ("AM", "PM"):
            cells.append(Cell(r.no_reason[s], href=href("no_reason", s) if total else None,
                              cls="text-danger fw-bold" if r.no_reason[s] else ""))
        return cells

    for r in d.today_rows:
        t.rows.append(rows(r))
    if d.today_total:
        t.foot.append(rows(d.today_total, total=True))
    return t


def trophy_table(d: dashboard.SchoolDashboard, figures_only: bool = False) -> Table:
    t = Table("trophy", "Class of the week (100% attendance)",
              ["Week commencing", "Classes with 100%", "Best class", "Best attendance"])
    sizes = d.rollup.by.get("group", {}).get("all", {})
    for wk in sorted(d.trophy_weeks, reverse=True):
        rows = d.trophy_weeks[wk]
        if figures_only:  # a class of fewer than 5 pupils is not named for its attendance
            rows = [(g, s) for g, s in rows
                    if not disclosure.small(sizes.get(g, dashboard.Figures()).pupils)]
        winners = [d.groups[g].name for g in dashboard.classes_at_100(rows) if g in d.groups]
        best_gid, best = rows[0] if rows else (None, Stats())
        t.rows.append([Cell(wk, wk.strftime("%-d %b %Y")),
                       Cell(", ".join(winners) or "none", cls="fw-bold" if winners else ""),
                       Cell(d.groups[best_gid].name if best_gid in d.groups else "–"),
                       pct_cell(best.attendance_pct)])
    return protect(t, counts={}) if figures_only else t


# --- charts: server-side SVG (prints, no JavaScript needed) --------------------------------------

def line_chart(series, *, target: float | None = None, labels: dict | None = None,
               width: int = 720, height: int = 240) -> dict:
    """Polylines for an SVG chart of percentages by x index."""
    pts = [(x, y) for _, _, ps in series for x, y in ps if y is not None]
    if not pts:
        return {"empty": True}
    xs = [x for x, _ in pts]
    ys = [y for _, y in pts] + ([target] if target is not None else [])
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0 = max(0.0, min(ys) - 2)
    y0 = float(int(y0 // 5 * 5))
    y1 = 100.0
    left, right, top, bottom = 44, 10, 10, 28

    def sx(x):
        return left + (x - x0) * (width - left - right) / (x1 - x0)

    def sy(y):
        return top + (y1 - y) * (height - top - bottom) / (y1 - y0)

    out = {"width": width, "height": height, "series": [], "grid": [], "xlabels": []}
    step = 1 if y1 - y0 <= 10 else 5
    v = y1
    while v >= y0:
        out["grid"].append({"y": round(sy(v), 1), "label": f"{v:g}%"})
        v -= step
    for name, css, ps in series:
        good = [(x, y) for x, y in ps if y is not None]
        out["series"].append({"name": name, "css": css, "points": " ".join(
            f"{sx(x):.1f},{sy(y):.1f}" for x, y in good),
            "dots": [{"x": round(sx(x), 1), "y": round(sy(y), 1), "title": f"{name}: {y:.1f}%"}
                     for x, y in good]})
    if target is not None:
        out["target"] = {"y": round(sy(target), 1), "label": f"Target {target:g}%"}
    if labels:
        every = max(1, len(labels) // 8)
        for i, (x, text) in enumerate(sorted(labels.items())):
            if i % every == 0:
                out["xlabels"].append({"x": round(sx(x), 1), "text": text})
    out["left"], out["bottom"] = left, height - bottom
    return out


def bars(table: Table, value_col: int, label_col: int = 0) -> list[dict]:
    """Horizontal bars (CSS widths) for a table column of percentages."""
    return [{"label": r[label_col].text, "value": r[value_col].value, "text": r[value_col].text,
             "href": r[value_col].href}
            for r in table.rows if isinstance(r[value_col].value, int | float)]


def _figures_only_tables(tables: dict, chart, d, c):
    """A figures-only viewer (governor, trust): today's registers are class by class counts
    of named children's days, staff only; patterns obey the headline's disclosure rules."""
    del tables["today"]
    cohort_hidden = "stats" in headline_hidden(d.rollup)[c.cohort]
    for key in ("weekdays", "sessions", "weekly"):
        protect_patterns(tables[key], cohort_hidden)
    return {"empty": True} if cohort_hidden else chart


# --- views ---------------------------------------------------------------------------------------

def _build(request):
    c, request.criteria_error = _page_criteria(request)
    day = latest_open_day(min(c.date_to, timezone.localdate())) or c.date_to
    d = dashboard.school_dashboard_cached(c, day=day)
    viewer = _viewer(request)
    fo = viewer["figures_only"]
    link = Links(c, enabled=not fo)
    labels_y = lambda v: (v, YEAR_LABELS.get(v, str(v)))  # noqa: E731
    labels_g = lambda v: ((d.groups[v].year_group, d.groups[v].name) if v in d.groups  # noqa: E731
                          else (99, str(v)))
    tables = {
        "headline": headline_table(d.rollup, link, fo),
        "today": today_table(d, viewer, school=request.tenant),
        "bands": bands_table(d.rollup, d.bands, link, fo),
        "year_groups": dimension_table("year_groups", "Year groups", d.rollup, link, labels_y,
                                       c.cohort, fo),
        "pupil_groups": groups_table(d.rollup, link, c.cohort, viewer),
        "ethnicity": ethnicity_table(d.rollup, link, c.cohort, fo),
        "weekdays": weekday_table(d.patterns, link, c.cohort),
        "sessions": session_table(d.patterns, link, c.cohort),
        "codes": codes_table(d.patterns, link, c.cohort, d.rollup.total[c.cohort].stats.possible,
                             dashboard.code_pupils_cached(c) if fo else None),
        "trophy": trophy_table(d, fo),
    }
    year_of = lambda v: labels_y(d.groups[v].year_group)[1] if v in d.groups else None  # noqa: E731
    tables["classes"] = dimension_table("classes", "Classes", d.rollup, link, labels_g, c.cohort,
                                        fo, parent=(tables["year_groups"], year_of))
    tables["weekly"], chart = weekly_table(d, link, float(request.tenant.attendance_target))
    if fo:
        chart = _figures_only_tables(tables, chart, d, c)
    return c, d, tables, chart, viewer


def _cards(d, c, figures_only: bool) -> dict:
    """The headline cards: compulsory-school-age and all pupils, the last four weeks against
    the four before and the trend; for a figures-only viewer they obey the same rules as the
    headline table."""
    head, head_all = d.rollup.total["csa"], d.rollup.total["all"]
    recent = sorted(d.patterns.by["week"][c.cohort].items())
    last4 = sum((s for _, s in recent[-4:]), Stats())
    prev4 = sum((s for _, s in recent[-8:-4]), Stats())
    trend = _trend(last4.attendance_pct, prev4.attendance_pct)
    if figures_only:
        hidden = headline_hidden(d.rollup)
        head = disclosure.Shown(head, hidden["csa"])
        head_all = disclosure.Shown(head_all, hidden["all"])
        if "stats" in hidden[c.cohort]:
            last4 = prev4 = disclosure.Shown(last4, {"*"})
            trend = None
    return {"head": head, "head_all": head_all, "last4": last4, "prev4": prev4, "trend": trend}


@role_required(REPORT_READERS)
@bad_request_guard
def school_dashboard(request):
    c, d, tables, chart, viewer = _build(request)
    link = Links(c.with_(cohort="csa"), enabled=not viewer["figures_only"])
    return render(request, "dashboards/school.html", {
        "c": c, "d": d, "t": tables, "chart": chart, "viewer": viewer,
        **_cards(d, c, viewer["figures_only"]), "target": float(request.tenant.attendance_target),
        "dfe_target": (None if request.tenant.dfe_improvement_target is None
                       else float(request.tenant.dfe_improvement_target)),
        "can_set_targets": bool(request.roles & ACCOUNT_MANAGERS),
        "national": dashboard.NATIONAL_BENCHMARK, "la": dashboard.LA_BENCHMARKS.get(request.tenant.la_name),
        "cohorts": dashboard.COHORTS, "query": urlencode(c.query()),
        "year_bars": bars(tables["year_groups"], 2), "day_bars": bars(tables["weekdays"], 2),
        "pa_link": link(measure="pa"),
        "sa_link": link(measure="sa"),
        "cohort_label": dashboard.COHORTS[c.cohort],
        "export_base": reverse("dashboard") + "export/",
        "trust_url": _trust_url(request),
        "criteria_error": request.criteria_error,
    })


def _trend(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    return "up" if now > before else ("down" if now < before else "same")


def _trust_url(request) -> str | None:
    """Where a trust director finds the trust dashboard (on the platform's public host)."""
    if Role.TRUST_DIRECTOR not in request.roles or request.tenant.trust_id is None:
        return None
    trust = request.tenant.trust
    port = request.get_port()
    host = settings.TENANT_BASE_DOMAIN + ("" if port in ("80", "443") else f":{port}")
    return f"{request.scheme}://{host}/trust/{trust.slug}/"


@role_required(REPORT_READERS)
@bad_request_guard
def dashboard_export(request, table, fmt):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _, _, tables, _, _ = _build(request)
    if table not in tables:
        raise Http404
    return table_response(tables[table], fmt, f"{request.tenant.schema_name}-{table}")


def table_response(t: Table, fmt: str, name: str) -> HttpResponse:
    """The table as CSV or XLSX, written by the shared formula-safe writers."""
    values = [[cell.value for cell in r] for r in t.rows + t.foot]
    if fmt == "csv":
        response = HttpResponse(csv_text(t.columns, [[_plain(v) for v in r] for r in values]),
                                content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            xlsx_bytes(t.key, t.columns, [[v if _typed(v) else _plain(v) for v in r]
                                          for r in values]),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _typed(v) -> bool:
    """Numbers and dates keep their type in XLSX."""
    return isinstance(v, int | float | date) and not isinstance(v, bool)


def _plain(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, date):
        return v.isoformat()
    return v


# --- drill-down lists -----------------------------------------------------------------------------

# Complexity: one sentence per filter of the criteria; a flat list of optional parts.
def describe(c: dashboard.Criteria, groups, bands) -> list[str]:  # noqa: C901
    """Plain-English description of the criteria, for the list's heading."""
    out = [dashboard.COHORTS[c.cohort], f"{c.date_from:%-d %b %Y} – {c.date_to:%-d %b %Y}"]
    names = {b.pk: b.name for b in bands}
    for k, v in c.dims:
        if k == "year_group":
            out.append(YEAR_LABELS.get(v, str(v)))
        elif k == "group":
            out.append(f"Class {groups[v].name}" if v in groups else "Class ?")
        elif k == "gender":
            out.append(GENDER_LABELS.get(v, v))
        elif k == "sen":
            out.append(SEN_LABELS.get(v, v))
        elif k == "band":
            out.append(f"Band {names.get(v, v)}")
        elif k == "ethnicity":
            out.append(f"Ethnicity {Ethnicity(v).label} ({v})")
        else:
            label = {"pp": "Pupil premium", "fsm": "FSM", "eal": "EAL", "lac": "LAC"}[k]
            out.append(label if v else f"Not {label}")
    if c.dow:
        out.append(f"{dashboard.WEEKDAYS[c.dow]}s only")
    if c.session:
        out.append(f"{c.session} sessions only")
    if c.code:
        out.append(f"Code {c.code}")
    if c.measure:
        out.append(dashboard.MEASURES[c.measure])
    return out


def _pupil_table(rows, bands, *, safeguarding: bool) -> Table:
    """The pupils behind a figure, for staff who may read their records; child-protection
    details only for SAFEGUARDING_READERS (others see the neutral marker)."""
    names = {b.pk: b.name for b in bands}
    t = Table("pupils", "Pupils", ["Pupil", "UPN", "Year", "Class", "Flags", "Possible",
                                   "Attendance", "Authorised", "Unauthorised", "L", "U",
                                   "Minutes late", "Broken weeks", "Band"])
    for r in rows:
        p, s = r.pupil, r.stats
        t.rows.append([Cell(f"{p.surname}, {p.forename}", href=reverse("pupil_detail", args=[p.pk])),
                       Cell(p.upn), Cell(YEAR_LABELS.get(p.year_group, p.year_group)),
                       Cell(p.registration_group.name),
                       Cell(" ".join(p.safeguarding_flags if safeguarding else p.flags)),
                       Cell(s.possible),
                       pct_cell(s.attendance_pct, cls="text-danger fw-bold"
                                if s.persistent else ""),
                       Cell(s.authorised), Cell(s.unauthorised),
                       Cell(s.late_before_close), Cell(s.late_after_close),
                       Cell(s.minutes_late), Cell(r.broken_weeks),
                       Cell(names.get(r.band_id, ""))])
    return t


@role_required(PUPIL_REPORT_READERS)
@bad_request_guard
def dashboard_pupils(request):
    """Pupil-level: never for figures-only viewers (governors, trust directors), who get 403
    from the role check whatever the query asks for."""
    c = _criteria(request)
    bands = dashboard.active_bands()
    rows = dashboard.pupil_rows(c, bands=bands)
    t = _pupil_table(rows, bands, safeguarding=bool(request.roles & SAFEGUARDING_READERS))
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(t, fmt, f"{request.tenant.schema_name}-pupils")
    groups = dashboard.RegistrationGroup.objects.in_bulk() if "group" in dict(c.dims) else {}
    query = urlencode(c.query())
    return render(request, "dashboards/pupils.html", {
        "t": t, "c": c, "description": describe(c, groups, bands),
        "query": query, "back": f"{reverse('dashboard')}?{urlencode(_base_query(c))}"})


def _base_query(c: dashboard.Criteria) -> dict:
    return {"from": c.date_from.isoformat(), "to": c.date_to.isoformat(), "cohort": c.cohort}


TODAY_STATES = {"present": "Present or attending approved activity",
                "with_reason": "Absent with a reason",
                "no_reason": "Absent, no reason yet (N)", "unmarked": "Not marked yet",
                "authorised": "Authorised absence", "unauthorised": "Unauthorised absence"}


@role_required(PUPIL_REPORT_READERS)
@bad_request_guard
def dashboard_today(request):
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") \
            else timezone.localdate()
    except ValueError as exc:
        raise BadRequest("bad date") from exc
    state = request.GET.get("state", "")
    session = request.GET.get("session") or None
    if state not in TODAY_STATES or session not in (None, "AM", "PM"):
        raise BadRequest("unknown state or session")
    if state == "with_reason":
        pupils = [p for st in ("authorised", "unauthorised")
                  for p in dashboard.today_pupils(day, st, session)]
        no_reason = {p.pk for p in dashboard.today_pupils(day, "no_reason", session)}
        pupils = sorted({p.pk: p for p in pupils if p.pk not in no_reason}.values(),
                        key=lambda p: (p.registration_group.name, p.legal_surname))
    else:
        pupils = dashboard.today_pupils(day, state, session)
    t = Table("today_pupils", "Pupils", ["Pupil", "Class"])
    for p in pupils:
        t.rows.append([Cell(f"{p.surname}, {p.forename}", href=reverse("pupil_detail", args=[p.pk])),
                       Cell(p.registration_group.name)])
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(t, fmt, f"{request.tenant.schema_name}-today")
    return render(request, "dashboards/pupils.html", {
        "t": t, "query": urlencode(request.GET),
        "description": [f"{day:%A %-d %B %Y}", session or "AM and PM", TODAY_STATES[state]],
        "back": reverse("dashboard")})


# --- half-termly QA report (LAP annex 4a) -----------------------------------------------------------

QA_GROUPS = [("All pupils", None), ("Pupil premium", ("pp", True)), ("SEND", "send"),
             ("EHC plan", ("sen", "E")), ("EAL", ("eal", True))]


def _qa_figures(roll: dashboard.Rollup, cohort: str) -> list[dashboard.Figures]:
    out = []
    for _, g in QA_GROUPS:
        if g is None:
            out.append(roll.total[cohort])
        elif g == "send":
            out.append(roll.get("sen", "K", cohort) + roll.get("sen", "E", cohort))
        else:
            out.append(roll.get(g[0], g[1], cohort))
    return out


def letters_impact(c: dashboard.Criteria, *, days: int = 28) -> dict | None:
    """Letters sent in the period: attendance in the 4 weeks before vs after each letter."""
    try:
        from letters.models import Letter
    except ImportError:  # pragma: no cover - the letters app is built separately
        return None
    sent = [Letter.Status.EMAILED, Letter.Status.PRINTED]
    rows = dashboard.letters_impact(c, letter_table=Letter._meta.db_table, statuses=sent,
                                    days=days)
    return rows


def _qa_rows(cols: dict) -> list[dict]:
    """One row per pupil group: each column's figures, the change on the same point last
    year and the year-to-date change."""
    rows = []
    for i, (label, _) in enumerate(QA_GROUPS):
        r = {k: v[i] for k, v in cols.items()}
        r["label"] = label
        a, b = r["this"].stats.attendance_pct, r["same"].stats.attendance_pct
        r["change"] = None if a is None or b is None else a - b
        a, b = r["ytd"].stats.attendance_pct, r["ytd_last"].stats.attendance_pct
        r["ytd_change"] = None if a is None or b is None else a - b
        rows.append(r)
    return rows


def _qa_context(request):
    c, request.criteria_error = _page_criteria(request)
    cohort = "csa"
    dims = ["pp", "sen", "eal"]
    this = dashboard.rollup(c, dims=dims, bands=[])
    same = dashboard.rollup(dashboard.same_point_last_year(c), dims=dims, bands=[])
    ytd_c = c.with_(date_from=school_year_start(c.date_to))
    ytd = dashboard.rollup(ytd_c, dims=dims, bands=[])
    ytd_last = dashboard.rollup(dashboard.same_point_last_year(ytd_c), dims=dims, bands=[])
    last_year = dashboard.rollup(dashboard.last_year_whole(c), dims=dims, bands=[])
    weeks = dashboard.patterns(c, kinds=("week",)).by["week"]
    pa_codes = dashboard.pupil_code_counts(c.with_(cohort=cohort, measure="pa"),
                                           ["G", "C2", "E", "I", "O", "N"])
    cols = {"this": _qa_figures(this, cohort), "same": _qa_figures(same, cohort),
            "ytd": _qa_figures(ytd, cohort), "ytd_last": _qa_figures(ytd_last, cohort),
            "last_year": _qa_figures(last_year, cohort),
            "this_all": _qa_figures(this, "all")}
    terms = CalendarEntry.objects.filter(kind="term").order_by("start_date")
    ctx = {
        "c": c, "rows": _qa_rows(cols), "weeks": sorted(weeks[cohort].items()),
        "weeks_all": weeks["all"], "same_c": dashboard.same_point_last_year(c),
        "ytd_c": ytd_c, "last_c": dashboard.last_year_whole(c), "pa_codes": pa_codes,
        "pa_total": this.total[cohort], "pa_pp": this.get("pp", True, cohort),
        "letters": letters_impact(c), "terms": terms, "school": request.tenant,
        "national": dashboard.NATIONAL_BENCHMARK, "generated": timezone.localtime(),
        "query": urlencode(c.query()),
    }
    if disclosure.figures_only(request.roles):
        _qa_protect(ctx, cols)
    return ctx


# Complexity: disclosure control of the QA report: each suppression rule is one branch.
def _qa_protect(ctx: dict, cols: dict) -> None:  # noqa: C901
    """The QA report for governors: the rules of ``registers.disclosure`` on every figure."""
    send, ehc = (i for i, (_, g) in enumerate(QA_GROUPS) if g in ("send", ("sen", "E")))
    for i, r in enumerate(ctx["rows"]):
        hidden_stats = set()
        for k, figs in cols.items():
            whole = figs[0]
            if i == 0:
                names = disclosure.figures_hidden(
                    whole, complement_of=cols["this"][0] if k == "this_all" else None)
            else:
                names = disclosure.figures_hidden(figs[i], whole=whole)
                if i == send:  # SEND minus EHC plan is SEN support
                    names |= disclosure.figures_hidden(figs[i], complement_of=figs[ehc])
            if "stats" in names:
                hidden_stats.add(k)
            r[k] = disclosure.Shown(figs[i], names)
        if hidden_stats & {"this", "same"}:
            r["change"] = None
        if hidden_stats & {"ytd", "ytd_last"}:
            r["ytd_change"] = None
    total, pp = ctx["pa_total"], ctx["pa_pp"]
    total_hidden = disclosure.figures_hidden(total)
    ctx["pa_total"] = disclosure.Shown(total, total_hidden)
    ctx["pa_pp"] = disclosure.Shown(pp, {"pa"} if disclosure.pair_hidden(pp.pa, total.pa) else ())
    if "stats" in total_hidden:
        ctx["weeks"] = []
    ctx["pa_codes"] = {code: ((disclosure.SUPPRESSED, disclosure.FEWER)
                              if disclosure.small(pupils) else (sessions, pupils))
                       for code, (sessions, pupils) in ctx["pa_codes"].items()}
    letters = ctx["letters"]
    if letters:
        for row in ([letters["total"]] if letters["total"] else []) + letters["templates"]:
            if row["letters"] and disclosure.small(row["pupils"]):
                for k in ("letters", "pupils", "measurable", "improved"):
                    row[k] = disclosure.text(row[k])
                for k in ("before_pct", "after_pct", "improved_pct"):
                    row[k] = disclosure.SUPPRESSED
            elif disclosure.pair_hidden(row["improved"], row["measurable"]):
                row["improved"], row["improved_pct"] = disclosure.text(row["improved"]), \
                    disclosure.SUPPRESSED


@role_required(ACCOUNT_MANAGERS)
def dashboard_targets(request):
    """The head sets the school's attendance target and enters the DfE's improvement target."""
    school = request.tenant
    form = SchoolTargetsForm(request.POST or None, initial={
        "attendance_target": school.attendance_target,
        "dfe_improvement_target": school.dfe_improvement_target})
    if request.method == "POST" and form.is_valid():
        school_targets_set(school=school, **form.cleaned_data)
        messages.success(request, "Targets saved.")
        return redirect("dashboard")
    return render(request, "dashboards/targets.html", {"form": form})


@role_required(REPORT_READERS)
@bad_request_guard
def qa_report(request):
    ctx = _qa_context(request)
    if request.GET.get("format") == "pdf":
        from letters.pdf import html_to_pdf

        html = render_to_string("dashboards/qa_print.html", ctx, request=request)
        pdf, _ = html_to_pdf(html, page_numbers="always")
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{request.tenant.schema_name}-qa-{ctx["c"].date_to}.pdf"')
        return response
    return render(request, "dashboards/qa.html", ctx)
