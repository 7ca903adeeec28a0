from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from registers.exports import STATS_FIELDS, stats_rows, to_csv, to_json
from registers.school_year import school_year_start

from ._base import SchoolCommand


def iso(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD)", returncode=2) from None


class Command(SchoolCommand):
    help = "Per-pupil attendance figures for a date range (default: school year to date)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--from", dest="date_from", type=iso)
        parser.add_argument("--to", dest="date_to", type=iso)
        parser.add_argument("--format", choices=["json", "csv"], required=True)
        parser.add_argument("--output")

    def handle_school(self, **o):
        today = timezone.localdate()
        date_to = o["date_to"] or today
        date_from = o["date_from"] or school_year_start(date_to)
        if date_from > date_to:
            raise CommandError("--from is after --to", returncode=2)
        rows = stats_rows(date_from=date_from, date_to=date_to)
        text = to_json(rows) if o["format"] == "json" else to_csv(rows, STATS_FIELDS)
        self.write(text, o["output"])
