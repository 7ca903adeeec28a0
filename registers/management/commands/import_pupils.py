from registers import imports

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = "Import pupils from a CSV file (README.md); all or nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")

    def handle_school(self, **o):
        with self.open_file(o["file"]) as fh:
            result = imports.import_pupils(fh, source=o["file"])
        self.stdout.write(f"{o['file']}: {result.summary()}")
