"""Children not in school full time (issue 13 item 6): "one export (CSV and JSON, and a page
for the LA officer of that school) of pupils currently on part-time timetables or educated
off-site, with dates and reasons, ready for the section 38 registers when they start".

domain.md §1: the Children's Wellbeing and Schools Act 2026 "will have LAs keep registers of
children not in school full time, including part-time timetables and off-site education".
Banks Lane's policy: "In the case of pupils on part-time timetables, the Local Authority also
requires a part-time timetable Notification Form to be completed."
"""

import csv
import io
import json
from datetime import date

import pytest
from django.core.management import call_command

from letters import merge, presets
from letters.context import Bundle
from registers import arrangements, section38
from registers.arrangements import ProvisionDraft, TimetableDraft
from tests.conftest import client_for

TODAY = date(2026, 1, 6)


@pytest.fixture
def pupils(calendar, make_pupil, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a: TODAY)
    tom = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Tom",
                     legal_surname="Ash", date_of_birth=date(2017, 2, 1))
    kai = make_pupil(group="6C", year_group=6, admission=date(2025, 9, 1), legal_forename="Kai",
                     legal_surname="Birch", date_of_birth=date(2014, 4, 1))
    amy = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Amy",
                     legal_surname="Cole")
    ended = make_pupil(group="3B", admission=date(2025, 9, 1), legal_forename="Eve",
                       legal_surname="Dale")
    arrangements.part_time_record(pupil=tom, draft=TimetableDraft(
        start_date=date(2026, 1, 5), planned_end=date(2026, 2, 6),
        sessions=["MON-AM", "TUE-AM", "WED-AM"], reason="Reintegration after a long illness",
        parent_agreed_on=date(2026, 1, 2), review_dates=[date(2026, 1, 19)],
        la_notified_on=date(2026, 1, 5)), user=None)
    arrangements.offsite_record(pupil=kai, draft=ProvisionDraft(
        provider="Bridge PRU", provider_contact="Ms Reed 0161 000 0000", code="K",
        sessions=["THU-PM", "FRI-PM"], start_date=date(2025, 11, 3),
        reason="=HYPERLINK(\"x\") LA-arranged provision"), user=None)
    t, _ = arrangements.part_time_record(pupil=ended, draft=TimetableDraft(
        start_date=date(2025, 11, 3), planned_end=date(2025, 11, 28), sessions=["MON-AM"],
        reason="Short", parent_agreed_on=date(2025, 11, 1), review_dates=[date(2025, 11, 10)]),
        user=None)
    arrangements.part_time_end(timetable=t, on=date(2025, 11, 28))
    return {"tom": tom, "kai": kai, "amy": amy, "ended": ended}


def test_rows_list_current_part_time_and_off_site_only(pupils, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        rows = section38.not_full_time_rows(TODAY)
    assert [(r["legal_forename"], r["arrangement"], r["code"]) for r in rows] == [
        ("Tom", "part-time timetable", "C2"), ("Kai", "off-site provision", "K")]
    tom, kai = rows
    assert (tom["start_date"], tom["planned_end"], tom["sessions_per_week"],
            tom["la_notified_on"], tom["next_review"]) == (
        date(2026, 1, 5), date(2026, 2, 6), 3, date(2026, 1, 5), date(2026, 1, 19))
    assert (kai["provider"], kai["sessions_in_school_per_week"], kai["end_date"]) == (
        "Bridge PRU", 8, None)
    assert tom["compulsory_school_age"] == kai["compulsory_school_age"] == "yes"
    # Before Tom's timetable started, Eve's (still running) and Kai's; Eve's ended since.
    assert [r["legal_forename"] for r in section38.not_full_time_rows(date(2025, 11, 20))] == [
        "Kai", "Eve"]


def test_a_pupil_off_roll_is_not_listed(pupils):
    kai = pupils["kai"]
    kai.leaving_date, kai.deletion_ground = date(2026, 1, 5), "other_school"
    kai.save()
    assert [r["legal_forename"] for r in section38.not_full_time_rows(TODAY)] == ["Tom"]


def test_la_officer_page_and_downloads(pupils, people):
    c = client_for(people["la_officer"])
    page = c.get("/not-full-time/")
    assert page.status_code == 200
    assert b"Reintegration after a long illness" in page.content and b"Bridge PRU" in page.content
    csv_rows = list(csv.DictReader(io.StringIO(c.get("/not-full-time/export.csv").content.decode())))
    assert [r["upn"] for r in csv_rows] == [pupils["tom"].upn, pupils["kai"].upn]
    assert csv_rows[0]["planned_end"] == "2026-02-06" and csv_rows[0]["overrun"] == ""
    assert csv_rows[1]["reason"].startswith("'=HYPERLINK")  # formula-safe
    data = json.loads(c.get("/not-full-time/export.json").content)
    assert data["as_of"] == "2026-01-06" and data["school"] == "Test School A"
    assert [(r["legal_forename"], r["end_date"]) for r in data["children"]] == [
        ("Tom", None), ("Kai", None)]
    assert c.get("/not-full-time/export.xml").status_code == 404


@pytest.mark.parametrize("who, status", [("la_officer", 200), ("attendance_officer", 200),
                                         ("head", 200), ("office", 403), ("teacher", 403),
                                         ("governor", 403), ("parent", 403)])
def test_who_reads_it(pupils, people, who, status):
    assert client_for(people[who]).get("/not-full-time/").status_code == status


def test_management_command_json_and_csv(pupils, tmp_path):
    out = io.StringIO()
    call_command("export_not_full_time", "--schema", "test_a", "--as-of", "2026-01-06",
                 "--format", "json", stdout=out)
    assert [r["arrangement"] for r in json.loads(out.getvalue())["children"]] == [
        "part-time timetable", "off-site provision"]
    target = tmp_path / "nft.csv"
    call_command("export_not_full_time", "--schema", "test_a", "--as-of", "2025-12-01",
                 "--format", "csv", "--output", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["legal_forename"] for r in rows] == ["Kai"]
    assert list(rows[0]) == section38.FIELDS


def test_banks_lane_part_time_notification_renders_the_timetable(pupils):
    """Banks Lane's preset carries the LA notification form; it renders the pupil's timetable."""
    key, name, kind, body = next(t for t in presets.templates_for("bankslane")
                                 if t[0] == "part_time_notification")
    assert kind == "document" and "notification" in name.lower()
    tom = pupils["tom"]
    html = merge.render_body(merge.compile_body(merge.sanitise(body)),
                             Bundle.load([tom.pk], as_of=TODAY).context(tom.pk))
    for text in ("Part-time timetable notification", "Reintegration after a long illness",
                 "5 January 2026", "6 February 2026", "Monday AM, Tuesday AM, Wednesday AM",
                 "19 January 2026", "Agreed on 2 January 2026", tom.upn):
        assert text in html, text
    assert "part_time_notification" not in {t[0] for t in presets.templates_for("beecroft")}
