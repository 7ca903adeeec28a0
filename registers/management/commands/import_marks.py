from registers import imports

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = "Import marks from a CSV file (README.md); all or nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--history", action="store_true",
                            help="accept pre-2024 codes, mapped as in registers/codes.py")

    def handle_school(self, **o):
        with self.open_file(o["file"]) as fh:
            result = imports.import_marks(fh, source=o["file"], history=o["history"])
        self.stdout.write(f"{o['file']}: {result.summary()}")
