"""Exports of figures (README.md: export_stats)."""

import json
from datetime import date

from attendance_site.spreadsheet import csv_from_dicts

from .bands import active_bands, band_for
from .selectors import Stats, pupils_on_roll, stats_by_pupil

STATS_FIELDS = ["upn", "possible", "attended", "present", "aea", "authorised", "unauthorised",
                "not_possible", "late_before_close", "late_after_close", "attendance_pct",
                "absence_pct", "persistent", "severe", "band"]


def stats_rows(*, date_from: date, date_to: date) -> list[dict]:
    """One record per pupil on roll in the range: two queries whatever the school size."""
    pupils = pupils_on_roll(date_from, date_to)
    upns = dict(pupils.values_list("pk", "upn"))
    stats = stats_by_pupil(pupils=pupils, date_from=date_from, date_to=date_to)
    bands = active_bands()
    rows = []
    for pk, upn in sorted(upns.items(), key=lambda kv: kv[1]):
        s = stats.get(pk, Stats())
        d = s.as_dict()
        band = band_for(s.attendance_pct, bands)
        rows.append({"upn": upn, **{k: d[k] for k in STATS_FIELDS[1:-1]},
                     "band": band.name if band else None})
    return rows


def to_csv(rows: list[dict], fields: list[str]) -> str:
    """CSV of ``rows`` in ``fields`` order; no cell can become a spreadsheet formula."""
    return csv_from_dicts(rows, fields)


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=1, default=str) + "\n"
