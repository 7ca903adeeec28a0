from django.utils import timezone

from registers.export_all import export_all
from tenants.models import School

from ._base import SchoolCommand


class Command(SchoolCommand):
    help = ("Write every record of the school as documented CSV files plus its stored files "
            "(letters' PDFs); the calendar, pupils, contacts and marks in the import layouts.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--output", required=True, help="directory to write into")

    def handle_school(self, **o):
        school = School.objects.get(schema_name=o["schema"])
        counts = export_all(o["output"], school=school, now=timezone.now())
        self.stdout.write(f"{o['output']}: " + ", ".join(
            f"{name} {n}" for name, n in counts.items()
            if not name.startswith("tables/") or n))
