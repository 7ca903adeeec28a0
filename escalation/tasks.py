"""Thin Celery tasks: the beat job fans out one task per school (docs/architecture.md)."""

import logging
from datetime import date

from celery import shared_task
from django.db import OperationalError

from .nightly import night_of, run_for_schema

log = logging.getLogger(__name__)


@shared_task(name="escalation.tasks.nightly_school", acks_late=True, time_limit=20 * 60,
             soft_time_limit=19 * 60, autoretry_for=(OperationalError,), retry_backoff=30, max_retries=3)
def nightly_school(schema_name: str, as_of: str | None = None) -> dict:
    """Run one school's night. A failure is recorded (NightlyRun row) and affects no other school."""
    night = date.fromisoformat(as_of) if as_of else night_of()
    run = run_for_schema(schema_name, night)
    return {"schema": schema_name, "night": night.isoformat(), "run": run.pk, **run.summary}


@shared_task(name="escalation.tasks.nightly_all_schools")
def nightly_all_schools(as_of: str | None = None, schemas: list[str] | None = None) -> list[str]:
    """Beat entry point: one ``nightly_school`` task per school, each in its own schema."""
    from tenants.models import School

    night = as_of or night_of().isoformat()
    qs = School.objects.exclude(schema_name="public").order_by("schema_name")
    if schemas is not None:
        qs = qs.filter(schema_name__in=schemas)
    sent = []
    for schema in qs.values_list("schema_name", flat=True):
        nightly_school.apply_async(args=(schema, night), headers={"_schema_name": schema})
        sent.append(schema)
    log.info("nightly run for %s queued for %d schools", night, len(sent))
    return sent
