"""Data in and out (Data menu): upload a CTF, download one (registers/ctf.py), and the
head's download of every record (registers/export_all.py)."""

import re
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path

from django import forms
from django.contrib import messages
from django.db import connection
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tenants.access import role_required
from tenants.roles import ADMIN_STAFF, Role

from . import census, ctf, dfe
from .export_all import export_all
from .imports import ImportRejected
from .models import YEAR_GROUPS, DailyExtract
from .views import acting_role

MAX_CTF_BYTES = 50 * 1024 * 1024


class CTFUploadForm(forms.Form):
    file = forms.FileField(help_text="A Common Transfer File (.xml) from another school or "
                                     "your MIS.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_CTF_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB.")
        if not f.name.lower().endswith(".xml"):
            raise forms.ValidationError("Upload a .xml file.")
        return f


class CTFExportForm(forms.Form):
    upns = forms.CharField(label="UPNs", required=False,
                           help_text="One or more, separated by spaces or commas.")
    year_group = forms.TypedChoiceField(choices=[("", "—")] + YEAR_GROUPS, coerce=int,
                                        empty_value=None, required=False,
                                        help_text="Every pupil on roll in the year group.")
    leavers_since = forms.DateField(required=False, help_text="Pupils who left on or after.",
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    to_school = forms.CharField(label="Destination LAESTAB", max_length=7,
                                help_text="7 digits: LA number and establishment number.")

    def clean_to_school(self):
        value = self.cleaned_data["to_school"].strip()
        if not re.fullmatch(r"\d{7}", value):
            raise forms.ValidationError("A LAESTAB is 7 digits.")
        return value

    def clean(self):
        data = super().clean()
        chosen = [k for k in ("upns", "year_group", "leavers_since")
                  if data.get(k) not in (None, "")]
        if len(chosen) != 1:
            raise forms.ValidationError("Choose exactly one of: UPNs, a year group, "
                                        "leavers since a date.")
        return data


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def ctf_import(request):
    form = CTFUploadForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            result = ctf.import_ctf(form.cleaned_data["file"].read(), school=connection.tenant,
                                    user=request.user, role=acting_role(request))
        except ImportRejected as exc:
            problems = exc.errors
            messages.error(request, f"Nothing was imported: {len(problems)} problem(s) found.")
        else:
            messages.success(request, f"CTF imported: {result.created} new pupil(s), "
                                      f"{result.updated} updated; " + "; ".join(result.notes))
            return redirect("ctf_import")
    return render(request, "registers/ctf_import.html", {"form": form, "problems": problems})


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def ctf_export(request):
    """POST returns the file (nothing is changed); GET shows the form."""
    school = connection.tenant
    form = CTFExportForm(request.POST or None, initial={"upns": request.GET.get("upns", "")[:200]})
    if request.method == "POST" and form.is_valid():
        if not school.laestab:
            form.add_error(None, "This school has no LA number and establishment number: "
                                 "ask the administrator to set them before sending a CTF.")
        else:
            d = form.cleaned_data
            upns = re.split(r"[\s,]+", d["upns"].strip()) if d["upns"] else None
            try:
                pupils = ctf.pupils_for_export(upns=upns, year_group=d["year_group"],
                                               leavers_since=d["leavers_since"])
            except ValueError as exc:
                form.add_error("upns", str(exc))
            else:
                if not pupils.exists():
                    form.add_error(None, "No pupil matches: nothing to send.")
                    return render(request, "registers/ctf_export.html", {"form": form})
                data = ctf.export_ctf(pupils, school=school, to_laestab=d["to_school"])
                response = HttpResponse(data, content_type="application/xml")
                name = f"CTF_{school.laestab}_{d['to_school']}.xml"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
    return render(request, "registers/ctf_export.html", {"form": form})


@role_required({Role.HEAD})
@require_http_methods(["GET", "POST"])
def export_all_download(request):
    """The head takes every record of the school away as one zip (registers/export_all.py)."""
    if request.method == "GET":
        return render(request, "registers/export_all.html")
    school = connection.tenant
    now = timezone.now()
    archive = tempfile.TemporaryFile()
    with tempfile.TemporaryDirectory() as tmp:
        export_all(Path(tmp), school=school, now=now)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(tmp).as_posix())
    archive.seek(0)
    name = f"{school.schema_name}-export-{now:%Y-%m-%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=name,
                        content_type="application/zip")


def _census_chosen(params) -> tuple[str, int]:
    """The census and year asked for (?census=&year=), else the one the school is preparing."""
    default = census.census_preparing(timezone.localdate())
    name = params.get("census", default[0])
    year = params.get("year", str(default[1]))
    if name not in census.CENSUSES or not (year.isascii() and year.isdigit()
                                           and 2000 <= int(year) <= 2100):
        name, year = default
    return name, int(year)


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def census_page(request):
    """The census the school is preparing (or ?census=&year=): figures, downloads
    (?format=csv|xml), "record as sent" (POST) and the pupils changed since."""
    name, year = _census_chosen(request.POST if request.method == "POST" else request.GET)
    if request.method == "POST":
        census.census_take(name, year, user=request.user)
        messages.success(request, f"The {name} census {year} figures are recorded as sent.")
        return redirect(f"{request.path}?census={name}&year={year}")
    rows = census.census_rows(name, year)
    fmt = request.GET.get("format")
    if fmt == "csv":
        response = HttpResponse(census.census_csv(rows), content_type="text/csv; charset=utf-8")
    elif fmt == "xml":
        response = HttpResponse(census.census_xml(rows, name, year),
                                content_type="application/xml")
    else:
        last, changes = census.census_changes(name, year)
        date_from, date_to = census.census_period(name, year)
        return render(request, "registers/census.html", {
            "census": name, "year": year, "date_from": date_from, "date_to": date_to,
            "rows": rows, "last": last, "changes": changes, "censuses": census.CENSUSES,
            "totals": [sum(getattr(r, f) for r in rows)
                       for f in ("possible", "authorised", "unauthorised")]})
    response["Content-Disposition"] = f'attachment; filename="census_{name}_{year}.{fmt}"'
    return response


def _iso_or(value: str | None, default):
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def dfe_page(request):
    """The DfE's daily data: a week's reconciliation, a day's extract on demand
    (?day=&format=csv|json) and "write the day's extract now" (POST)."""
    today = timezone.localdate()
    if request.method == "POST":
        day = _iso_or(request.POST.get("day"), today)
        extract = dfe.extract_write(day)
        if extract is None:
            messages.error(request, f"{day:%-d %b %Y} is not a school session: nothing to send.")
        else:
            messages.success(request, f"Extract for {day:%-d %b %Y} written: {extract.rows} rows.")
        return redirect(f"{request.path}?week={day.isoformat()}")
    fmt = request.GET.get("format")
    if fmt in ("csv", "json") and request.GET.get("day"):
        day = _iso_or(request.GET.get("day"), today)
        rows = dfe.extract_rows(day)
        body, kind = ((dfe.extract_csv(rows), "text/csv; charset=utf-8") if fmt == "csv"
                      else (dfe.extract_json(rows), "application/json"))
        response = HttpResponse(body, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="dfe_{day.isoformat()}.{fmt}"'
        return response
    week = dfe.week_reconciliation(_iso_or(request.GET.get("week"), today))
    days = [week.monday + timedelta(days=i) for i in range(5)]
    extracts = {e.day: e for e in DailyExtract.objects.filter(day__in=days).order_by("written_at")}
    return render(request, "registers/dfe.html", {
        "week": week, "days": [(d, extracts.get(d)) for d in days],
        "previous": week.monday - timedelta(days=7), "next": week.monday + timedelta(days=7)})
