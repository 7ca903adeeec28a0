"""The trust dashboard (issue 6): every school of a trust side by side on the same measures.

Served on the public host (``/trust/<slug>/``) because a trust spans schemas. Each school's
figures come from ``dashboards.figures.school_summary`` inside that school's schema: one
query per school. Only the trust's directors may open it; anyone else gets 404 ("not there"
and "not yours" look the same). It spans schools, so it is figures-only for every director
(registers.disclosure): no filters beyond period and cohort, small numbers suppressed.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django_tenants.utils import schema_context

from registers import disclosure
from tenants.models import Trust

from . import figures as dashboard
from .views import (
    Cell,
    Table,
    gap_cell,
    hidden_cell,
    pct_cell,
    protect,
    table_response,
)


def trust_for_request(request, slug: str) -> Trust:
    """The only way a view loads a trust: its directors only, 404 for everyone else."""
    trust = get_object_or_404(Trust, slug=slug)
    if not request.user.trust_memberships.filter(trust=trust).exists():
        raise Http404
    return trust


def _school_url(request, school, c: dashboard.Criteria) -> str:
    domain = next((d.domain for d in school.domains.all() if d.is_primary), None)
    if domain is None:
        return ""
    port = request.get_port()
    netloc = domain if port in ("80", "443") else f"{domain}:{port}"
    query = urlencode({"from": c.date_from.isoformat(), "to": c.date_to.isoformat()})
    return f"{request.scheme}://{netloc}/dashboard/?{query}"


def trust_figures(trust: Trust, c: dashboard.Criteria) -> list[dict]:
    """Per school: the summary rollup (one query in the school's schema)."""
    out = []
    for school in trust.schools.exclude(schema_name="public").prefetch_related("domains") \
            .order_by("name"):
        with schema_context(school.schema_name):
            roll = dashboard.school_summary_cached(c)
        out.append({"school": school, "roll": roll})
    return out


def _row(label: Cell, roll: dashboard.Rollup, target, rank) -> list[Cell]:
    f, a = roll.total["csa"], roll.total["all"]
    pp, rest = roll.get("pp", True), roll.rest("pp", True)
    nat = dashboard.NATIONAL_BENCHMARK["attendance_pct"]
    return [label, Cell(rank if rank else "", str(rank) if rank else ""), Cell(f.pupils),
            pct_cell(f.stats.attendance_pct), pct_cell(a.stats.attendance_pct),
            Cell(float(target) if target is not None else None,
                 f"{target:.1f}%" if target is not None else "–"),
            gap_cell(f.stats.attendance_pct, float(target) if target is not None else None),
            gap_cell(f.stats.attendance_pct, nat),
            pct_cell(f.stats.authorised_pct), pct_cell(f.stats.unauthorised_pct),
            Cell(f.pa), pct_cell(f.pa_pct), Cell(f.sa), pct_cell(f.sa_pct),
            pct_cell(pp.stats.attendance_pct),
            gap_cell(pp.stats.attendance_pct, rest.stats.attendance_pct),
            Cell(f.pupils_broken)]


def _protect_row(row: list[Cell], roll: dashboard.Rollup) -> list[Cell]:
    """Pupil premium against the rest and all pupils against CSA, as pairs (disclosure)."""
    f, a, pp = roll.total["csa"], roll.total["all"], roll.get("pp", True)
    hide = set()
    if "pupils" in disclosure.figures_hidden(pp, whole=f):
        hide |= {14, 15}
    if "stats" in disclosure.figures_hidden(a, complement_of=f):
        hide.add(4)
    return [hidden_cell(c) if j in hide else c for j, c in enumerate(row)]


# Pupil counts of the schools' rows (and the rates that hang on them), and every figure.
_COUNTS = {2: (), 10: (11,), 12: (13,), 16: ()}
_FIGURES = {2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}


COLUMNS = ["School", "Rank", "Pupils (CSA)", "Attendance (CSA)", "Attendance (all pupils)",
           "Target", "Gap to target", "Gap to national", "Authorised", "Unauthorised",
           "PA pupils", "PA rate", "SA pupils", "SA rate", "PP attendance", "PP gap to the rest",
           "Pupils with broken weeks"]


def trust_table(request, trust: Trust, rows: list[dict], c: dashboard.Criteria) -> Table:
    t = Table("schools", f"{trust.name}: schools side by side", list(COLUMNS))
    ranked = sorted(rows, key=lambda r: -(r["roll"].total["csa"].stats.attendance_pct or -1))
    for rank, r in enumerate(ranked, start=1):
        s = r["school"]
        label = Cell(s.name, href=_school_url(request, s, c) or None)
        t.rows.append(_protect_row(_row(label, r["roll"], s.attendance_target, rank), r["roll"]))
    if rows:
        total = dashboard.Rollup(criteria=c, total={
            k: sum((r["roll"].total[k] for r in rows), dashboard.Figures()) for k in ("csa", "all")},
            by={"pp": {k: {True: sum((r["roll"].get("pp", True, k) for r in rows),
                                     dashboard.Figures())} for k in ("csa", "all")}})
        t.foot.append(_protect_row(_row(Cell("Trust total"), total, None, None), total))
    return protect(t, population=2, counts=_COUNTS, figure_cols=_FIGURES)


def _trust_criteria(request):
    """The period asked for: (criteria, None), or (None, a 400 page) when even the default
    period cannot be read. Issue 17: a bad period is a form error on the same page, with the
    default period."""
    try:
        return dashboard.criteria_from_query(request.GET, today=timezone.localdate()), None
    except (ValueError, KeyError) as exc:
        rest = request.GET.copy()
        for k in ("from", "to", "cohort"):
            rest.pop(k, None)
        try:
            c = dashboard.criteria_from_query(rest, today=timezone.localdate())
        except (ValueError, KeyError):
            from attendance_site.errors import BadInput, bad_request

            return None, bad_request(request, BadInput(f"Bad request: {exc}"))
        request.GET = rest
        message = str(exc)
        request.criteria_error = f"{message[:1].upper()}{message[1:]}: showing the default period instead."
        return c, None


def trust_dashboard(request, slug):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    trust = trust_for_request(request, slug)
    c, response = _trust_criteria(request)
    if response is not None:
        return response
    if c.filtered or disclosure.asks_for_safeguarding(request.GET):  # e.g. ?lac=1
        raise PermissionDenied
    compare = request.GET.getlist("school")
    rows = trust_figures(trust, c)
    shown = [r for r in rows if r["school"].schema_name in compare] if compare else rows
    t = trust_table(request, trust, shown, c)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return table_response(t, fmt, f"{trust.slug}-schools-{c.date_to}")
    la = {r["school"].la_name: bench for r in rows
          if (bench := dashboard.LA_BENCHMARKS.get(r["school"].la_name))}
    return render(request, "tenants/trust_dashboard.html", {
        "trust": trust, "t": t, "c": c, "rows": rows, "compare": compare,
        "national": dashboard.NATIONAL_BENCHMARK, "la": la,
        "query": urlencode([(k, v) for k in request.GET for v in request.GET.getlist(k)
                            if k != "format"]),
        "bars": [{"label": row[0].text, "value": row[3].value, "text": row[3].text,
                  "href": row[0].href} for row in t.rows if isinstance(row[3].value, float)],
        "today": date.today(),
    })
