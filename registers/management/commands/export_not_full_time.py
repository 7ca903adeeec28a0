from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from registers.section38 import csv_text, json_text, not_full_time_rows

from ._base import SchoolCommand


def iso(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD)", returncode=2) from None


class Command(SchoolCommand):
    help = ("Children not in school full time on a date (default today): one record per "
            "part-time timetable or off-site provision (section 38 registers).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", dest="as_of", type=iso)
        parser.add_argument("--format", choices=["json", "csv"], required=True)
        parser.add_argument("--output")

    def handle_school(self, **o):
        as_of = o["as_of"] or timezone.localdate()
        rows = not_full_time_rows(as_of)
        from tenants.models import School

        name = School.objects.get(schema_name=o["schema"]).name
        text = (json_text(rows, school=name, as_of=as_of)
                if o["format"] == "json" else csv_text(rows))
        self.write(text, o["output"])
