
from registers import ctf
from tenants.models import School

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = ("Import pupils, contacts and attendance history from a Common Transfer File "
            "(XML, docs/domain.md section 7); all or nothing.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")

    def handle_school(self, **o):
        result = ctf.import_ctf(self.read_file(o["file"]), school=School.objects.get(schema_name=o["schema"]))
        self.stdout.write(f"{o['file']}: {result.created} pupil(s) created, "
                          f"{result.updated} updated" + "".join(f"; {n}" for n in result.notes))
