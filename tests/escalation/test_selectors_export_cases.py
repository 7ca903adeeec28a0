"""``export_cases`` (interfaces.md, issue 12): one record per case open at any time up to DATE,
as it stood on DATE, with its history and letters, in JSON and CSV."""

import csv
import io
import json
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from escalation import presets
from escalation.models import Case, Meeting
from escalation.services import case_close, case_hold
from letters.models import Letter
from tests.escalation.helpers import put_through
from tests.escalation.test_nightly_ladder import run_fridays

START, END = date(2025, 9, 2), date(2025, 12, 19)
FIELDS = ["upn", "track", "stage_key", "stage_name", "status", "opened_on", "closed_on", "close_reason",
          "history", "letters"]


def export(as_of, fmt="json"):
    out = io.StringIO()
    call_command("export_cases", "--schema", "test_a", "--as-of", as_of, "--format", fmt, stdout=out)
    return out.getvalue()


def at(day: date):
    return timezone.make_aware(datetime(day.year, day.month, day.day, 10, 0))


@pytest.fixture
def falling(two_years, pupil):
    """A LAP pupil who climbs Letter 1 (3 Oct), Letter 2 (14 Nov), Letter 3 (12 Dec)."""
    presets.apply("lap")
    p = pupil()
    put_through(p, START, END, "/" * 20, "O")
    run_fridays(START, END)
    first = Letter.objects.get(pupil=p, template_key="lap_letter_1")
    first.status, first.emailed_at = Letter.Status.EMAILED, at(date(2025, 10, 6))
    first.save()
    meeting = Meeting.objects.get(case__pupil=p, kind="attendance_support")
    meeting.status, meeting.starts_at = Meeting.Status.HELD, at(date(2025, 11, 20))
    meeting.save()
    return p


def test_json_as_it_stood_on_the_date(falling):
    [rec] = [r for r in json.loads(export("2025-11-17")) if r["track"] == "attendance"]
    assert list(rec) == FIELDS
    assert rec | {"history": None, "letters": None} == {
        "upn": falling.upn, "track": "attendance", "stage_key": "lap-letter-2",
        "stage_name": "Letter 2: Facilitate and formalise (PA)", "status": "open", "opened_on": "2025-10-03",
        "closed_on": None, "close_reason": "", "history": None, "letters": None}
    assert rec["history"] == [
        {"date": "2025-10-03", "event": "opened", "stage_key": "lap-letter-1"},
        {"date": "2025-10-03", "event": "letter_queued", "stage_key": "lap-letter-1"},
        {"date": "2025-10-06", "event": "letter_sent", "stage_key": None},
        {"date": "2025-11-14", "event": "advanced", "stage_key": "lap-letter-2"},
        {"date": "2025-11-14", "event": "letter_queued", "stage_key": "lap-letter-2"},
    ]
    assert rec["letters"] == [
        {"template_key": "lap_letter_1", "queued_on": "2025-10-03", "sent_on": "2025-10-06",
         "status": "emailed"},
        {"template_key": "lap_letter_2", "queued_on": "2025-11-14", "sent_on": None, "status": "queued"},
    ]


def test_later_dates_show_later_steps_and_earlier_dates_leave_them_out(falling):
    [rec] = [r for r in json.loads(export("2025-12-19")) if r["track"] == "attendance"]
    assert rec["stage_key"] == "lap-letter-3"
    events = [(h["date"], h["event"]) for h in rec["history"]]
    assert ("2025-11-20", "meeting_held") in events and events[-1] == ("2025-12-12", "letter_queued")
    assert [h["date"] for h in rec["history"]] == sorted(h["date"] for h in rec["history"])
    # on 6 Oct the letter went, but an export dated 5 Oct shows it still waiting
    [early] = [r for r in json.loads(export("2025-10-05")) if r["track"] == "attendance"]
    assert early["letters"] == [{"template_key": "lap_letter_1", "queued_on": "2025-10-03", "sent_on": None,
                                 "status": "rendered"}]
    assert [r for r in json.loads(export("2025-10-02")) if r["track"] == "attendance"] == []


def test_held_closed_and_csv(falling, people):
    case = Case.objects.get(pupil=falling, track="attendance")
    case_hold(case=case, user=people["attendance_officer"], reason="In hospital")
    case_close(case=case, user=people["attendance_officer"], reason="=HYPERLINK(\"http://evil\")",
               night=date(2025, 12, 20))
    [rec] = [r for r in json.loads(export("2030-01-01")) if r["track"] == "attendance"]
    today = timezone.localdate().isoformat()
    assert rec["status"] == "closed" and rec["closed_on"] == "2025-12-20"
    assert [h["event"] for h in rec["history"]][-2:] == ["held", "closed"]
    assert rec["history"][-2]["date"] == today
    rows = list(csv.reader(io.StringIO(export("2030-01-01", "csv"))))
    assert rows[0] == FIELDS
    row = next(dict(zip(FIELDS, r, strict=True)) for r in rows[1:] if r[1] == "attendance")
    assert row["close_reason"] == "'=HYPERLINK(\"http://evil\")"  # a spreadsheet will not run it
    assert json.loads(row["history"]) == rec["history"] and json.loads(row["letters"]) == rec["letters"]
    # before the hold, the same case was open
    [then] = [r for r in json.loads(export("2025-12-19")) if r["track"] == "attendance"]
    assert then["status"] == "open" and then["closed_on"] is None and then["close_reason"] == ""


def test_stepped_down_is_in_the_history(two_years, pupil):
    from tests.escalation.test_nightly_ladder import (
        test_recovery_steps_down_then_closes_with_recorded_reasons,
    )

    test_recovery_steps_down_then_closes_with_recorded_reasons(two_years, pupil)
    [rec] = json.loads(export("2026-02-13"))
    assert [(h["event"], h["stage_key"]) for h in rec["history"] if h["event"] != "letter_queued"] == [
        ("opened", "s1"), ("advanced", "s2"), ("stepped_down", "s1"), ("closed", "s1")]
    assert rec["status"] == "closed" and rec["close_reason"].startswith("Recovered from 'Letter'")
    assert {x["template_key"] for x in rec["letters"]} == {"l1", "well_done"}


@pytest.mark.parametrize("args,message", [
    (["--schema", "nope", "--as-of", "2025-10-01", "--format", "json"], "no school with schema 'nope'"),
    (["--schema", "test_a", "--as-of", "01/10/2025", "--format", "json"], "is not a date"),
    (["--schema", "test_a", "--as-of", "2025-10-01", "--format", "xml"], "invalid choice"),
])
def test_usage_errors_exit_2(school_a, args, message):
    with pytest.raises(CommandError, match=message) as exc:
        call_command("export_cases", *args)
    assert exc.value.returncode == 2 or "invalid choice" in message


def test_output_file(falling, tmp_path):
    target = tmp_path / "cases.json"
    call_command("export_cases", "--schema", "test_a", "--as-of", "2025-11-17", "--format", "json",
                 "--output", str(target))
    assert {r["upn"] for r in json.loads(target.read_text())} == {falling.upn}
