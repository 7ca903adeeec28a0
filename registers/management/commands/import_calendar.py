from registers import imports

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = "Import calendar from a CSV file (README.md); all or nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")

    def handle_school(self, **o):
        with self.open_file(o["file"]) as fh:
            result = imports.import_calendar(fh, source=o["file"])
        self.stdout.write(f"{o['file']}: {result.summary()}")
