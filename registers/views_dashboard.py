"""School dashboard, drill-down lists, exports and the half-termly QA report (issue 6).

Thin views over ``registers.dashboard``. Every figure is a table cell that links to the
pupils behind it; every table exports to CSV and XLSX from the same rows it displays.
Governors read aggregates and anonymised lists; trust directors read names but no pupil
records; safeguarding flags are only for staff who may read pupil records (PUPIL_READERS).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenants.access import role_required
from tenants.roles import PUPIL_READERS, REPORT_READERS, Role

from . import codes, dashboard
from .calendar import latest_open_day
from .models import DSL_MARKER, YEAR_GROUPS, CalendarEntry, Pupil
from .school_year import school_year_start
from .selectors import Stats

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


def pct_cell(value: float | None, href: str | None = None, cls: str = "") -> Cell:
    # One decimal place for display; the unrounded value goes into exports.
    return Cell(value, "–" if value is None else f"{value:.1f}%", href, cls)


def gap_cell(a: float | None, b: float | None) -> Cell:
    if a is None or b is None:
        return Cell(None)
    gap = a - b
    return Cell(gap, f"{gap:+.1f} pts", cls="text-danger" if gap < -0.05 else "")


def _viewer(request) -> dict:
    roles = request.roles
    staff = bool(roles & PUPIL_READERS)
    return {"names": staff or Role.TRUST_DIRECTOR in roles, "records": staff,
            "safeguarding": staff, "governor_only": not staff and Role.TRUST_DIRECTOR not in roles}


class BadRequest(Exception):
    """A malformed query string (dates, cohort, filters): answered with 400."""


def _criteria(request) -> dashboard.Criteria:
    try:
        return dashboard.criteria_from_query(request.GET, today=timezone.localdate())
    except (ValueError, KeyError) as exc:
        raise BadRequest(str(exc)) from exc


def bad_request_guard(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return HttpResponseBadRequest(f"Bad request: {exc}")
    return wrapped


class Links:
    """URLs of drill-down lists for a base criteria."""

    def __init__(self, base: dashboard.Criteria):
        self.base = base
        self.url = reverse("dashboard_pupils")

    def __call__(self, *, dims: dict | None = None, **kw) -> str:
        c = self.base.with_(**kw)
        if dims is not None:
            c = c.with_(dims=tuple(dims.items()))
        return f"{self.url}?{urlencode(c.query())}"


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


def headline_table(roll: dashboard.Rollup, link: Links) -> Table:
    t = Table("headline", "Year to date", ["Measure", dashboard.COHORTS["csa"],
                                           dashboard.COHORTS["all"]])
    cols = [("csa", Links(link.base.with_(cohort="csa"))), ("all", Links(link.base.with_(cohort="all")))]

    def row(label, fn):
        t.rows.append([Cell(label)] + [fn(roll.total[c], lk) for c, lk in cols])

    row("Pupils on roll", lambda f, lk: Cell(f.pupils, href=lk()))
    row("Possible sessions", lambda f, lk: Cell(f.stats.possible))
    row("Attendance", lambda f, lk: pct_cell(f.stats.attendance_pct, lk(measure="absent")))
    row("Authorised absence", lambda f, lk: pct_cell(f.stats.authorised_pct,
                                                     lk(measure="authorised")))
    row("Unauthorised absence", lambda f, lk: pct_cell(f.stats.unauthorised_pct,
                                                       lk(measure="unauthorised")))
    row("Persistent absence (PA, ≥10%)", lambda f, lk: Cell(
        f.pa, f"PA: {f.pa} pupils ({_pct_text(f.pa_pct)})", lk(measure="pa")))
    row("Severe absence (SA, ≥50%)", lambda f, lk: Cell(
        f.sa, f"SA: {f.sa} pupils ({_pct_text(f.sa_pct)})", lk(measure="sa")))
    row("Broken weeks (pupil-weeks with an absence)", lambda f, lk: Cell(
        f.broken_weeks, f"{f.broken_weeks} ({f.pupils_broken} pupils)", lk(measure="broken")))
    row("Late before register closed (L)", lambda f, lk: Cell(
        f.stats.late_before_close, href=lk(code="L", measure="marked")))
    row("Late after register closed (U)", lambda f, lk: Cell(
        f.stats.late_after_close, href=lk(code="U", measure="marked")))
    row("Minutes late", lambda f, lk: Cell(f.stats.minutes_late, href=lk(measure="late")))
    return t


def _pct_text(v):
    return "–" if v is None else f"{v:.1f}%"


def bands_table(roll: dashboard.Rollup, bands, link: Links) -> Table:
    t = Table("bands", "Pupils per band", ["Band", dashboard.COHORTS["csa"],
                                           dashboard.COHORTS["all"]])
    for b in bands:
        t.rows.append([Cell(b.name, colour=b.colour)] + [
            Cell(roll.get("band", b.pk, c).pupils,
                 href=Links(link.base.with_(cohort=c))(dims={"band": b.pk}))
            for c in ("csa", "all")])
    if not bands:
        t.note = "No attendance bands are configured for this school."
        return t
    none = [roll.get("band", None, c).pupils for c in ("csa", "all")]
    if any(none):
        t.rows.append([Cell("No possible sessions yet")] + [Cell(n) for n in none])
    return t


def dimension_table(key: str, title: str, roll: dashboard.Rollup, link: Links, labels,
                    cohort: str) -> Table:
    first = {"year_groups": "Year group", "classes": "Class"}[key]
    t = Table(key, title, [first] + FIGURE_COLUMNS[1:] + ["Gap to the rest"])
    dim = {"year_groups": "year_group", "classes": "group"}[key]
    values = roll.by[dim][cohort]
    for value in sorted(values, key=lambda v: labels(v)[0]):
        f = values[value]
        t.rows.append(_figure_row(labels(value)[1], f, link, {dim: value},
                                  roll.rest(dim, value, cohort)))
    return t


def groups_table(roll: dashboard.Rollup, link: Links, cohort: str, viewer: dict) -> Table:
    t = Table("pupil_groups", "Pupil groups compared with the rest",
              ["Group", "Pupils", "Attendance", "The rest", "Gap", "Unauthorised",
               "PA pupils", "PA rate", "PA rate of the rest", "SA pupils"])
    for dim, value, label in dashboard.PUPIL_GROUPS:
        f, rest = roll.get(dim, value, cohort), roll.rest(dim, value, cohort)
        can_list = viewer["safeguarding"] or dim not in dashboard.SAFEGUARDING_DIMS
        lk = link if can_list else (lambda **kw: None)
        d = {dim: value}
        t.rows.append([Cell(label, href=lk(dims=d)), Cell(f.pupils, href=lk(dims=d)),
                       pct_cell(f.stats.attendance_pct, lk(dims=d, measure="absent")),
                       pct_cell(rest.stats.attendance_pct),
                       gap_cell(f.stats.attendance_pct, rest.stats.attendance_pct),
                       pct_cell(f.stats.unauthorised_pct, lk(dims=d, measure="unauthorised")),
                       Cell(f.pa, href=lk(dims=d, measure="pa")), pct_cell(f.pa_pct),
                       pct_cell(rest.pa_pct), Cell(f.sa, href=lk(dims=d, measure="sa"))])
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


def codes_table(p: dashboard.Patterns, link: Links, cohort: str, possible: int) -> Table:
    t = Table("codes", "Code usage", ["Code", "Meaning", "Category", "Sessions",
                                      "% of possible sessions"])
    counts = p.code_counts[cohort]
    for code in sorted(counts, key=lambda c: -counts[c]):
        info = codes.CODES.get(code)
        n = counts[code]
        t.rows.append([Cell(code, href=link(code=code, measure="marked")),
                       Cell(info.meaning if info else code), Cell(info.category if info else ""),
                       Cell(n, href=link(code=code, measure="marked")),
                       pct_cell(n * 100.0 / possible if possible else None)])
    return t


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


def trophy_table(d: dashboard.SchoolDashboard) -> Table:
    t = Table("trophy", "Class of the week (100% attendance)",
              ["Week commencing", "Classes with 100%", "Best class", "Best attendance"])
    for wk in sorted(d.trophy_weeks, reverse=True):
        rows = d.trophy_weeks[wk]
        winners = [d.groups[g].name for g in dashboard.classes_at_100(rows) if g in d.groups]
        best_gid, best = rows[0] if rows else (None, Stats())
        t.rows.append([Cell(wk, wk.strftime("%-d %b %Y")),
                       Cell(", ".join(winners) or "none", cls="fw-bold" if winners else ""),
                       Cell(d.groups[best_gid].name if best_gid in d.groups else "–"),
                       pct_cell(best.attendance_pct)])
    return t


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


# --- views ---------------------------------------------------------------------------------------

def _build(request):
    c = _criteria(request)
    day = latest_open_day(min(c.date_to, timezone.localdate())) or c.date_to
    d = dashboard.school_dashboard_cached(c, day=day)
    viewer = _viewer(request)
    link = Links(c)
    labels_y = lambda v: (v, YEAR_LABELS.get(v, str(v)))  # noqa: E731
    labels_g = lambda v: ((d.groups[v].year_group, d.groups[v].name) if v in d.groups  # noqa: E731
                          else (99, str(v)))
    tables = {
        "headline": headline_table(d.rollup, link),
        "today": today_table(d, viewer, school=request.tenant),
        "bands": bands_table(d.rollup, d.bands, link),
        "year_groups": dimension_table("year_groups", "Year groups", d.rollup, link, labels_y,
                                       c.cohort),
        "classes": dimension_table("classes", "Classes", d.rollup, link, labels_g, c.cohort),
        "pupil_groups": groups_table(d.rollup, link, c.cohort, viewer),
        "weekdays": weekday_table(d.patterns, link, c.cohort),
        "sessions": session_table(d.patterns, link, c.cohort),
        "codes": codes_table(d.patterns, link, c.cohort, d.rollup.total[c.cohort].stats.possible),
        "trophy": trophy_table(d),
    }
    tables["weekly"], chart = weekly_table(d, link, float(request.tenant.attendance_target))
    return c, d, tables, chart, viewer


@role_required(REPORT_READERS)
@bad_request_guard
def school_dashboard(request):
    c, d, tables, chart, viewer = _build(request)
    head = d.rollup.total["csa"]
    head_all = d.rollup.total["all"]
    target = float(request.tenant.attendance_target)
    la = dashboard.LA_BENCHMARKS.get(request.tenant.la_name)
    weekly = d.patterns.by["week"][c.cohort]
    recent = sorted(weekly.items())
    last4 = sum((s for _, s in recent[-4:]), Stats())
    prev4 = sum((s for _, s in recent[-8:-4]), Stats())
    return render(request, "dashboards/school.html", {
        "c": c, "d": d, "t": tables, "chart": chart, "viewer": viewer,
        "head": head, "head_all": head_all, "target": target,
        "national": dashboard.NATIONAL_BENCHMARK, "la": la,
        "last4": last4, "prev4": prev4, "cohorts": dashboard.COHORTS,
        "query": urlencode(c.query()),
        "year_bars": bars(tables["year_groups"], 2), "day_bars": bars(tables["weekdays"], 2),
        "pa_link": Links(c.with_(cohort="csa"))(measure="pa"),
        "sa_link": Links(c.with_(cohort="csa"))(measure="sa"),
        "cohort_label": dashboard.COHORTS[c.cohort],
        "export_base": reverse("dashboard") + "export/",
        "trust_url": _trust_url(request),
    })


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
    header = t.columns
    rows = [[cell.value for cell in r] for r in t.rows + t.foot]
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows([[_plain(v) for v in r] for r in rows])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = t.key[:31]
        ws.append(header)
        for r in rows:
            ws.append([_plain(v) if not isinstance(v, int | float | date) or isinstance(v, bool)
                       else v for v in r])
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(
            buf.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _plain(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, date):
        return v.isoformat()
    return v


# --- drill-down lists -----------------------------------------------------------------------------

def describe(c: dashboard.Criteria, groups, bands) -> list[str]:
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


SAFEGUARDING_FLAGS = {"CP", "SW", DSL_MARKER, "LAC", "YC", "Medical"}


def _pupil_table(rows, viewer: dict, bands) -> Table:
    names = {b.pk: b.name for b in bands}
    t = Table("pupils", "Pupils", ["Pupil", "UPN", "Year", "Class", "Flags", "Possible",
                                   "Attendance", "Authorised", "Unauthorised", "L", "U",
                                   "Minutes late", "Broken weeks", "Band"])
    if not viewer["names"]:
        t.columns[0:2] = ["Pupil (anonymised)", "Ref"]
    for i, r in enumerate(rows, start=1):
        p, s = r.pupil, r.stats
        if viewer["names"]:
            who = [Cell(f"{p.surname}, {p.forename}",
                        href=reverse("pupil_detail", args=[p.pk]) if viewer["records"] else None),
                   Cell(p.upn)]
        else:
            who = [Cell(f"{p.forename[:1]}{p.surname[:1]}"), Cell(i)]
        flags = p.safeguarding_flags if viewer["safeguarding"] else [
            f for f in p.flags if f not in SAFEGUARDING_FLAGS]
        if viewer["governor_only"]:
            flags = []
        t.rows.append(who + [Cell(YEAR_LABELS.get(p.year_group, p.year_group)),
                             Cell(p.registration_group.name), Cell(" ".join(flags)),
                             Cell(s.possible),
                             pct_cell(s.attendance_pct, cls="text-danger fw-bold"
                                      if s.persistent else ""),
                             Cell(s.authorised), Cell(s.unauthorised),
                             Cell(s.late_before_close), Cell(s.late_after_close),
                             Cell(s.minutes_late), Cell(r.broken_weeks),
                             Cell(names.get(r.band_id, ""))])
    return t


@role_required(REPORT_READERS)
@bad_request_guard
def dashboard_pupils(request):
    c = _criteria(request)
    viewer = _viewer(request)
    if not viewer["safeguarding"] and any(k in dashboard.SAFEGUARDING_DIMS for k, _ in c.dims):
        raise PermissionDenied
    bands = dashboard.active_bands()
    rows = dashboard.pupil_rows(c, bands=bands)
    t = _pupil_table(rows, viewer, bands)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(t, fmt, f"{request.tenant.schema_name}-pupils")
    groups = {g.pk: g for g in dashboard.RegistrationGroup.objects.all()}
    query = urlencode(c.query())
    return render(request, "dashboards/pupils.html", {
        "t": t, "c": c, "viewer": viewer, "description": describe(c, groups, bands),
        "query": query, "back": f"{reverse('dashboard')}?{urlencode(_base_query(c))}"})


def _base_query(c: dashboard.Criteria) -> dict:
    return {"from": c.date_from.isoformat(), "to": c.date_to.isoformat(), "cohort": c.cohort}


TODAY_STATES = {"present": "Present or attending approved activity",
                "with_reason": "Absent with a reason",
                "no_reason": "Absent, no reason yet (N)", "unmarked": "Not marked yet",
                "authorised": "Authorised absence", "unauthorised": "Unauthorised absence"}


@role_required(REPORT_READERS)
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
    viewer = _viewer(request)
    t = Table("today_pupils", "Pupils", ["Pupil", "Class"])
    for i, p in enumerate(pupils, start=1):
        who = (Cell(f"{p.surname}, {p.forename}", href=reverse("pupil_detail", args=[p.pk])
                    if viewer["records"] else None) if viewer["names"]
               else Cell(f"{p.forename[:1]}{p.surname[:1]} ({i})"))
        t.rows.append([who, Cell(p.registration_group.name)])
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(t, fmt, f"{request.tenant.schema_name}-today")
    return render(request, "dashboards/pupils.html", {
        "t": t, "viewer": viewer, "query": urlencode(request.GET),
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


def _qa_context(request):
    c = _criteria(request)
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
    rows = []
    for i, (label, _) in enumerate(QA_GROUPS):
        r = {k: v[i] for k, v in cols.items()}
        r["label"] = label
        a, b = r["this"].stats.attendance_pct, r["same"].stats.attendance_pct
        r["change"] = None if a is None or b is None else a - b
        a, b = r["ytd"].stats.attendance_pct, r["ytd_last"].stats.attendance_pct
        r["ytd_change"] = None if a is None or b is None else a - b
        rows.append(r)
    terms = CalendarEntry.objects.filter(kind="term").order_by("start_date")
    return {
        "c": c, "rows": rows, "weeks": sorted(weeks[cohort].items()),
        "weeks_all": weeks["all"], "same_c": dashboard.same_point_last_year(c),
        "ytd_c": ytd_c, "last_c": dashboard.last_year_whole(c), "pa_codes": pa_codes,
        "pa_total": this.total[cohort], "pa_pp": this.get("pp", True, cohort),
        "letters": letters_impact(c), "terms": terms, "school": request.tenant,
        "national": dashboard.NATIONAL_BENCHMARK, "generated": timezone.localtime(),
        "query": urlencode(c.query()),
    }


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
