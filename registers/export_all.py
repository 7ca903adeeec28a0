"""Leave with your data: every record of a school as documented CSV files plus its files
(issue 16; README.md ``export_all``).

``calendar.csv``, ``pupils.csv``, ``contacts.csv`` and ``marks.csv`` are in the layouts that
``import_calendar``, ``import_pupils``, ``import_contacts`` and ``import_marks`` read, so a
school can be rebuilt from them. ``tables/<app>_<model>.csv`` holds every row of every
table of the school (amendments, absence reports, leave requests and decisions, cases and
their history, meetings, plans, letters, returns…) with every column, foreign keys as ids.
``files/`` holds every stored file (letters' PDFs, leave documents, photos) under its
stored name. Every CSV is written by attendance_site.spreadsheet (formula-safe).
"""

import json
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

from attendance_site.spreadsheet import csv_text

from .imports import CONTACT_OPTIONAL, CONTACT_REQUIRED, PUPIL_OPTIONAL, PUPIL_REQUIRED
from .models import CalendarEntry, Contact, Mark, Pupil

README = """Export of {school} made {when}.

calendar.csv  terms and closures (kind,start_date,end_date,label): import_calendar reads it
pupils.csv    the admission register: import_pupils reads it
contacts.csv  contacts in priority order: import_contacts reads it
marks.csv     every register mark (upn,date,session,code,minutes_late): import_marks reads it
tables/       every table of the school, one CSV each, every column; foreign keys are ids
files/        every stored file (letters' PDFs, leave documents, photos), by stored name

Text cells that begin with = + - @ carry a leading apostrophe so that no spreadsheet runs them.
"""

YEAR_CODE = {-2: "N1", -1: "N2", 0: "R"}


def _yn(value: bool) -> str:
    return "Y" if value else "N"


def _write(path: Path, header: list[str], rows) -> int:
    """Write one CSV through spreadsheet.csv_text; returns the number of rows."""
    counted = [0]

    def counting():
        for row in rows:
            counted[0] += 1
            yield row

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(header, counting()), encoding="utf-8", newline="")
    return counted[0]


def _pupil_rows():
    for p in Pupil.objects.select_related("registration_group").order_by("upn"):
        row = {f: getattr(p, f) for f in PUPIL_REQUIRED + PUPIL_OPTIONAL
               if f not in ("year_group", "registration_group")}
        row["year_group"] = YEAR_CODE.get(p.year_group, p.year_group)
        row["registration_group"] = p.registration_group.name
        yield [_yn(v) if isinstance(v, bool) else v
               for v in (row[f] for f in PUPIL_REQUIRED + PUPIL_OPTIONAL)]


def _contact_rows():
    columns = CONTACT_REQUIRED + CONTACT_OPTIONAL
    for c in Contact.objects.select_related("pupil").order_by("pupil__upn", "priority"):
        row = {f: getattr(c, f) for f in columns if f != "upn"}
        row["upn"] = c.pupil.upn
        yield [_yn(v) if isinstance(v, bool) else v for v in (row[f] for f in columns)]


def _table(model) -> tuple[list[str], object]:
    names = [f.attname for f in model._meta.concrete_fields]
    rows = model.objects.order_by("pk").values_list(*names).iterator(chunk_size=5000)
    return names, ([json.dumps(v, default=str) if isinstance(v, dict | list) else v for v in row]
                   for row in rows)


def _copy_files(objects, file_fields: list[str], output: Path) -> int:
    copied = 0
    for obj in objects.iterator(chunk_size=500):
        for f in file_fields:
            stored = getattr(obj, f)
            if not stored or not stored.name or ".." in Path(stored.name).parts \
                    or Path(stored.name).is_absolute():
                continue
            target = output / "files" / stored.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with stored.open("rb") as src:
                    target.write_bytes(src.read())
            except FileNotFoundError:
                continue  # a file lost from storage: the table row still names it
            copied += 1
    return copied


def export_all(output: Path, *, school, now) -> dict[str, int]:
    """Write the school's records under ``output``; returns rows (or files) per name."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    counts = {}
    counts["calendar.csv"] = _write(
        output / "calendar.csv", ["kind", "start_date", "end_date", "label"],
        CalendarEntry.objects.order_by("start_date", "kind").values_list(
            "kind", "start_date", "end_date", "label"))
    counts["pupils.csv"] = _write(output / "pupils.csv", PUPIL_REQUIRED + PUPIL_OPTIONAL,
                                  _pupil_rows())
    counts["contacts.csv"] = _write(output / "contacts.csv", CONTACT_REQUIRED + CONTACT_OPTIONAL,
                                    _contact_rows())
    counts["marks.csv"] = _write(
        output / "marks.csv", ["upn", "date", "session", "code", "minutes_late"],
        Mark.objects.order_by("pupil__upn", "date", "session").values_list(
            "pupil__upn", "date", "session", "code", "minutes_late").iterator(chunk_size=5000))
    files = 0
    for app in settings.TENANT_APPS:
        if app.startswith("django."):
            continue
        for model in apps.get_app_config(app.rsplit(".", 1)[-1]).get_models():
            name = f"tables/{model._meta.app_label}_{model._meta.model_name}.csv"
            header, rows = _table(model)
            counts[name] = _write(output / name, header, rows)
            file_fields = [f.name for f in model._meta.concrete_fields
                           if isinstance(f, models.FileField)]
            if file_fields:
                files += _copy_files(model.objects.only(*file_fields), file_fields, output)
    counts["files/"] = files
    (output / "README.txt").write_text(README.format(school=school.name, when=now.isoformat()),
                                       encoding="utf-8")
    return counts
