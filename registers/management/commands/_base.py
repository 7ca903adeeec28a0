"""Shared plumbing for the data commands of README.md: --schema, files, exit codes."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from registers.imports import ImportRejected
from tenants.models import School


class SchoolCommand(BaseCommand):
    """Runs ``handle_school`` inside the school's schema. Exit 1 on rejected input."""

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True, help="the school's tenant schema")

    def handle(self, *args, **options):
        schema = options["schema"]
        if not School.objects.filter(schema_name=schema).exclude(schema_name="public").exists():
            raise CommandError(f"no school with schema '{schema}'", returncode=2)
        with schema_context(schema):
            try:
                return self.handle_school(**options)
            except ImportRejected as exc:
                exc.source = exc.source or options.get("file", "")
                for line in exc.lines():
                    self.stderr.write(line)
                read_as = f" (read as {exc.encoding})" if exc.encoding not in ("", "text") else ""
                self.stderr.write(f"Nothing was imported: {exc.total} problem(s){read_as}.")
                sys.exit(1)

    def read_file(self, path: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}", returncode=2) from None

    def open_file(self, path: str):
        """The file, opened for reading as a stream (imports never read it whole)."""
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}", returncode=2) from None

    def write(self, text: str, output: str | None):
        if output:
            with open(output, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            self.stdout.write(text, ending="")
