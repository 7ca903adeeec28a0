"""Common Transfer Files in and out (issue 16; interfaces.md "Exchange with other systems")."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from registers import ctf
from registers.imports import ImportRejected
from registers.models import AttendanceHistory, Contact, Mark, MarkAmendment, Pupil
from tests.factories import MarkFactory

FILES = Path(__file__).parent / "ctf_files"
CHIDI, ZOFIA = "G383200120901", "W383200120902"


@pytest.fixture
def school(calendar):
    connection.set_schema_to_public()
    calendar.la_code, calendar.estab = 383, "2001"
    calendar.save(update_fields=["la_code", "estab"])
    connection.set_tenant(calendar)
    return calendar


def transfer_in() -> bytes:
    return (FILES / "transfer_in.xml").read_bytes()


def problems(data: bytes, school) -> list[tuple[str, str]]:
    with pytest.raises(ImportRejected) as exc:
        ctf.import_ctf(data, school=school)
    return [(e.field, e.message) for e in exc.value.errors]


def test_import_reads_pupils_contacts_and_this_schools_marks(school):
    result = ctf.import_ctf(transfer_in(), school=school)
    assert (result.created, result.updated) == (2, 0)

    chidi = Pupil.objects.get(upn=CHIDI)
    assert (chidi.legal_forename, chidi.preferred_forename, chidi.legal_surname) == \
        ("Chidi", "Chid", "Okafor")
    assert (chidi.date_of_birth, chidi.gender, chidi.year_group) == (date(2017, 3, 14), "M", 4)
    assert (chidi.fsm, chidi.sen_status) == (True, "K")
    assert chidi.admission_date == date(2025, 9, 1)  # SchoolHistory entry for this LAESTAB
    assert chidi.address == "12 Mill Lane\nLeeds\nLS1 4AB"
    mum, dad = Contact.objects.filter(pupil=chidi).order_by("priority")
    assert (mum.title, mum.forename, mum.relationship, mum.phone, mum.mobile, mum.email) == \
        ("Mrs", "Ada", "Parent", "0113 496 0000", "07700 900123", "ada.okafor@example.org")
    assert (mum.correspondence, dad.correspondence) == (False, True)
    assert dad.address == "Flat 3, 40 Park Road\nBradford\nBD1 2CD"

    zofia = Pupil.objects.get(upn=ZOFIA)
    assert (zofia.year_group, zofia.sen_status) == (0, "E")  # pre-2014 statement -> EHC plan
    assert zofia.registration_group.name == "New arrivals YR"
    # No flag in the file: the first contact gets the letters.
    assert Contact.objects.get(pupil=zofia).correspondence is True

    marks = dict(((m.date.isoformat(), m.session), m.code) for m in Mark.objects.filter(pupil=chidi))
    assert marks == {
        ("2025-09-02", "AM"): "/", ("2025-09-02", "PM"): "\\",
        ("2025-09-03", "AM"): "/", ("2025-09-03", "PM"): "\\",
        ("2025-09-04", "AM"): "C1", ("2025-09-04", "PM"): "C1",
        ("2025-09-05", "AM"): "Y7", ("2025-09-05", "PM"): "Y7",
        ("2025-09-08", "AM"): "I", ("2025-09-08", "PM"): "I",
        ("2025-09-09", "AM"): "L", ("2025-09-09", "PM"): "G",
    }
    # Two earlier schools: kept as history, pre-2024 codes mapped (H -> C, Y -> Y7).
    hill, river = AttendanceHistory.objects.filter(pupil=chidi).order_by("school_year")
    assert (hill.lea, hill.estab, hill.school_name, hill.sessions_possible) == \
        ("937", "2050", "Hill Top Infants", 10)
    assert hill.marks == "/,\\,/,\\,C,C,/,\\,Y7,#,/,\\"
    assert (river.school_year, river.marks) == (2024, "#,#,/,\\,C1,C1,/,O,L,\\")
    # This school's YearData says 12 possible; its marks give 10 (Y7 is not possible).
    assert (f"UPN {CHIDI} Attendance/YearData[3]: the file's session counts (12, 4, 1) "
            "differ from its marks (10, 4, 1)") in result.notes
    assert river.start_date == date(2024, 9, 2)


def test_reimport_updates_and_amends_through_the_one_mark_path(school):
    ctf.import_ctf(transfer_in(), school=school)
    changed = transfer_in().replace(b"#,#,/,\\,/,\\,C1", b"#,#,O,\\,/,\\,C1")
    result = ctf.import_ctf(changed, school=school)
    assert (result.created, result.updated) == (0, 2)
    assert "0 mark(s) written, 1 amended" in result.notes
    a = MarkAmendment.objects.get(pupil__upn=CHIDI)
    assert (a.date, a.session, a.original_code, a.new_code) == (date(2025, 9, 2), "AM", "/", "O")
    assert AttendanceHistory.objects.filter(pupil__upn=CHIDI).count() == 2  # replaced, not added
    assert Contact.objects.filter(pupil__upn=CHIDI).count() == 2


def test_every_problem_is_reported_by_upn_and_element_and_nothing_is_written(school):
    bad = (transfer_in()
           .replace(b"#,#,/,\\,/,\\,C1,C1,Y7", b"#,#,/,\\,/,\\,C1,Q9,Y7")
           .replace(b"<Estab>2050</Estab>", b"<Estab>20X0</Estab>"))
    found = problems(bad, school)
    fields = [f for f, _ in found]
    assert f"UPN {CHIDI}: Attendance/YearData[3]/AttendSessions/AttendanceMarks" in fields
    assert any("entry 8 (2025-09-04 PM): 'Q9'" in m for _, m in found)
    assert f"UPN {CHIDI}: Attendance/YearData[1]/Estab" in fields
    assert not Pupil.objects.exists() and not Mark.objects.exists()


def test_problems_found_by_the_csv_rules_come_back_as_upn_and_element(school):
    bad = (transfer_in().replace(b"<DOB>2019-11-02</DOB>", b"<DOB>2019-13-02</DOB>")
           .replace(b"<Email>anna@example.org</Email>", b"<Email>not an email</Email>"))
    found = problems(bad, school)
    assert found == [(f"UPN {ZOFIA}/date_of_birth", "'2019-13-02' is not a date (YYYY-MM-DD)")]
    # Pupils fine, a contact wrong: still nothing written.
    bad = transfer_in().replace(b"<Email>anna@example.org</Email>", b"<Email>not an email</Email>")
    found = problems(bad, school)
    assert found == [(f"UPN {ZOFIA}: Contacts/Contact[1]/email",
                      "'not an email' is not an email address")]
    assert not Pupil.objects.exists() and not Contact.objects.exists()


def test_a_mark_on_a_day_that_is_not_a_session_is_reported_with_its_date(school):
    bad = transfer_in().replace(b"<AttendanceStartDate>2025-09-01", b"<AttendanceStartDate>2025-08-25")
    found = problems(bad, school)
    assert (f"UPN {CHIDI}: Attendance/YearData[3]/AttendanceMarks 2025-08-27 AM/date",
            "2025-08-27 is not a school session") in found
    assert not Mark.objects.exists() and not Pupil.objects.exists()


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<CTfile><CTFpupilData><Pupil><UPN>&lol3;</UPN></Pupil></CTFpupilData></CTfile>",
    b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<CTfile><CTFpupilData><Pupil><UPN>&xxe;</UPN></Pupil></CTFpupilData></CTfile>",
    ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
     '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
     "<CTfile><CTFpupilData><Pupil><UPN>&lol2;</UPN></Pupil></CTFpupilData></CTfile>"
     ).encode("utf-16"),
], ids=["billion-laughs", "xxe", "utf-16-bomb"])
def test_xml_bombs_and_external_entities_are_refused(school, data):
    found = problems(data, school)
    assert len(found) == 1 and found[0][0] == "DOCTYPE"
    assert "refused" in found[0][1]
    assert not Pupil.objects.exists()


def test_malformed_and_foreign_files_are_refused_with_a_clear_message(school):
    found = problems(b"<CTfile><CTFpupilData><Pupil></CTFpupilData>", school)
    assert found[0][0] == "XML" and "not well-formed" in found[0][1]
    assert problems(b"<Census/>", school) == [("Census", "the root element must be CTfile")]
    assert problems(b"<CTfile/>", school) == [("CTFpupilData", "the file holds no Pupil element")]


def export(school, **kw) -> bytes:
    pupils = ctf.pupils_for_export(**kw)
    return ctf.export_ctf(pupils, school=school, to_laestab="9372100")


def test_round_trip_into_an_empty_school_reproduces_pupils_contacts_and_marks(school, school_b):
    ctf.import_ctf(transfer_in(), school=school)
    Pupil.objects.filter(upn=ZOFIA).update(admission_date=date(2025, 9, 8))
    MarkFactory(pupil=Pupil.objects.get(upn=ZOFIA), date=date(2025, 9, 10),
                session="AM", code="M")
    ZOFIA_ADMITTED = Pupil.objects.get(upn=ZOFIA).admission_date
    data = export(school, upns=[CHIDI, ZOFIA])

    def snapshot():
        pupils = sorted(Pupil.objects.values_list(
            "upn", "legal_surname", "legal_forename", "preferred_forename", "date_of_birth",
            "gender", "year_group", "fsm", "pupil_premium", "sen_status", "address"))
        contacts = sorted(Contact.objects.values_list(
            "pupil__upn", "priority", "title", "forename", "surname", "relationship",
            "parental_responsibility", "correspondence", "phone", "mobile", "email", "address"))
        marks = sorted(Mark.objects.values_list("pupil__upn", "date", "session", "code"))
        history = sorted(AttendanceHistory.objects.values_list(
            "pupil__upn", "school_year", "lea", "estab", "school_name", "sessions_possible",
            "sessions_authorised", "sessions_unauthorised", "start_date", "marks"))
        return pupils, contacts, marks, history

    before = snapshot()
    assert len(before[2]) == 13 and len(before[3]) == 2
    # An empty school with the same calendar and LAESTAB (a restore): the same records.
    from registers.models import CalendarEntry
    entries = list(CalendarEntry.objects.values("kind", "start_date", "end_date", "label"))
    connection.set_schema_to_public()
    school_b.la_code, school_b.estab = 383, "2001"
    school_b.save(update_fields=["la_code", "estab"])
    connection.set_tenant(school_b)
    from registers.calendar import calendar_replace
    calendar_replace(entries=[CalendarEntry(**e) for e in entries])
    assert not Pupil.objects.exists()
    ctf.import_ctf(data, school=school_b)
    assert snapshot() == before
    assert Pupil.objects.get(upn=ZOFIA).admission_date == ZOFIA_ADMITTED


def test_export_to_another_school_carries_every_year_as_history(school, school_b):
    ctf.import_ctf(transfer_in(), school=school)
    data = export(school, upns=[CHIDI])
    connection.set_schema_to_public()
    school_b.la_code, school_b.estab = 937, "2200"
    school_b.save(update_fields=["la_code", "estab"])
    connection.set_tenant(school_b)
    ctf.import_ctf(data, school=school_b)
    assert not Mark.objects.exists()  # another school's registers are not ours
    years = list(AttendanceHistory.objects.order_by("school_year", "estab").values_list(
        "school_year", "lea", "estab", "sessions_possible", "sessions_authorised",
        "sessions_unauthorised", "marks"))
    assert [y[:3] for y in years] == [(2023, "937", "2050"), (2024, "937", "2100"),
                                      (2025, "383", "2001")]
    # Counts computed from this school's marks: 10 possible (Y7 and # are not), C1 C1 I I, G.
    assert years[2][3:6] == (10, 4, 1)
    assert years[2][6] == "#,#,/,\\,/,\\,C1,C1,Y7,Y7,I,I,L,G"


def test_export_selects_year_groups_and_leavers(school):
    ctf.import_ctf(transfer_in(), school=school)
    assert b"W383200120902" in export(school, year_group=0)
    assert b"G383200120901" not in export(school, year_group=0)
    chidi = Pupil.objects.get(upn=CHIDI)
    chidi.leaving_date, chidi.deletion_ground = date(2026, 7, 17), "other_school"
    chidi.save()
    out = export(school, leavers_since=date(2026, 7, 1))
    assert b"G383200120901" in out and b"W383200120902" not in out
    assert b"<LeavingDate>2026-07-17</LeavingDate>" in out
    with pytest.raises(ValueError, match="no pupil with UPN K383200120903"):
        ctf.pupils_for_export(upns=["K383200120903"])


def test_commands(school, tmp_path, capsys):
    path = tmp_path / "in.xml"
    path.write_bytes(transfer_in())
    call_command("import_ctf", "--schema", school.schema_name, str(path))
    assert "2 pupil(s) created" in capsys.readouterr().out
    out = tmp_path / "out.xml"
    call_command("export_ctf", "--schema", school.schema_name, "--upn", CHIDI,
                 "--to-school", "9372100", "--output", str(out))
    assert b"<UPN>G383200120901</UPN>" in out.read_bytes()
    assert b"<AttendanceMarks>#,#,/,\\,/" in out.read_bytes()


def test_import_command_exits_1_listing_problems(school, tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_bytes(b'<!DOCTYPE x [<!ENTITY a "b">]><CTfile>&a;</CTfile>')
    with pytest.raises(SystemExit) as exc:
        call_command("import_ctf", "--schema", school.schema_name, str(path))
    assert exc.value.code == 1
    assert not Pupil.objects.exists()


# --- the web pages (Data menu) -----------------------------------------------------------

def upload(client, data: bytes, name="transfer.xml"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/transfers/ctf/import/", {"file": SimpleUploadedFile(
        name, data, content_type="application/xml")}, follow=True)


def test_upload_imports_and_records_who_amended(school, people, client_as):
    client = client_as(people["office"])
    page = upload(client, transfer_in())
    assert page.status_code == 200
    assert "CTF imported: 2 new pupil(s)" in page.content.decode()
    assert Mark.objects.filter(pupil__upn=CHIDI).count() == 12
    changed = transfer_in().replace(b"#,#,/,\\,/,\\,C1", b"#,#,O,\\,/,\\,C1")
    upload(client, changed)
    amendment = MarkAmendment.objects.get(pupil__upn=CHIDI)
    assert (amendment.user_id, amendment.role) == (people["office"].pk, "Office / admin")


def test_upload_lists_every_problem_and_refuses_a_bomb(school, people, client_as):
    client = client_as(people["head"])
    bad = transfer_in().replace(b"C1,C1,Y7", b"C1,Q9,Y7").replace(b"<Estab>2050", b"<Estab>20X0")
    html = upload(client, bad).content.decode()
    assert "Nothing was imported: 2 problem(s) found." in html
    assert f"UPN {CHIDI}: Attendance/YearData[1]/Estab" in html
    html = upload(client, b'<!DOCTYPE x [<!ENTITY a "b">]><CTfile>&a;</CTfile>').content.decode()
    assert "refused" in html and "DOCTYPE" in html
    html = upload(client, b"upn,date\n", name="marks.csv").content.decode()
    assert "Upload a .xml file." in html
    assert not Pupil.objects.exists()


def test_download_a_ctf_for_leavers(school, people, client_as):
    ctf.import_ctf(transfer_in(), school=school)
    client = client_as(people["attendance_officer"])
    response = client.post("/transfers/ctf/export/", {"upns": f"{CHIDI}, {ZOFIA}",
                                                      "to_school": "9372100"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="CTF_3832001_9372100.xml"'
    assert response.content.count(b"<Pupil>") == 2
    page = client.post("/transfers/ctf/export/", {"upns": "K383200120903", "year_group": "3",
                                                  "to_school": "93721"})
    html = page.content.decode()
    assert "Choose exactly one of" in html and "A LAESTAB is 7 digits." in html
    page = client.post("/transfers/ctf/export/", {"year_group": "9", "to_school": "9372100"})
    assert "No pupil matches: nothing to send." in page.content.decode()
    page = client.post("/transfers/ctf/export/", {"upns": "K383200120903", "to_school": "9372100"})
    assert "no pupil with UPN K383200120903" in page.content.decode()


def test_values_the_database_cannot_hold_are_reported_not_crashed_on(school):
    bad = (transfer_in().replace(b"<Title>Mrs</Title>", b"<Title>" + b"M" * 30 + b"</Title>")
           .replace(b"<SessionsPossible>10<", b"<SessionsPossible>99999999999<")
           .replace(b"<Year>2024</Year>", b"<Year>2023</Year>")
           .replace(b"<Estab>2100</Estab>\n          <SchoolName>Riverside",
                    b"<Estab>2050</Estab>\n          <SchoolName>Riverside"))
    found = problems(bad, school)
    assert (f"UPN {CHIDI}: Contacts/Contact[1]/title", "is longer than 20 characters") in found
    assert (f"UPN {CHIDI}: Attendance/YearData[1]/SessionsPossible",
            "'99999999999' is not a whole number up to 999999") in found
    assert (f"UPN {CHIDI}: Attendance/YearData[2]/Year", "a second YearData for 2023 at 9372050") \
        in found
    # A YearData of this school without marks is fine.
    empty = transfer_in().replace(b"<AttendanceMarks>#,#,/,\\,/,\\,C1,C1,Y7,Y7,I,I,L,G,-,-"
                                  b"</AttendanceMarks>", b"")
    ctf.import_ctf(empty, school=school)
    assert not Mark.objects.exists() and Pupil.objects.count() == 2


def test_the_pupil_page_shows_attendance_at_earlier_schools_to_staff_only(school, people,
                                                                         client_as):
    ctf.import_ctf(transfer_in(), school=school)
    chidi = Pupil.objects.get(upn=CHIDI)
    html = client_as(people["office"]).get(f"/pupils/{chidi.pk}/").content.decode()
    assert "Attendance at earlier schools" in html
    # Hill Top: 10 possible, 2 authorised -> 80.0%; Riverside: 8 possible, 3 absent -> 62.5%.
    assert "Hill Top Infants (9372050)" in html and "80.0%" in html and "62.5%" in html
    assert "2023/24" in html


def test_a_leavers_page_links_to_a_ctf_for_them(school, people, client_as):
    ctf.import_ctf(transfer_in(), school=school)
    chidi = Pupil.objects.get(upn=CHIDI)
    client = client_as(people["office"])
    assert "send-ctf" not in client.get(f"/pupils/{chidi.pk}/").content.decode()
    chidi.leaving_date, chidi.deletion_ground = date(2026, 7, 17), "other_school"
    chidi.save()
    html = client.get(f"/pupils/{chidi.pk}/").content.decode()
    assert f'href="/transfers/ctf/export/?upns={CHIDI}" id="send-ctf"' in html
    form = client.get(f"/transfers/ctf/export/?upns={CHIDI}").content.decode()
    assert f'value="{CHIDI}"' in form


def test_a_known_pupil_keeps_what_the_file_does_not_say(school):
    ctf.import_ctf(transfer_in(), school=school)
    Pupil.objects.filter(upn=ZOFIA).update(pupil_premium=True, fsm=True, lac=True, eal=True,
                                          medical_notes="asthma", admission_date=date(2025, 9, 2))
    result = ctf.import_ctf(transfer_in(), school=school)
    assert (result.created, result.updated) == (0, 2)
    zofia = Pupil.objects.get(upn=ZOFIA)
    assert (zofia.pupil_premium, zofia.fsm, zofia.lac, zofia.eal, zofia.medical_notes) == \
        (True, True, True, True, "asthma")
    assert zofia.admission_date == date(2025, 9, 2) and zofia.sen_status == "E"
    # What the file does say wins: Chidi's FSM instance has ended.
    Pupil.objects.filter(upn=CHIDI).update(fsm=True)
    ended = transfer_in().replace(b"<FSMstartDate>2024-01-10</FSMstartDate>",
                                  b"<FSMstartDate>2024-01-10</FSMstartDate>"
                                  b"<FSMendDate>2025-03-31</FSMendDate>")
    ctf.import_ctf(ended, school=school)
    assert Pupil.objects.get(upn=CHIDI).fsm is False


def test_export_command_refuses_bad_arguments_clearly(school, school_b):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="must be a 7-digit LAESTAB"):
        call_command("export_ctf", "--schema", school.schema_name, "--year-group", "4",
                     "--to-school", "93")
    with pytest.raises(CommandError, match="--year-group must be N1, N2, R or 1–14"):
        call_command("export_ctf", "--schema", school.schema_name, "--year-group", "Z",
                     "--to-school", "9372100")
    with pytest.raises(CommandError, match="no pupil with UPN K383200120903"):
        call_command("export_ctf", "--schema", school.schema_name, "--upn", "K383200120903",
                     "--to-school", "9372100")
    with pytest.raises(CommandError, match="this school has no LAESTAB"):
        call_command("export_ctf", "--schema", school_b.schema_name, "--leavers-since",
                     "2026-01-01", "--to-school", "9372100")


def test_ethnicity_comes_in_and_goes_out_in_basic_details(school):
    """Issue 19 item 6: the DfE census ethnicity code travels in <BasicDetails><Ethnicity>."""
    data = transfer_in().replace(b"<BasicDetails>", b"<BasicDetails><Ethnicity>bafr</Ethnicity>", 1)
    ctf.import_ctf(data, school=school)
    assert dict(Pupil.objects.values_list("upn", "ethnicity")) == {CHIDI: "BAFR", ZOFIA: ""}
    out = export(school, upns=[CHIDI, ZOFIA])
    assert out.count(b"<Ethnicity>BAFR</Ethnicity>") == 1 and out.count(b"<Ethnicity/>") == 1  # not recorded
    # Round trip: the exported file puts it back.
    Pupil.objects.filter(upn=CHIDI).update(ethnicity="")
    ctf.import_ctf(out, school=school)
    assert Pupil.objects.get(upn=CHIDI).ethnicity == "BAFR"
    # A file that says nothing keeps what the school has; a code that is not the census's is refused.
    ctf.import_ctf(transfer_in(), school=school)
    assert Pupil.objects.get(upn=CHIDI).ethnicity == "BAFR"
    bad = transfer_in().replace(b"<BasicDetails>", b"<BasicDetails><Ethnicity>ZZZZ</Ethnicity>", 1)
    found = problems(bad, school)
    assert [f for f, _ in found] == [f"UPN {CHIDI}/ethnicity"]
    assert "'ZZZZ' is not a DfE census ethnicity code" in found[0][1]
