import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from escalation.selectors import penalty_candidates
from tenants.models import School


class Command(BaseCommand):
    help = ("Pupils with 10 or more unauthorised sessions within the 10 most recent school weeks up to "
            "the week containing DATE (docs/domain.md section 6).")

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True)
        parser.add_argument("--as-of", required=True)
        parser.add_argument("--format", choices=["json"], default="json")
        parser.add_argument("--output")

    def handle(self, *args, **o):
        try:
            as_of = date.fromisoformat(o["as_of"])
        except ValueError:
            raise CommandError(f"'{o['as_of']}' is not a date (YYYY-MM-DD)", returncode=2) from None
        if not School.objects.filter(schema_name=o["schema"]).exclude(schema_name="public").exists():
            raise CommandError(f"no school with schema '{o['schema']}'", returncode=2)
        with schema_context(o["schema"]):
            rows = [{k: r[k] for k in ("upn", "unauthorised_sessions", "window_start", "window_end")}
                    for r in penalty_candidates(as_of=as_of)]
        text = json.dumps(rows, indent=2) + "\n"
        if o["output"]:
            with open(o["output"], "w", encoding="utf-8") as f:
                f.write(text)
        else:
            self.stdout.write(text, ending="")
