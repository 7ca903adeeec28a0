"""Django's ``flush``, run as the owner's role: emptying tables takes TRUNCATE, which the
app's role does not have (attendance_site/db_roles.py). Test cases that commit (live server,
transactional tests) flush the database after each test through this command."""

from django.core.management.commands.flush import Command as FlushCommand

from attendance_site.db_roles import as_owner


class Command(FlushCommand):
    def handle(self, **options):
        with as_owner(options["database"]):
            return super().handle(**options)
