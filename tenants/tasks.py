"""Thin Celery tasks for accounts."""

from attendance_site.celery import app


@app.task(time_limit=120, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def password_reset_send(email: str, base: str) -> None:
    from .accounts import password_reset_send as send

    send(email=email, base=base)


@app.task(time_limit=600, ignore_result=True)
def ready_schemas_fill() -> dict:
    """Copies of the template made ahead of time, so a new school takes one at once
    (tenants/provisioning.py): queued when one is taken, and by beat."""
    from .provisioning import ready_fill

    return ready_fill()
