"""Thin Celery tasks: fetch by id, call a service. The school's schema travels in the task
headers (tenant-schemas-celery reads it from the connection when the task is sent)."""

from __future__ import annotations

import logging

from django.db import OperationalError

from attendance_site.celery import app

from . import services
from .models import Chunk, Letter

log = logging.getLogger(__name__)


class ChunkTask(app.Task):
    """A chunk that still fails after its retries marks its letters failed with the reason,
    so the batch finishes and the attendance lead can retry them."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        chunk = Chunk.objects.filter(pk=args[0]).first()
        if chunk is None:
            return
        Letter.objects.filter(pk__in=chunk.letter_ids, status=Letter.Status.QUEUED).update(
            status=Letter.Status.FAILED, error=f"Worker error: {exc}"[:500])
        services.batch_chunk_done(chunk_id=chunk.pk)


@app.task(base=ChunkTask, bind=True, acks_late=True, time_limit=600, soft_time_limit=540,
          autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, ignore_result=True)
def render_chunk(self, chunk_id: int) -> dict:
    return services.batch_render_chunk(chunk_id=chunk_id)


@app.task(acks_late=True, time_limit=600, ignore_result=True)
def batch_finish(batch_id: int) -> bool:
    return services.batch_finish_if_done(batch_id=batch_id)


@app.task(ignore_result=True, time_limit=600)
def sweep_stalled_all_schools(schemas: list[str] | None = None, **limits) -> dict:
    """Celery beat, every few minutes: each school's stalled batches, chunks and unconfirmed
    emails (``services.sweep_stalled``). ``limits`` (seconds) are for tests and operators."""
    from datetime import timedelta

    from django_tenants.utils import schema_context

    from tenants.models import School

    kw = {k: timedelta(seconds=v) for k, v in limits.items()
          if k in ("stalled_after", "waiting_after", "sending_after")}
    qs = School.objects.exclude(schema_name="public").order_by("schema_name")
    if schemas is not None:
        qs = qs.filter(schema_name__in=schemas)
    out = {}
    for schema in qs.values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                found = services.sweep_stalled(**kw)
        except Exception:  # one school's trouble does not stop the others being swept
            log.exception("stall sweep failed for %s", schema)
            continue
        if any(found.values()):
            out[schema] = found
    return out


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
