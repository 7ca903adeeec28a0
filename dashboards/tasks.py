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
