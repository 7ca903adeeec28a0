import re
from datetime import date

from django.core.management.base import CommandError

from registers import ctf
from registers.models import YEAR_GROUP_CODES
from tenants.models import School

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = ("Write a Common Transfer File (XML) with each pupil's attendance YearData for "
            "every school year on record.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--upn", nargs="+", help="one or more UPNs")
        which.add_argument("--year-group", help="N1, N2, R or 1–14: pupils on roll")
        which.add_argument("--leavers-since", help="YYYY-MM-DD: pupils who left on or after it")
        parser.add_argument("--to-school", required=True, help="destination LAESTAB (7 digits)")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle_school(self, **o):
        school = School.objects.get(schema_name=o["schema"])
        if not school.laestab:
            raise CommandError("this school has no LAESTAB: set its LA number and DfE "
                               "establishment number (admin: Schools) before sending a CTF",
                               returncode=2)
        if not re.fullmatch(r"\d{7}", o["to_school"]):
            raise CommandError(f"--to-school '{o['to_school']}' must be a 7-digit LAESTAB",
                               returncode=2)
        year_group = since = None
        if o["year_group"] is not None:
            year_group = YEAR_GROUP_CODES.get(o["year_group"].upper().removeprefix("Y"))
            if year_group is None:
                raise CommandError("--year-group must be N1, N2, R or 1–14", returncode=2)
        if o["leavers_since"]:
            try:
                since = date.fromisoformat(o["leavers_since"])
            except ValueError:
                raise CommandError("--leavers-since must be YYYY-MM-DD", returncode=2) from None
        try:
            pupils = ctf.pupils_for_export(upns=o["upn"], year_group=year_group,
                                           leavers_since=since)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        data = ctf.export_ctf(pupils, school=school, to_laestab=o["to_school"])
        if o["output"]:
            with open(o["output"], "wb") as f:
                f.write(data)
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
