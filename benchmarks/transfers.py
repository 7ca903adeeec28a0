"""Benchmark the data exchange of issue 16.

1. ``import_ctf`` of a Common Transfer File for a 420-pupil primary with three school years
   of this school's marks (2023/24 to 2025/26: ~480,000 sessions) and contacts; then
   ``export_ctf`` of the same pupils.
2. ``export_all`` of a 1,000-pupil school with a year of marks (380,000).

Run: ``python benchmarks/transfers.py`` (owner connection, scratch school schemas).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from benchmarks._common import (  # noqa: E402
    Results,
    bootstrap,
    fmt_rate,
    machine_load,
    make_upn,
    school_year_calendar,
    scratch_tenant,
    setup_django,
    timed,
)

bootstrap()

SCHEMA, DOMAIN, NAME = "bench_transfers", "bench-transfers.localhost", "Benchmark Transfers"
CODES = ["/"] * 90 + ["L", "I", "I", "M", "O", "G", "C1", "Y7", "N", "B"]


# Complexity: builds a test file element by element.
def ctf_file(pupils: int, years: list[list[date]], rng: random.Random) -> tuple[bytes, int]:  # noqa: C901
    """A CTF in the published structure with every pupil's marks for ``years``."""
    from lxml import etree

    from registers.ctf import sessions_from

    root = etree.Element("CTfile")
    header = etree.SubElement(root, "Header")
    etree.SubElement(header, "CTFversion").text = "25.0"
    data = etree.SubElement(root, "CTFpupilData")
    sessions = 0
    for n in range(pupils):
        p = etree.SubElement(data, "Pupil")
        for tag, text in (("UPN", make_upn(n)), ("Surname", f"Surname{n}"),
                          ("Forename", f"Pupil{n}"), ("DOB", "2016-05-01"), ("Sex", "F")):
            etree.SubElement(p, tag).text = text
        etree.SubElement(etree.SubElement(p, "BasicDetails"), "NCyearActual").text = \
            str(1 + n % 6)
        contacts = etree.SubElement(p, "Contacts")
        for order in (1, 2):
            c = etree.SubElement(contacts, "Contact")
            for tag, text in (("Order", str(order)), ("Surname", f"Surname{n}"),
                              ("Forename", f"Parent{order}"), ("Relationship", "PAR"),
                              ("Email", f"p{n}.{order}@example.org")):
                etree.SubElement(c, tag).text = text
        att = etree.SubElement(p, "Attendance")
        for days in years:
            open_days = set(days)
            marks = []
            for day, session in sessions_from(days[0]):
                if day > days[-1]:
                    break
                if day not in open_days:
                    marks.append("#")
                    continue
                code = rng.choice(CODES)
                marks.append(("/" if session == "AM" else "\\") if code == "/" else code)
                sessions += 1
            y = etree.SubElement(att, "YearData")
            for tag, text in (("Year", str(days[0].year)), ("LEA", "383"), ("Estab", "2001"),
                              ("SchoolName", NAME)):
                etree.SubElement(y, tag).text = text
            s = etree.SubElement(y, "AttendSessions")
            etree.SubElement(s, "AttendanceStartDate").text = days[0].isoformat()
            etree.SubElement(s, "AttendanceMarks").text = ",".join(marks)
        school = etree.SubElement(etree.SubElement(p, "SchoolHistory"), "School")
        for tag, text in (("LEA", "383"), ("Estab", "2001"),
                          ("EntryDate", years[0][0].isoformat())):
            etree.SubElement(school, tag).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), sessions


def set_laestab(school) -> None:
    from django.db import connection

    connection.set_schema_to_public()
    school.la_code, school.estab = 383, "2001"
    school.save(update_fields=["la_code", "estab"])
    connection.set_tenant(school)


def bench_ctf(results: Results, pupils: int, rng) -> None:
    from registers import ctf
    from registers.models import Mark, Pupil

    with scratch_tenant(SCHEMA, DOMAIN, NAME, preset=None) as school:
        set_laestab(school)
        years = [school_year_calendar(2023, 190)]
        years += [school_year_calendar(y, 190, keep_existing=True) for y in (2024, 2025)]
        data, sessions = ctf_file(pupils, years, rng)
        print(f"CTF: {pupils} pupils, {sessions:,} marked sessions, {len(data) / 1e6:.1f} MB")
        with timed() as t:
            result = ctf.import_ctf(data, school=school)
        assert result.created == pupils and Mark.objects.count() == sessions
        results.add(f"import_ctf, {pupils} pupils x 3 years", fmt_rate(sessions, t.seconds),
                    "under 60 s", t.seconds < 60)
        with timed() as t:
            out = ctf.export_ctf(Pupil.objects.all(), school=school, to_laestab="9372100")
        results.add(f"export_ctf, {pupils} pupils x 3 years", f"{t.seconds:.2f} s "
                    f"({len(out) / 1e6:.1f} MB)", "under 30 s", t.seconds < 30)


def bench_export_all(results: Results, pupils: int, rng) -> None:
    from django.utils import timezone

    from benchmarks._common import pupils_create
    from benchmarks.registers import class_sizes, to_csv, year_of_marks
    from registers import imports
    from registers.export_all import export_all

    with scratch_tenant(SCHEMA, DOMAIN, NAME, preset=None) as school:
        days = school_year_calendar(2025, 190)
        classes = pupils_create(class_sizes(pupils))
        upns = [p.upn for _, ps in classes for p in ps]
        imports.import_marks(to_csv(year_of_marks(upns, days, rng)))
        with tempfile.TemporaryDirectory() as out, timed() as t:
            counts = export_all(Path(out), school=school, now=timezone.now())
        results.add(f"export_all, {pupils:,} pupils, {counts['marks.csv']:,} marks",
                    f"{t.seconds:.2f} s", "under 60 s", t.seconds < 60)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ctf-pupils", type=int, default=420)
    parser.add_argument("--export-pupils", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    setup_django()
    rng = random.Random(args.seed)
    print(f"before: {machine_load()}")
    results = Results("Transfers benchmark (issue 16)")
    bench_ctf(results, args.ctf_pupils, rng)
    bench_export_all(results, args.export_pupils, rng)
    print(f"after: {machine_load()}")
    results.print()
    return 0 if not results.failed else 1


if __name__ == "__main__":
    sys.exit(main())
