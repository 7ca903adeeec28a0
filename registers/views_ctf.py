"""Common Transfer File pages (Data menu): upload a CTF, download one (registers/ctf.py)."""

import re

from django import forms
from django.contrib import messages
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenants.access import role_required
from tenants.roles import ADMIN_STAFF

from . import ctf
from .imports import ImportRejected
from .models import YEAR_GROUPS
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
                                    widget=forms.DateInput(attrs={"type": "date"}))
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
    form = CTFExportForm(request.POST or None)
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
                data = ctf.export_ctf(pupils, school=school, to_laestab=d["to_school"])
                response = HttpResponse(data, content_type="application/xml")
                name = f"CTF_{school.laestab}_{d['to_school']}.xml"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
    return render(request, "registers/ctf_export.html", {"form": form})
