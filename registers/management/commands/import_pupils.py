from registers import imports

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = "Import pupils from a CSV file (interfaces.md); all or nothing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")


    def handle_school(self, **o):
        result = imports.import_pupils(self.read_file(o["file"]))
        self.stdout.write(f"{o['file']}: {result.created} created, {result.updated} updated"
                          + (f", {result.unchanged} unchanged" if result.unchanged else "")
                          + "".join(f"; {n}" for n in result.notes))
