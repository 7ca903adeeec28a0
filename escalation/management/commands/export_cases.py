import csv
import io
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from escalation.selectors import CASE_EXPORT_FIELDS, cases_export
from tenants.models import School

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A CSV cell a spreadsheet will not run: text a person typed may start with '='."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class Command(BaseCommand):
    help = ("Every graduated-response case open at any time up to DATE, as it stood on DATE, with its "
            "history and letters (README.md).")

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True)
        parser.add_argument("--as-of", required=True)
        parser.add_argument("--format", choices=["json", "csv"], required=True)
        parser.add_argument("--output")

    def handle(self, *args, **o):
        try:
            as_of = date.fromisoformat(o["as_of"])
        except ValueError:
            raise CommandError(f"'{o['as_of']}' is not a date (YYYY-MM-DD)", returncode=2) from None
        if not School.objects.filter(schema_name=o["schema"]).exclude(schema_name="public").exists():
            raise CommandError(f"no school with schema '{o['schema']}'", returncode=2)
        with schema_context(o["schema"]):
            rows = cases_export(as_of=as_of)
        if o["format"] == "json":
            text = json.dumps(rows, indent=2) + "\n"
        else:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(CASE_EXPORT_FIELDS)
            writer.writerows([_cell(r[f]) for f in CASE_EXPORT_FIELDS] for r in rows)
            text = out.getvalue()
        if o["output"]:
            with open(o["output"], "w", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            self.stdout.write(text, ending="")
