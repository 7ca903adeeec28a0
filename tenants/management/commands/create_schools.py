import time

from django.core.management.base import BaseCommand, CommandError

from tenants.school_list import SchoolListRejected, school_list_read
from tenants.services import schools_create


class Command(BaseCommand):
    help = ("Create every school of a trust's or LA's CSV list (schema,name,domain[,preset,trust,"
            "trust_name,urn,la_code,estab,headteacher,email,phone]), each a copy of the template "
            "schema; all or none, problems reported by line and field.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV list (UTF-8)")

    def handle(self, *args, **o):
        try:
            with open(o["file"], encoding="utf-8-sig", newline="") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise CommandError(f"cannot read {o['file']}: {e}") from e
        try:
            rows = school_list_read(text)
        except SchoolListRejected as e:
            for line in e.errors:
                self.stderr.write(f"{o['file']}: {line}")
            raise CommandError(f"nothing created: {len(e.errors)} problem(s) in {o['file']}") from None
        started = time.perf_counter()
        try:
            schools = schools_create(rows)
        except ValueError as e:
            raise CommandError(f"nothing created: {e}") from None
        seconds = time.perf_counter() - started
        for school in schools:
            self.stdout.write(f"Created {school.name} (schema {school.schema_name})")
        self.stdout.write(f"Created {len(schools)} school(s) in {seconds:.1f} s "
                          f"({seconds / max(len(schools), 1):.2f} s a school).")
