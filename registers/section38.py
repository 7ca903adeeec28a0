"""Children not in school full time (issue 13 item 6): one record per current part-time
timetable or off-site provision, ready for the registers local authorities will keep under
section 38 of the Children's Wellbeing and Schools Act 2026 (not yet commenced; domain.md §1).

Read-only: the same rows feed the page for the LA officer, the CSV and JSON downloads and
``manage.py export_not_full_time``."""

import json
from datetime import date

from attendance_site.spreadsheet import csv_from_dicts

from .arrangements import current_provisions, current_timetables, slots_text
from .school_year import csa_dob_bounds

FIELDS = ["upn", "legal_surname", "legal_forename", "date_of_birth", "year_group", "class",
          "compulsory_school_age", "arrangement", "code", "provider", "provider_contact",
          "start_date", "planned_end", "end_date", "sessions", "sessions_per_week",
          "sessions_in_school_per_week", "reason", "parent_agreed_on", "la_notified_on",
          "next_review", "overrun"]
PART_TIME, OFF_SITE = "part-time timetable", "off-site provision"
WEEK_SESSIONS = 10


def _pupil(p, today: date) -> dict:
    oldest, youngest = csa_dob_bounds(today)
    return {"upn": p.upn, "legal_surname": p.legal_surname, "legal_forename": p.legal_forename,
            "date_of_birth": p.date_of_birth, "year_group": p.get_year_group_display(),
            "class": p.registration_group.name,
            "compulsory_school_age": "yes" if oldest <= p.date_of_birth <= youngest else "no"}


def not_full_time_rows(today: date) -> list[dict]:
    """Pupils on roll today on a part-time timetable or at off-site provision: three queries."""
    rows = []
    for t in current_timetables(today):
        if not t.pupil.on_roll(today):
            continue
        due = [r.due for r in t.reviews.all() if r.done_on is None]
        rows.append(_pupil(t.pupil, today) | {
            "arrangement": PART_TIME, "code": "C2", "provider": "", "provider_contact": "",
            "start_date": t.start_date, "planned_end": t.planned_end, "end_date": t.ended_on,
            "sessions": slots_text(t.sessions), "sessions_per_week": len(t.sessions),
            "sessions_in_school_per_week": len(t.sessions), "reason": t.reason,
            "parent_agreed_on": t.parent_agreed_on, "la_notified_on": t.la_notified_on,
            "next_review": min(due) if due else None, "overrun": t.overrun(today)})
    for o in current_provisions(today):
        if not o.pupil.on_roll(today):
            continue
        rows.append(_pupil(o.pupil, today) | {
            "arrangement": OFF_SITE, "code": o.code, "provider": o.provider,
            "provider_contact": o.provider_contact, "start_date": o.start_date,
            "planned_end": None, "end_date": o.end_date, "sessions": slots_text(o.sessions),
            "sessions_per_week": len(o.sessions),
            "sessions_in_school_per_week": WEEK_SESSIONS - len(o.sessions), "reason": o.reason,
            "parent_agreed_on": None, "la_notified_on": None, "next_review": None,
            "overrun": False})
    rows.sort(key=lambda r: (r["legal_surname"], r["legal_forename"], r["upn"], r["arrangement"]))
    return rows


def as_records(rows: list[dict]) -> list[dict]:
    """For CSV and JSON: dates as ISO text, empty values as "" (CSV) or null (JSON)."""
    out = []
    for r in rows:
        rec = {}
        for k in FIELDS:
            v = r[k]
            rec[k] = v.isoformat() if isinstance(v, date) else v
        out.append(rec)
    return out


def csv_text(rows: list[dict]) -> str:
    """CSV through attendance_site.spreadsheet (formula-safe): yes / "" for flags."""
    return csv_from_dicts([{k: "" if v is None or v is False else "yes" if v is True else v
                            for k, v in r.items()} for r in as_records(rows)], FIELDS)


def json_text(rows: list[dict], *, school: str, as_of: date) -> str:
    return json.dumps({"school": school, "as_of": as_of.isoformat(),
                       "children": as_records(rows)}, indent=1) + "\n"
