from django.core.management.base import BaseCommand, CommandError

from tenants.models import School
from tenants.presets import PRESETS
from tenants.services import public_tenant_ensure, school_create


class Command(BaseCommand):
    help = "Create a school: its tenant schema, domain and (with --preset) its policy."

    def add_arguments(self, parser):
        parser.add_argument("--schema", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", required=True)
        parser.add_argument("--trust")
        parser.add_argument("--trust-name")
        parser.add_argument("--preset", choices=sorted(PRESETS))

    def handle(self, *args, **o):
        if School.objects.filter(schema_name=o["schema"]).exists():
            raise CommandError(f"a school with schema '{o['schema']}' already exists")
        public_tenant_ensure()
        school = school_create(schema=o["schema"], name=o["name"], domain=o["domain"],
                               trust_slug=o["trust"], trust_name=o["trust_name"],
                               preset=o["preset"])
        self.stdout.write(f"Created {school.name} (schema {school.schema_name}) at {o['domain']}")
