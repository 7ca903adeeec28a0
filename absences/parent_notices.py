"""Messages when the school writes (issue 14): a letter issued, a leave request decided, a
report queried. The parent gets a portal message, an email and (if the school turns it on) a
text message, each in their language where a translation exists.

``tell`` is called inside the write's transaction: it stores the portal message and one
``ParentNotice`` per (channel, address), and after commit hands each to Celery. Sending is
``FamilyMessage``'s claim-before-send: ``notice_send`` claims (queued -> sending, committed)
before the provider is called, so a redelivered task never sends twice; a crash in between
leaves it "sending", which ``sweep_sending`` turns into "needs checking".

The text is composed by the caller's ``compose()`` (returns subject and body), called once
per language with that language active, so every gettext string in it is translated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.utils import make_msgid

from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import timezone, translation

from registers.models import Contact, Pupil

from . import language, sms
from .models import FamilyMessage, MessageSettings, ParentNotice, PortalMessage

log = logging.getLogger(__name__)

Compose = Callable[[], tuple[str, str]]


def recipients(pupil: Pupil, user=None) -> list[Contact]:
    """Who the school writes to: contacts flagged for correspondence (else the first
    contact), and the contact who is the signed-in parent the matter concerns."""
    contacts = list(Contact.objects.filter(pupil=pupil).order_by("priority")
                    .prefetch_related("message_preference"))
    chosen = [c for c in contacts if c.correspondence] or contacts[:1]
    mine = [c for c in contacts if user is not None and c.user_id == user.pk and c not in chosen]
    return chosen + mine


def contact_language(contact: Contact) -> str:
    try:
        pref = contact.message_preference
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist
        return language.DEFAULT
    return language.valid(pref.language)


def tell(*, pupil: Pupil, key: str, compose: Compose, recipient=None, link: str = "",
         html: Callable[[], str] | None = None, email: bool = True) -> PortalMessage:
    """Portal message to ``recipient`` (the parent concerned, if any) and queued email/text
    to each recipient contact, in each one's language. ``key`` names what was written: the
    same key and address never get a second message. ``email=False``: the writing itself
    goes by email (a letter emailed with its PDF), so only the portal message and text."""
    contacts = recipients(pupil, recipient)
    mine = next((c for c in contacts if recipient is not None and c.user_id == recipient.pk), None)
    portal_lang = contact_language(mine) if mine else (
        contact_language(contacts[0]) if contacts else language.DEFAULT)
    with translation.override(portal_lang):
        subject, body = compose()
    message = PortalMessage.objects.create(pupil=pupil, recipient=recipient, subject=subject[:200],
                                           body=body, link=link)
    text_too = MessageSettings.get().text_when_school_writes
    rows, seen = [], set()
    for c in contacts:
        lang = contact_language(c)
        with translation.override(lang):
            subject, body = compose()
            page = html() if html else ""
        wanted = []
        if email and c.email.strip():
            wanted.append(("email", c.email.strip()))
        if text_too and c.mobile.strip():
            wanted.append(("sms", c.mobile.strip()))
        for channel, to in wanted:
            if (channel, to) in seen:
                continue
            seen.add((channel, to))
            rows.append(ParentNotice(pupil=pupil, contact=c, key=key[:120], channel=channel, to=to,
                                     language=lang, subject=subject[:200],
                                     body=body if channel == "email" else f"{subject}\n{body}",
                                     html=page if channel == "email" else ""))
    ParentNotice.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(lambda: enqueue_queued(key=key[:120]))
    return message


def enqueue_queued(*, key: str | None = None) -> int:
    from . import tasks
    from .family_messages import _enqueue

    qs = ParentNotice.objects.filter(status=ParentNotice.Status.QUEUED)
    if key is not None:
        qs = qs.filter(key=key)
    return sum(_enqueue(tasks.send_parent_notice, pk) for pk in qs.values_list("pk", flat=True))


def notice_send(*, notice_id: int) -> bool:
    """Claim, send, record. Run outside a transaction."""
    Status = FamilyMessage.Status
    claimed = ParentNotice.objects.filter(pk=notice_id, status=Status.QUEUED,
                                          claimed_at__isnull=True).update(
        status=Status.SENDING, claimed_at=timezone.now())
    if not claimed:
        return False
    n = ParentNotice.objects.get(pk=notice_id)
    try:
        if n.channel == ParentNotice.Channel.SMS:
            provider_id = sms.get_backend().send(to=n.to, body=n.body,
                                                 reference=f"{connection.schema_name}-notice-{n.pk}")
        else:
            provider_id = _email(n)
    except Exception as exc:  # provider refused, unreachable, misconfigured
        ParentNotice.objects.filter(pk=n.pk, status=Status.SENDING).update(
            status=Status.FAILED, error=str(exc)[:500])
        return False
    ParentNotice.objects.filter(pk=n.pk, status__in=[Status.SENDING, Status.CHECK]).update(
        status=Status.SENT, provider_id=provider_id[:255], sent_at=timezone.now(), error="")
    return True


def _email(n: ParentNotice) -> str:
    from .family_messages import current_school

    school = current_school()
    msg = EmailMultiAlternatives(subject=n.subject, body=n.body, to=[n.to],
                                 reply_to=[school.email] if school.email else None,
                                 headers={"Message-ID": make_msgid(f"notice{n.pk}"),
                                          "Content-Language": n.language or language.DEFAULT})
    if n.html:
        msg.attach_alternative(n.html, "text/html")
    msg.send()
    return msg.extra_headers["Message-ID"]


def sweep_sending(*, now=None, sending_after=None) -> int:
    from .family_messages import SENDING_AFTER

    now = now or timezone.now()
    return ParentNotice.objects.filter(status=FamilyMessage.Status.SENDING,
                                       claimed_at__lt=now - (sending_after or SENDING_AFTER)).update(
        status=FamilyMessage.Status.CHECK,
        error="The worker stopped while sending: check before sending again.")
