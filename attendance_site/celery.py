import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")

app = CeleryApp("attendance_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
