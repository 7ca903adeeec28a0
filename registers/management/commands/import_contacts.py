from registers import imports

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = ("Import parent/carer contacts from a CSV file: upn, priority, forename, surname "
            "[, title, relationship, parental_responsibility, correspondence, phone, mobile, "
            "email, address]. A pupil's contacts in the file replace their old ones.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")

    def handle_school(self, **o):
        with self.open_file(o["file"]) as fh:
            result = imports.import_contacts(fh, source=o["file"])
        self.stdout.write(f"{o['file']}: {result.summary()}")
