"""Thin Celery tasks of the dashboards."""

from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import schema_context

from attendance_site.celery import app
from attendance_site.redis_client import broker

from . import figures


@app.task(time_limit=300, ignore_result=True)
def dashboard_warm(schema_name: str) -> None:
    """Issue 18.4: the head's dashboard figures for the school's data as it is now, into the
    shared cache (dashboards.figures.on_marks_saved queues it after register saves)."""
    # Saves from now on queue another warm-up: this one may not see them.
    broker().delete(figures._warm_flag(schema_name))
    with schema_context(schema_name):
        figures.dashboard_warm_now(timezone.localdate())


WARM_ALL_EXPIRES = 4 * 60 * 60  # a morning warm-up not started by about 08:00 is dropped


@app.task(time_limit=300, ignore_result=True)
def dashboard_warm_all_schools() -> int:
    """Celery beat, early each morning after the nightly run: every school's default dashboard
    for the new day. Its dates move on at midnight and the nightly run changes the figures, so
    without this each head's first look of the day would be a recomputation (about a second
    for a 1,000-pupil school). One warm-up a school, queued; one that is still waiting when
    registers open is dropped, since the morning's saves queue their own."""
    from tenants.models import School

    schemas = list(School.objects.exclude(schema_name="public").order_by("schema_name")
                   .values_list("schema_name", flat=True))
    for schema in schemas:
        dashboard_warm.apply_async(args=(schema,), headers={"_schema_name": schema},
                                   expires=WARM_ALL_EXPIRES)
    return len(schemas)
