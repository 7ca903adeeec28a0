"""Thin Celery tasks: the beat job fans out one task per school (docs/architecture.md).

Issue 18.3, thousands of schools: the fan-out does not put every school on the broker at once.
The schools wait in a Redis list of their own (the run's feed) and at most
NIGHTLY_IN_FLIGHT school tasks are queued or running at any time; each school's task, when it
ends (done or failed), queues the next school of the feed. So the broker's queue stays short
(a letters or messages task queued meanwhile waits for at most NIGHTLY_IN_FLIGHT schools, not
for the whole night), every worker process takes one school at a time (prefetch 1, late acks),
and a slow school holds one process while the others keep going. A worker killed mid-school
gets its task back (late ack) and that task feeds on when it ends.
"""

import logging
import uuid
from datetime import date

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from .nightly import night_of, run_for_schema

log = logging.getLogger(__name__)

FEED_TTL = 24 * 3600


def _redis():
    from attendance_site.redis_client import broker

    return broker()


def _feed_key(feed: str) -> str:
    return f"{settings.CELERY_KEY_PREFIX}nightly:feed:{feed}"


def _feed_next(feed: str, night: str) -> str | None:
    """Queue the next school of the run's feed, if any is left."""
    raw = _redis().lpop(_feed_key(feed))
    if raw is None:
        return None
    schema = raw.decode()
    nightly_school.apply_async(args=(schema, night), kwargs={"feed": feed},
                               headers={"_schema_name": schema})
    return schema


@shared_task(name="escalation.tasks.nightly_school", acks_late=True, time_limit=20 * 60,
             soft_time_limit=19 * 60, autoretry_for=(OperationalError,), retry_backoff=30, max_retries=3)
def nightly_school(schema_name: str, as_of: str | None = None, feed: str | None = None) -> dict:
    """Run one school's night. A failure is recorded (NightlyRun row) and affects no other school;
    with a ``feed``, the next school of the run is queued when this one ends, whatever the end."""
    night = date.fromisoformat(as_of) if as_of else night_of()
    try:
        run = run_for_schema(schema_name, night)
    finally:
        if feed:
            _feed_next(feed, night.isoformat())
    return {"schema": schema_name, "night": night.isoformat(), "run": run.pk, **run.summary}


@shared_task(name="escalation.tasks.nightly_all_schools")
def nightly_all_schools(as_of: str | None = None, schemas: list[str] | None = None) -> list[str]:
    """Beat entry point: every school's ``nightly_school``, at most NIGHTLY_IN_FLIGHT at a time."""
    from tenants.models import School

    night = as_of or night_of().isoformat()
    qs = School.objects.exclude(schema_name="public").order_by("schema_name")
    if schemas is not None:
        qs = qs.filter(schema_name__in=schemas)
    every = list(qs.values_list("schema_name", flat=True))
    window = max(1, getattr(settings, "NIGHTLY_IN_FLIGHT", 64))
    feed = uuid.uuid4().hex
    if len(every) > window:
        key = _feed_key(feed)
        with _redis().pipeline() as pipe:
            pipe.rpush(key, *every[window:])
            pipe.expire(key, FEED_TTL)
            pipe.execute()
    for schema in every[:window]:
        nightly_school.apply_async(args=(schema, night), kwargs={"feed": feed},
                                   headers={"_schema_name": schema})
    log.info("nightly run for %s: %d schools, %d in flight at a time", night, len(every), window)
    return every
