"""Thin Celery tasks for family messages (the school's schema travels in the headers)."""

from attendance_site.celery import app

from . import family_messages


@app.task(acks_late=True, ignore_result=True, time_limit=120)
def send_family_message(message_id: int) -> bool:
    return family_messages.message_send(message_id=message_id)


@app.task(acks_late=True, ignore_result=True, time_limit=120)
def send_parent_notice(notice_id: int) -> bool:
    from . import parent_notices

    return parent_notices.notice_send(notice_id=notice_id)


@app.task(ignore_result=True, time_limit=60)
def refresh_family_message_status(message_id: int):
    return family_messages.message_status_refresh(message_id=message_id)


@app.task(ignore_result=True, time_limit=600)
def sweep_family_messages_all_schools() -> dict:
    """Celery beat: in every school, texts and emails claimed and never confirmed become
    "needs checking" (``family_messages.sweep_sending``), never a second message."""
    import logging

    from django_tenants.utils import schema_context

    from tenants.models import School

    out = {}
    for schema in School.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                from . import parent_notices

                n = family_messages.sweep_sending() + parent_notices.sweep_sending()
        except Exception:  # one school's trouble does not stop the others
            logging.getLogger(__name__).exception("message sweep failed for %s", schema)
            continue
        if n:
            out[schema] = n
    return out


@app.task(ignore_result=True, time_limit=600)
def auto_send_all_schools() -> dict:
    """Celery beat: each school that sends first-day messages when the register closes."""
    import logging

    from django_tenants.utils import schema_context

    from tenants.models import School

    out = {}
    for schema in School.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                counts = family_messages.auto_send_due()
        except Exception:  # one school's trouble does not stop the others
            logging.getLogger(__name__).exception("automatic first-day messages failed for %s", schema)
            continue
        if counts:
            out[schema] = counts
    return out


@app.task(ignore_result=True, time_limit=600)
def register_reminders_all_schools() -> dict:
    """Celery beat (issue 17): in each school that reminds teachers automatically, remind the
    teachers of registers still not taken the set number of minutes after closing."""
    import logging

    from django_tenants.utils import schema_context

    from tenants.models import School

    from . import register_reminders

    out = {}
    for schema in School.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        try:
            with schema_context(schema):
                n = register_reminders.auto_remind_due()
        except Exception:  # one school's trouble does not stop the others
            logging.getLogger(__name__).exception("register reminders failed for %s", schema)
            continue
        if n:
            out[schema] = n
    return out
