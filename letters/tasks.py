"""Thin Celery tasks: fetch by id, call a service. The school's schema travels in the task
headers (tenant-schemas-celery reads it from the connection when the task is sent)."""

from __future__ import annotations

from django.db import OperationalError

from attendance_site.celery import app

from . import services
from .models import Letter


class ChunkTask(app.Task):
    """A chunk that still fails after its retries marks its letters failed with the reason,
    so the batch finishes and the attendance lead can retry them."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        batch_id, letter_ids = args[0], args[1]
        Letter.objects.filter(pk__in=letter_ids, status=Letter.Status.QUEUED).update(
            status=Letter.Status.FAILED, error=f"Worker error: {exc}"[:500])
        services.batch_chunk_done(batch_id=batch_id)


@app.task(base=ChunkTask, bind=True, acks_late=True, time_limit=600, soft_time_limit=540,
          autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def render_chunk(self, batch_id: int, letter_ids: list[int]) -> dict:
    return services.batch_render_chunk(batch_id=batch_id, letter_ids=letter_ids)


@app.task(acks_late=True, time_limit=600)
def batch_finish(batch_id: int) -> bool:
    return services.batch_finish_if_done(batch_id=batch_id)


@app.task(time_limit=1800)
def render_queued() -> int | None:
    """The nightly job's queued letters for this school, as one batch."""
    batch = services.batch_create_queued()
    if batch is None:
        return None
    services.batch_start(batch=batch)
    return batch.pk


@app.task(time_limit=1800)
def returns_due_all_schools() -> dict:
    """Draft each school's returns that its schedule says are due (Celery beat, nightly)."""
    from django_tenants.utils import schema_context

    from tenants.models import School

    made = {}
    for schema in School.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            made[schema] = [r.pk for r in services.returns_generate_due()]
    return made
