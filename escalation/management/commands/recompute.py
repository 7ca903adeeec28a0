from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from escalation.nightly import night_of, night_run
from tenants.models import School


def iso(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD)", returncode=2) from None


class Command(BaseCommand):
    help = ("Run the nightly job synchronously (the same code Celery beat runs): statistics, bands, "
            "stage triggers, cases, letters queued, N → O. Idempotent for a given night.")

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--schema", help="the school's tenant schema")
        who.add_argument("--all-schools", action="store_true")
        parser.add_argument("--as-of", help="evaluate as on the night of DATE (marks up to and including it)")

    def handle(self, *args, **o):
        as_of = iso(o["as_of"]) if o["as_of"] else night_of()
        schools = School.objects.exclude(schema_name="public").order_by("schema_name")
        if o["schema"]:
            schools = schools.filter(schema_name=o["schema"])
            if not schools.exists():
                raise CommandError(f"no school with schema '{o['schema']}'", returncode=2)
        failed = []
        for schema in schools.values_list("schema_name", flat=True):
            try:
                with schema_context(schema):
                    run = night_run(as_of=as_of)
            except Exception as exc:  # one school's failure must not stop the others
                failed.append(schema)
                self.stderr.write(f"{schema}: FAILED for {as_of}: {type(exc).__name__}: {exc}")
                continue
            took = (run.finished - run.started).total_seconds()
            facts = ", ".join(f"{k} {v}" for k, v in run.summary.items())
            self.stdout.write(f"{schema}: night {as_of} done in {took:.2f} s ({facts})")
        if failed:
            raise CommandError(f"{len(failed)} school(s) failed: {', '.join(failed)}", returncode=1)
