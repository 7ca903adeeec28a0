"""export_all: every record out, and the import layouts read back in (issue 16)."""

import csv
from datetime import date

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from registers import ctf, imports
from registers.export_all import export_all
from registers.models import AttendanceHistory, CalendarEntry, Contact, Mark, MarkAmendment, Pupil
from registers.services import mark_amend
from tests.factories import LetterFactory
from tests.registers.test_ctf import CHIDI, transfer_in

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def school(calendar):
    connection.set_schema_to_public()
    calendar.la_code, calendar.estab = 383, "2001"
    calendar.save(update_fields=["la_code", "estab"])
    connection.set_tenant(calendar)
    ctf.import_ctf(transfer_in(), school=calendar)
    return calendar


def snapshot():
    return (
        sorted(CalendarEntry.objects.values_list("kind", "start_date", "end_date", "label")),
        sorted(Pupil.objects.values_list(
            "upn", "legal_surname", "legal_forename", "preferred_forename", "date_of_birth",
            "gender", "year_group", "registration_group__name", "admission_date", "fsm",
            "pupil_premium", "sen_status", "address")),
        sorted(Contact.objects.values_list(
            "pupil__upn", "priority", "title", "forename", "surname", "relationship",
            "correspondence", "phone", "mobile", "email", "address")),
        sorted(Mark.objects.values_list("pupil__upn", "date", "session", "code", "minutes_late")),
    )


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_all_writes_every_record_and_reads_back(school, school_b, tmp_path, people):

    chidi = Pupil.objects.get(upn=CHIDI)
    mark_amend(school=school, pupil=chidi, day=date(2025, 9, 9), session="AM", code="L",
               minutes_late=12, reason="late, phoned", user=people["office"],
               role="Office / admin")
    letter = LetterFactory(pupil=chidi, template_key="letter1", trigger_key="t")
    letter.file.save("letter1.pdf", ContentFile(b"%PDF-1.7 test letter"))
    before = snapshot()

    out = tmp_path / "export"
    counts = export_all(out, school=school, now=timezone.now())
    assert counts["marks.csv"] == 12 and counts["pupils.csv"] == 2 and counts["files/"] == 1
    assert (out / "files" / letter.file.name).read_bytes() == b"%PDF-1.7 test letter"
    amendments = rows(out / "tables" / "registers_markamendment.csv")
    assert [(a["new_code"], a["new_minutes_late"], a["reason"], a["role"]) for a in amendments] \
        == [("L", "12", "late, phoned", "Office / admin")]
    assert len(rows(out / "tables" / "registers_attendancehistory.csv")) == 2
    assert rows(out / "tables" / "letters_letter.csv")[0]["file"] == letter.file.name
    assert "import_marks reads it" in (out / "README.txt").read_text()

    # An empty school reads the four layouts back through the ordinary importers.
    connection.set_tenant(school_b)
    assert not Pupil.objects.exists()
    imports.import_calendar((out / "calendar.csv").read_bytes())
    imports.import_pupils((out / "pupils.csv").read_bytes())
    imports.import_contacts((out / "contacts.csv").read_bytes())
    imports.import_marks((out / "marks.csv").read_bytes())
    assert snapshot() == before
    assert not AttendanceHistory.objects.exists() and not MarkAmendment.objects.exists()


def test_export_all_command(school, tmp_path, capsys):
    call_command("export_all", "--schema", school.schema_name, "--output", str(tmp_path / "x"))
    out = capsys.readouterr().out
    assert "marks.csv 12" in out and "pupils.csv 2" in out
    assert (tmp_path / "x" / "tables" / "absences_absencereport.csv").exists()
    assert (tmp_path / "x" / "tables" / "escalation_case.csv").exists()


def test_export_all_cells_cannot_become_formulas(school, tmp_path):
    Pupil.objects.filter(upn=CHIDI).update(preferred_forename="=HYPERLINK(\"http://x\")")
    export_all(tmp_path / "e", school=school, now=timezone.now())
    pupil = next(r for r in rows(tmp_path / "e" / "pupils.csv") if r["upn"] == CHIDI)
    assert pupil["preferred_forename"] == "'=HYPERLINK(\"http://x\")"


def test_the_head_downloads_everything_as_a_zip(school, people, client_as):
    import io
    import zipfile

    response = client_as(people["head"]).post("/transfers/export-all/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert {"README.txt", "calendar.csv", "pupils.csv", "contacts.csv", "marks.csv",
            "tables/registers_markamendment.csv"} <= set(names)
    assert archive.read("marks.csv").decode().count("\n") == 13
    assert client_as(people["office"]).post("/transfers/export-all/").status_code == 403
