"""Thin Celery tasks for family messages (the school's schema travels in the headers)."""

from attendance_site.celery import app

from . import family_messages


@app.task(acks_late=True, ignore_result=True, time_limit=120)
def send_family_message(message_id: int) -> bool:
    return family_messages.message_send(message_id=message_id)


@app.task(ignore_result=True, time_limit=60)
def refresh_family_message_status(message_id: int):
    return family_messages.message_status_refresh(message_id=message_id)
