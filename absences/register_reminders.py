"""Issue 17: remind a teacher that a register is not taken, by email and, when the school has
the teacher's mobile, by text (absences.sms's backend, as for first-day messages).

The office presses Remind on its Today page; a school may also have reminders sent
automatically a set number of minutes after each register closes (Celery beat,
``auto_remind_due``). An automatic reminder goes to a teacher at most once per session: a
partial unique constraint on RegisterReminder makes a second claim fail, so beat running
twice, or two workers at once, never sends two.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from registers.models import RegistrationGroup, SchoolDay
from registers.selectors import register_status

from . import sms
from .family_messages import current_school
from .models import RegisterReminder, RegisterReminderSettings, StaffMobile

log = logging.getLogger(__name__)

AUTO_WINDOW = timedelta(hours=1)  # beat catches up within this long after the due time


def _text(group: RegistrationGroup, day: date, session: str, school) -> tuple[str, str]:
    path = reverse("register", args=[group.pk, day, session])
    domain = school.get_primary_domain() if hasattr(school, "get_primary_domain") else None
    link = f"https://{domain.domain}{path}" if domain else path
    subject = f"Register not taken: {group.name} {session} {day:%-d %b}"
    body = (f"The {session} register for {group.name} on {day:%A %-d %B} has not been taken "
            f"yet. Please take it now: {link}\n\n{school.name} office")
    return subject, body


def _send(reminder: RegisterReminder, group, day, session, school) -> RegisterReminder:
    subject, body = _text(group, day, session, school)
    channels, errors = [], []
    teacher = reminder.teacher
    if teacher.email:
        try:
            EmailMessage(subject=subject, body=body, to=[teacher.email],
                         reply_to=[school.email] if school.email else None).send()
            channels.append("email")
        except Exception as exc:  # the reminder is recorded with what went wrong
            errors.append(f"email: {exc}"[:200])
    mobile = StaffMobile.objects.filter(user_id=teacher.pk).values_list("mobile", flat=True).first()
    if mobile:
        try:
            sms.get_backend().send(to=mobile, body=body, reference=f"reminder-{reminder.pk}")
            channels.append("sms")
        except sms.SMSError as exc:
            errors.append(f"text: {exc}"[:200])
    if not channels and not errors:
        errors.append("no email address or mobile for this teacher")
    reminder.channels, reminder.error = ",".join(channels), "; ".join(errors)[:500]
    reminder.save(update_fields=["channels", "error"])
    return reminder


def remind(*, group: RegistrationGroup, day: date, session: str, user=None,
           automatic: bool = False) -> list[RegisterReminder]:
    """Remind every teacher of the class; the reminders sent (an automatic reminder already
    sent this session to a teacher is skipped)."""
    school = current_school()
    out = []
    for teacher in group.teachers.all():
        try:
            with transaction.atomic():
                reminder = RegisterReminder.objects.create(
                    group=group, teacher=teacher, date=day, session=session, automatic=automatic,
                    sent_by_name=(user.get_full_name() or user.username) if user else "automatic")
        except IntegrityError:
            continue  # already reminded automatically this session
        out.append(_send(reminder, group, day, session, school))
    return out


def reminders_for(day: date) -> dict[tuple[int, str], list[RegisterReminder]]:
    """The day's reminders by (class, session), newest first: one query."""
    out: dict[tuple[int, str], list] = {}
    for r in RegisterReminder.objects.filter(date=day).order_by("-sent_at"):
        out.setdefault((r.group_id, r.session), []).append(r)
    return out


def settings_save(*, minutes_after_close: int | None, mobiles: dict[int, str]) -> None:
    current = RegisterReminderSettings.get()
    current.minutes_after_close = minutes_after_close
    current.save()
    for user_id, mobile in mobiles.items():
        if mobile:
            StaffMobile.objects.update_or_create(user_id=user_id, defaults={"mobile": mobile})
        else:
            StaffMobile.objects.filter(user_id=user_id).delete()


def auto_remind_due(*, now=None) -> int | None:
    """Celery beat, every few minutes, in each school: once a register has been closed for
    the school's set number of minutes (and for up to an hour after), remind the teachers of
    each class whose register is still not complete. None: not set, or not due."""
    minutes = RegisterReminderSettings.get().minutes_after_close
    if minutes is None:
        return None
    now = timezone.localtime(now)
    if not SchoolDay.objects.filter(date=now.date(), closed=False).exists():
        return None
    school = current_school()
    sent = None
    for session in ("AM", "PM"):
        due = datetime.combine(now.date(), school.register_times(session)[2],
                               tzinfo=now.tzinfo) + timedelta(minutes=minutes)
        if due <= now <= due + AUTO_WINDOW:
            sent = sent or 0
            for g in register_status(now.date()):
                if g.missing[session]:
                    sent += len(remind(group=g, day=now.date(), session=session, automatic=True))
    return sent
