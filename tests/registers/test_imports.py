"""Imports are atomic and report every bad row by line and field (interfaces.md)."""

import json
from datetime import date

import pytest
from django.core.management import call_command

from registers.imports import (
    ImportRejected,
    import_calendar,
    import_contacts,
    import_marks,
    import_pupils,
)
from registers.models import CalendarEntry, Mark, MarkAmendment, Pupil, SchoolDay
from tests.conftest import make_upn

PUPIL_HEADER = ("upn,legal_surname,legal_forename,date_of_birth,gender,year_group,"
                "registration_group,admission_date,preferred_forename,sen_status,pupil_premium\n")


def errors_of(func, data, **kw):
    with pytest.raises(ImportRejected) as exc:
        func(data, **kw)
    return [(e.line, e.field) for e in exc.value.errors], exc.value


def test_import_pupils_creates_then_updates(school_a):
    upn = make_upn()
    data = PUPIL_HEADER + f"{upn},Khan,Aisha,2018-05-02,F,2,2K,2022-09-01,Ash,K,Y\n"
    result = import_pupils(data)
    assert (result.created, result.updated) == (1, 0)
    pupil = Pupil.objects.get(upn=upn)
    assert (pupil.display_name, pupil.sen_status, pupil.pupil_premium) == ("Ash Khan", "K", True)
    assert pupil.registration_group.name == "2K" and pupil.year_group == 2
    result = import_pupils(data.replace(",K,Y", ",E,N"))
    assert (result.created, result.updated) == (0, 1)
    assert Pupil.objects.get(upn=upn).sen_status == "E"


def test_import_pupils_reports_every_bad_row_and_saves_nothing(school_a):
    good, dup = make_upn(), make_upn()
    bad_check = "A" + good[1:] if good[0] != "A" else "B" + good[1:]
    data = PUPIL_HEADER + "\n".join([
        f"{good},Ok,Pupil,2018-01-01,F,2,2K,2022-09-01,,N,N",
        f"{bad_check},Bad,Check,2018-01-01,F,2,2K,2022-09-01,,N,N",
        f"{dup},Bad,Date,2018-02-30,F,2,2K,2022-09-01,,N,N",
        f"{dup},Dup,Licate,2018-01-01,F,2,2K,2022-09-01,,N,N",
        f"{make_upn()},Bad,Year,2018-01-01,Q,9X,2K,2022-09-01,,Z,maybe",
    ]) + "\n"
    errs, exc = errors_of(import_pupils, data)
    assert (3, "upn") in errs
    assert (4, "date_of_birth") in errs
    assert (6, "gender") in errs and (6, "year_group") in errs
    assert (6, "sen_status") in errs and (6, "pupil_premium") in errs
    assert "check letter" in str(exc.errors[0])
    assert not Pupil.objects.exists()


def test_import_pupils_rejects_missing_columns(school_a):
    errs, _ = errors_of(import_pupils, "upn,legal_surname\n")
    assert (1, "legal_forename") in errs and (1, "admission_date") in errs


def test_duplicate_upn_in_file(school_a):
    upn = make_upn()
    row = f"{upn},A,B,2018-01-01,F,2,2K,2022-09-01,,N,N\n"
    errs, _ = errors_of(import_pupils, PUPIL_HEADER + row + row)
    assert errs == [(3, "upn")]


def test_import_calendar_builds_sessions_and_rejects_overlaps(school_a):
    result = import_calendar("kind,start_date,end_date,label\n"
                             "term,2025-09-01,2025-10-24,Autumn 1\n"
                             "closure,2025-09-01,2025-09-01,INSET\n"
                             "term,2025-11-03,2025-12-19,Autumn 2\n")
    assert SchoolDay.objects.filter(closed=False).count() == 39 + 35
    assert "74 school days" in result.notes[0]
    errs, _ = errors_of(import_calendar, "kind,start_date,end_date,label\n"
                                         "term,2026-01-05,2026-03-27,Spring\n"
                                         "term,2026-03-20,2026-04-30,Overlap\n"
                                         "closure,2026-08-03,2026-08-03,Outside\n"
                                         "holiday,2026-01-01,2026-01-02,Bad kind\n"
                                         "term,2026-05-10,2026-05-01,Backwards\n")
    assert errs == [(3, "start_date"), (4, "start_date"), (5, "kind"), (6, "end_date")]
    assert CalendarEntry.objects.count() == 3  # the old calendar is untouched


@pytest.fixture
def two_pupils(calendar, make_pupil):
    return (make_pupil(admission=date(2025, 9, 1)),
            make_pupil(admission=date(2025, 9, 1), leaving=date(2025, 9, 12)))


def test_import_marks_and_replace_with_amendment(two_pupils):
    a, _ = two_pupils
    data = ("upn,date,session,code,minutes_late\n"
            f"{a.upn},2025-09-02,AM,/,\n{a.upn},2025-09-02,PM,\\,\n{a.upn},2025-09-03,AM,L,7\n")
    result = import_marks(data)
    assert (result.created, result.updated) == (3, 0)
    assert Mark.objects.get(pupil=a, date="2025-09-03").minutes_late == 7
    assert Mark.objects.get(pupil=a, date="2025-09-02", session="PM").code == "\\"
    result = import_marks("upn,date,session,code\n"
                          f"{a.upn},2025-09-02,AM,I\n{a.upn},2025-09-02,PM,\\\n")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    amendment = MarkAmendment.objects.get()
    assert (amendment.original_code, amendment.new_code, amendment.reason) == ("/", "I", "import")


def test_import_marks_reports_every_bad_row_and_imports_nothing(two_pupils):
    a, leaver = two_pupils
    data = "upn,date,session,code\n" + "\n".join([
        f"{a.upn},2025-09-02,AM,/",          # good
        f"{a.upn},2025-09-01,AM,/",          # INSET day: not a session
        f"{a.upn},2025-09-06,AM,/",          # Saturday
        f"{a.upn},2025-09-02,XX,/",          # bad session
        f"{a.upn},2025-09-03,AM,H",          # pre-2024 code
        f"{a.upn},2025-09-03,PM,Q9",         # unknown code
        f"{leaver.upn},2025-09-15,AM,/",     # after leaving
        f"{make_upn()},2025-09-02,AM,/",     # no such pupil
        f"{a.upn},2025-09-02,AM,I",          # duplicate of line 2
        f"{a.upn},2025-13-02,AM,I",          # not a date
    ]) + "\n"
    errs, exc = errors_of(import_marks, data)
    assert errs == [(3, "date"), (4, "date"), (5, "session"), (6, "code"), (7, "code"),
                    (8, "date"), (9, "upn"), (10, "row"), (11, "date")]
    assert "--history" in str(exc.errors[3])
    assert not Mark.objects.exists()


def test_import_marks_refuses_later_days(two_pupils, clock):
    """registers.policy: a file cannot fill registers ahead of time."""
    a, _ = two_pupils
    clock(date(2025, 9, 3), 11, 0)
    data = ("upn,date,session,code\n"
            f"{a.upn},2025-09-03,AM,/\n{a.upn},2025-09-04,AM,I\n{a.upn},2025-09-04,PM,#\n")
    errs, exc = errors_of(import_marks, data)
    assert errs == [(3, "date"), (4, "date")] and "after today" in str(exc.errors[0])
    assert not Mark.objects.exists()


def test_legacy_codes_only_with_history(two_pupils):
    a, _ = two_pupils
    data = f"upn,date,session,code\n{a.upn},2025-09-03,AM,H\n"
    errors_of(import_marks, data)
    import_marks(data, history=True)
    assert Mark.objects.get().code == "C"


def test_commands_exit_1_and_name_file_line_and_field(two_pupils, tmp_path, capsys):
    a, _ = two_pupils
    path = tmp_path / "marks.csv"
    path.write_text(f"upn,date,session,code\n{a.upn},2025-09-02,AM,/\n{a.upn},2025-09-02,PM,ZZ\n")
    with pytest.raises(SystemExit) as exc:
        call_command("import_marks", "--schema", "test_a", str(path))
    assert exc.value.code == 1
    assert f"{path}: line 3, code:" in capsys.readouterr().err
    assert not Mark.objects.exists()


def test_export_stats_command(two_pupils, tmp_path):
    a, leaver = two_pupils
    import_marks("upn,date,session,code\n"
                 f"{a.upn},2025-09-02,AM,/\n{a.upn},2025-09-02,PM,N\n"
                 f"{leaver.upn},2025-09-02,AM,I\n")
    out = tmp_path / "stats.json"
    call_command("export_stats", "--schema", "test_a", "--from", "2025-09-01",
                 "--to", "2025-09-30", "--format", "json", "--output", str(out))
    rows = {r["upn"]: r for r in json.loads(out.read_text())}
    assert rows[a.upn]["possible"] == 2 and rows[a.upn]["attendance_pct"] == 50.0
    assert rows[a.upn]["severe"] is True and rows[a.upn]["band"] == "Red"
    assert rows[leaver.upn]["authorised"] == 1 and rows[leaver.upn]["attendance_pct"] == 0.0
    csv_out = tmp_path / "stats.csv"
    call_command("export_stats", "--schema", "test_a", "--format", "csv", "--from", "2025-09-01",
                 "--to", "2025-09-30", "--output", str(csv_out))
    header = csv_out.read_text().splitlines()[0]
    assert header.startswith("upn,possible,attended,present,aea,authorised,unauthorised")


def test_import_contacts_keeps_portal_login_and_reports_bad_rows(two_pupils, people):
    a, _ = two_pupils
    header = "upn,priority,title,forename,surname,relationship,correspondence,mobile,email\n"
    import_contacts(header + f"{a.upn},1,Mrs,Sam,Khan,Mother,Y,07700 900123,sam@example.org\n"
                             f"{a.upn},2,Mr,Ali,Khan,Father,N,07700 900124,\n")
    sam = a.contacts.get(priority=1)
    sam.user = people["parent"]
    sam.save()
    import_contacts(header + f"{a.upn},1,Mr,Ali,Khan,Father,Y,07700 900124,\n"
                             f"{a.upn},2,Mrs,Sam,Khan,Mother,N,07700 900123,sam@example.org\n")
    assert a.contacts.get(priority=2).user == people["parent"]
    assert a.contacts.get(priority=1).correspondence
    errs, _ = errors_of(import_contacts, header + f"{a.upn},1,Mr,X,Y,Dad,maybe,,not-an-email\n"
                                                  f"{a.upn},1,Mr,X,Y,Dad,N,,\n"
                                                  f"{make_upn()},0,,,,,,,\n")
    assert errs == [(2, "correspondence"), (2, "email"), (3, "priority"), (4, "upn"),
                    (4, "priority"), (4, "forename"), (4, "surname")]
    assert a.contacts.count() == 2


def test_web_upload_reports_problems_and_imports_nothing(two_pupils, people):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import client_for

    a, _ = two_pupils
    client = client_for(people["office"])
    bad = SimpleUploadedFile("marks.csv", f"upn,date,session,code\n{a.upn},2025-09-02,AM,/\n"
                                          f"{a.upn},2025-09-02,PM,QQ\n".encode())
    page = client.post("/imports/marks/", {"file": bad})
    assert page.status_code == 200
    assert b"Nothing was imported" in page.content and b"QQ" in page.content
    assert not Mark.objects.exists()
    good = SimpleUploadedFile("marks.csv", f"upn,date,session,code\n{a.upn},2025-09-02,AM,/\n"
                              .encode())
    assert client.post("/imports/marks/", {"file": good}).status_code == 302
    amended = MarkAmendment.objects.count()
    assert Mark.objects.get().recorded_by == people["office"] and amended == 0
    assert client_for(people["teacher"]).get("/imports/marks/").status_code == 403


def test_import_pupils_ethnicity_dfe_census_codes(school_a):
    """Issue 19 item 6: "ethnicity (the DfE's census categories)": the census main codes, in any
    case; an empty cell is "not recorded"; anything else is refused by line and field."""
    header = PUPIL_HEADER.strip() + ",ethnicity\n"
    a, b, c = make_upn(), make_upn(), make_upn()
    rows = [f"{a},Khan,Aisha,2018-05-02,F,2,2K,2022-09-01,,N,N,APKN",
            f"{b},Nowak,Jan,2018-05-02,M,2,2K,2022-09-01,,N,N,woth",
            f"{c},Smith,Jo,2018-05-02,F,2,2K,2022-09-01,,N,N,"]
    import_pupils(header + "\n".join(rows) + "\n")
    got = dict(Pupil.objects.values_list("upn", "ethnicity"))
    assert got == {a: "APKN", b: "WOTH", c: ""}
    assert Pupil.objects.get(upn=a).get_ethnicity_display() == "Pakistani"
    bad = [rows[0], rows[1].replace(",woth", ",White"), rows[2].replace(",N,N,", ",N,N,XXXX")]
    errs, exc = errors_of(import_pupils, header + "\n".join(bad) + "\n")
    assert errs == [(3, "ethnicity"), (4, "ethnicity")]
    assert "'White' is not a DfE census ethnicity code" in str(exc.errors[0])
    assert Pupil.objects.get(upn=b).ethnicity == "WOTH"  # nothing written
    # A file without the column leaves the recorded ethnicity alone.
    import_pupils(PUPIL_HEADER + f"{a},Khan,Aisha,2018-05-02,F,2,2K,2022-09-01,,N,N\n")
    assert Pupil.objects.get(upn=a).ethnicity == "APKN"
