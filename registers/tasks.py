"""Thin Celery tasks of the registers app."""

from __future__ import annotations

import logging

from attendance_site.celery import app

log = logging.getLogger(__name__)


@app.task(time_limit=1800)
def dfe_extract_all_schools(day: str | None = None) -> dict:
    """Celery beat, each evening after registers close: every school's daily extract for
    the DfE (registers/dfe.py), for today unless ``day`` (YYYY-MM-DD) is given."""
    from datetime import date

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenants.models import School

    from . import dfe

    when = date.fromisoformat(day) if day else timezone.localdate()
    out = {}
    for schema in School.objects.exclude(schema_name="public").order_by("schema_name") \
            .values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                extract = dfe.extract_write(when)
            if extract is not None:  # a school day there
                out[schema] = extract.rows
        except Exception:  # one school's trouble does not stop the others' extracts
            log.exception("DfE extract failed for %s", schema)
    return out


@app.task(time_limit=300, ignore_result=True)
def dashboard_warm(schema_name: str) -> None:
    """Issue 18.4: the head's dashboard figures for the school's data as it is now, into the
    shared cache (registers.dashboard.on_marks_saved queues it after register saves)."""
    import redis
    from django.conf import settings
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from . import dashboard

    # Saves from now on queue another warm-up: this one may not see them.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(dashboard._warm_flag(schema_name))
    with schema_context(schema_name):
        dashboard.dashboard_warm_now(timezone.localdate())
