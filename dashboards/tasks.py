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


WARM_ALL_HOURS = 4  # a morning's warm-ups not done by about 08:00 stop: the saves queue their own
WARM_CHAINS = 4  # morning warm-ups on the broker or running at once
WARM_CHUNK = 20  # schools a warm-up task warms before it queues the rest of its chain


@app.task(time_limit=300, ignore_result=True)
def dashboard_warm_all_schools() -> int:
    """Celery beat, early each morning after the nightly run: every school's default dashboard
    for the new day. Its dates move on at midnight and the nightly run changes the figures, so
    without this each head's first look of the day would be a recomputation (about a second
    for a 1,000-pupil school).

    The schools are split into WARM_CHAINS chains; each task of a chain warms WARM_CHUNK
    schools, then queues the rest. So the broker never holds more than WARM_CHAINS of them:
    a parent's first-day message or a letter queued at 07:30 never waits behind thousands of
    warm-ups, and they use at most WARM_CHAINS worker processes."""
    from datetime import timedelta

    from tenants.models import School

    schemas = list(School.objects.exclude(schema_name="public").order_by("schema_name")
                   .values_list("schema_name", flat=True))
    until = (timezone.now() + timedelta(hours=WARM_ALL_HOURS)).isoformat()
    for k in range(min(WARM_CHAINS, len(schemas))):
        dashboard_warm_chain.delay(schemas[k::WARM_CHAINS], until)
    return len(schemas)


@app.task(time_limit=600, ignore_result=True)
def dashboard_warm_chain(schemas: list[str], until: str) -> int:
    """Warm the first WARM_CHUNK schools of ``schemas``, then queue the rest (before ``until``)."""
    import logging
    from datetime import datetime

    if timezone.now() >= datetime.fromisoformat(until):
        return 0
    for schema in schemas[:WARM_CHUNK]:
        try:
            with schema_context(schema):
                figures.dashboard_warm_now(timezone.localdate())
        except Exception:  # one school's trouble does not stop the others' warm-ups
            logging.getLogger(__name__).exception("dashboard warm-up failed for %s", schema)
    if schemas[WARM_CHUNK:]:
        dashboard_warm_chain.delay(schemas[WARM_CHUNK:], until)
    return len(schemas[:WARM_CHUNK])
