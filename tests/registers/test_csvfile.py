"""Issue 11.4: what Excel and other systems save is read, and bad files are problems, not 500s."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from registers.csvfile import MAX_REPORTED, CsvFile
from registers.imports import ImportRejected, import_contacts, import_marks, import_pupils
from registers.models import Contact, Mark, Pupil
from tests.conftest import client_for, make_upn

HEADER = ("upn,legal_surname,legal_forename,date_of_birth,gender,year_group,registration_group,"
          "admission_date,address\n")


def pupils_file(surname="Zoë “Renée” O’Brien-Façade", forename="Siân", address="1 Rue Café"):
    upn = make_upn()
    return upn, HEADER + f"{upn},{surname},{forename},2018-05-02,F,R,RK,2022-09-01,\"{address}\"\r\n"


@pytest.mark.parametrize("encode, label", [
    (lambda t: t.encode("utf-8"), "UTF-8"),
    (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "UTF-8 with BOM"),
    (lambda t: t.encode("utf-16"), "UTF-16"),                       # with BOM, as Excel saves
    (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "UTF-16"),
    (lambda t: t.encode("cp1252"), "Windows-1252"),                 # Excel on Windows: "CSV"
])
def test_pupils_in_every_encoding_excel_saves(school_a, encode, label):
    upn, text = pupils_file()
    result = import_pupils(encode(text))
    assert result.encoding == label and f"read as {label}" in result.summary()
    p = Pupil.objects.get(upn=upn)
    assert (p.legal_surname, p.legal_forename, p.address) == (
        "Zoë “Renée” O’Brien-Façade", "Siân", "1 Rue Café")


def test_latin1_file_is_read(school_a):
    upn, text = pupils_file(surname="Müller", forename="José", address="Straße 5")
    assert import_pupils(text.encode("latin-1")).encoding == "Windows-1252"
    assert Pupil.objects.get(upn=upn).legal_surname == "Müller"


def test_utf8_past_the_sample_is_still_utf8(school_a):
    """The encoding is decided on the whole file, not on its first 64 KB."""
    rows = [f"{make_upn(estab=5000, serial=i)},Smith,Ann,2018-05-02,F,R,RK,2022-09-01,{'x' * 50}\n"
            for i in range(1000)]
    upn, last = pupils_file(surname="Ñúñez", forename="Zoë")
    data = (HEADER + "".join(rows) + last.split("\n", 1)[1]).encode()
    assert len(data) > 70_000
    assert import_pupils(data).encoding == "UTF-8"
    assert Pupil.objects.get(upn=upn).legal_surname == "Ñúñez"


def test_old_mac_line_endings(school_a):
    upn, text = pupils_file()
    import_pupils(text.replace("\r\n", "\r").replace("\n", "\r").encode("cp1252"))
    assert Pupil.objects.filter(upn=upn).exists()


def test_web_upload_says_which_encoding_it_read(school_a, people):
    upn, text = pupils_file()
    client = client_for(people["office"])
    response = client.post("/imports/pupils/", {
        "file": SimpleUploadedFile("pupils.csv", text.encode("cp1252"))}, follow=True)
    assert "read as Windows-1252" in response.content.decode()
    assert Pupil.objects.get(upn=upn).legal_forename == "Siân"


def test_command_says_which_encoding_it_read(school_a, tmp_path, capsys):
    upn, text = pupils_file()
    path = tmp_path / "pupils.csv"
    path.write_bytes(text.encode("utf-16"))
    call_command("import_pupils", "--schema", "test_a", str(path))
    assert "read as UTF-16" in capsys.readouterr().out


def rejected(func, data):
    with pytest.raises(ImportRejected) as exc:
        func(data)
    return exc.value


def test_nul_bytes_name_line_and_field(school_a):
    upn, text = pupils_file()
    exc = rejected(import_pupils, (text + text.replace(upn, make_upn()).split("\n", 1)[1])
                   .replace("Siân", "Si\x00n", 1).encode())
    assert [(e.line, e.field) for e in exc.errors] == [(2, "legal_forename")]
    assert "NUL" in exc.errors[0].message
    assert not Pupil.objects.exists()


def test_nul_in_a_windows_1252_file_is_a_nul_not_utf16(school_a):
    upn, text = pupils_file()
    exc = rejected(import_pupils, text.replace("Siân", "Si\x00n").encode("cp1252"))
    assert [(e.line, e.field) for e in exc.errors] == [(2, "legal_forename")]
    assert exc.encoding == "Windows-1252"


def test_an_undefined_windows_1252_byte_names_its_line(school_a):
    upn, text = pupils_file()
    data = text.encode("cp1252") + f"{make_upn()},A,B\x81,2018-01-01,F,1,1A,2022-09-01,\n".encode(
        "latin-1")
    exc = rejected(import_pupils, data)
    assert [(e.line, e.field) for e in exc.errors] == [(3, "file")]
    assert "0x81" in exc.errors[0].message and exc.encoding == "Windows-1252"


def test_over_long_values_are_reported_not_500(school_a):
    upn, text = pupils_file(surname="S" * 101, address="fine")
    exc = rejected(import_pupils, text)
    assert [(e.line, e.field) for e in exc.errors] == [(2, "legal_surname")]
    assert "at most 100" in exc.errors[0].message


def test_over_long_contact_values(school_a, make_pupil):
    p = make_pupil()
    exc = rejected(import_contacts, "upn,priority,forename,surname,title,mobile,email\n"
                                    f"{p.upn},1,{'F' * 101},Khan,{'T' * 21},{'0' * 41},"
                                    f"{'e' * 250}@x.org\n")
    assert {e.field for e in exc.errors} == {"forename", "title", "mobile", "email"}
    assert not Contact.objects.exists()


def test_spreadsheet_and_binary_files_are_refused_clearly(school_a):
    assert "Excel workbook" in rejected(import_pupils, b"PK\x03\x04rest-of-zip").errors[0].message
    noise = bytes(range(256)) * 50
    assert "not text" in rejected(import_marks, noise).errors[0].message


def test_broken_quoting_and_huge_cells_are_row_problems(two_pupils):
    a, _ = two_pupils
    exc = rejected(import_marks, "upn,date,session,code\n"
                                 f"{a.upn},2025-09-02,AM,/\n"
                                 f'"{"x" * 20000}",2025-09-02,PM,/\n'
                                 f"{a.upn},2025-09-03,AM,/\n")
    assert [(e.line, e.field) for e in exc.errors] == [(3, "row")]
    assert not Mark.objects.exists()


def test_line_numbers_count_quoted_newlines(school_a):
    upn, text = pupils_file(address="1 High St\nLeeds")
    bad = text.split("\n", 1)[1].replace(upn, make_upn()).replace(",F,", ",Q,")
    exc = rejected(import_pupils, text + bad)
    assert [(e.line, e.field) for e in exc.errors] == [(4, "gender")]


def test_empty_and_header_only_files(school_a):
    assert rejected(import_pupils, b"").errors[0].message == "the file is empty"
    assert import_pupils(HEADER.encode()).created == 0
    exc = rejected(import_pupils, HEADER.replace("upn", "upn,upn").encode())
    assert "twice" in exc.errors[0].message


def test_a_million_problems_keep_the_first_thousand(two_pupils):
    a, _ = two_pupils
    exc = rejected(import_marks, "upn,date,session,code\n" + f"{a.upn},2025-09-02,XX,/\n" * 3000)
    assert exc.total == 3000 and len(exc.errors) == MAX_REPORTED and exc.more == 2000
    assert exc.lines()[-1].endswith("and 2000 more problem(s)")


def test_csvfile_reads_a_stream_without_reading_it_whole(tmp_path):
    """The reader pulls lines from the file as the caller asks for rows."""
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100_000)
    with open(path, "rb") as fh:
        f = CsvFile(fh, ["a", "b"])
        rows = f.rows()
        next(rows)
        assert fh.tell() < 100_000  # read so far: the first buffer, not the 400 KB file


@pytest.fixture
def two_pupils(calendar, make_pupil):
    from datetime import date

    return (make_pupil(admission=date(2025, 9, 1)),
            make_pupil(admission=date(2025, 9, 1), leaving=date(2025, 9, 12)))
