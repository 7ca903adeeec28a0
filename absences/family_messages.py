"""First-day messages: a text and/or email to the family of a pupil absent with no reason.

The office queues them from the calling list (everyone marked N for a session, or one
family); each is a ``FamilyMessage`` row, the pupil's contact-log record with its delivery
status. After the queueing transaction commits, Celery sends each one: ``message_send``
claims it (queued -> sending, committed) before the provider is called and records the
provider's id after, so a redelivered task or a second worker never sends it twice; a crash
in between leaves it "sending", which ``sweep_sending`` turns into "needs checking".

The wording is the school's own template, filled with ``str.format_map`` over a fixed dict
of fields (never the Django template engine): an unknown field, attribute or index access
or a format spec is refused when the template is saved and again when it is used.
"""

from __future__ import annotations

import logging
import string
from datetime import date, datetime, timedelta
from email.utils import make_msgid

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from registers.models import Contact, Mark, Pupil

from . import language, sms
from .models import ContactPreference, FamilyMessage, MessageSettings

log = logging.getLogger(__name__)

FIELDS = ("forename", "surname", "school", "school_phone", "date", "session", "contact")
SESSION_WORDS = {"AM": gettext_noop("morning"), "PM": gettext_noop("afternoon")}
# The default wording in the catalogues (locale/): a family that chose another language gets
# it translated while the school keeps the default; a school's own wording is sent as written.
gettext_noop("{forename} is not in school today. Please reply or call {school_phone}.")
gettext_noop("{forename} is not in school today")
SENDING_AFTER = timedelta(minutes=15)
STATUS_CHECK_AFTER = 120  # seconds before asking the provider whether a text arrived


# --- the template ----------------------------------------------------------------------------

def template_check(text: str) -> None:
    """Refuse anything but the plain ``{field}`` merge fields in ``FIELDS``."""
    if not text.strip():
        raise ValidationError(_("Write the message."))
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(_("The message has an unmatched brace: %(e)s. Write {{ or }} "
                                "for a brace itself.") % {"e": exc}) from exc
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            raise ValidationError(_("Unknown merge field {%(f)s}. Use only: %(ok)s.") % {
                "f": field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""),
                "ok": ", ".join(f"{{{f}}}" for f in FIELDS)})


def template_render(text: str, fields: dict) -> str:
    template_check(text)
    return text.format_map({k: str(fields.get(k, "")) for k in FIELDS})


def current_school():
    """The school whose schema is active (``schema_context`` in Celery and beat sets only a
    stand-in tenant without the school's name, phone or email)."""
    from tenants.models import School

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, School):
        return tenant
    return School.objects.get(schema_name=connection.schema_name)


def merge_fields(*, pupil: Pupil, contact: Contact | None, day: date, session: str) -> dict:
    school = current_school()
    return {"forename": pupil.preferred_forename or pupil.legal_forename,
            "surname": pupil.legal_surname, "school": school.name,
            "school_phone": school.phone or _("the school office"),
            "date": date_format(day, "l j F"), "session": _(SESSION_WORDS.get(session, session)),
            "contact": str(contact) if contact else ""}


@transaction.atomic
def settings_save(*, template: str, email_subject: str, send_on_close: bool = False,
                  text_when_school_writes: bool | None = None) -> MessageSettings:
    template_check(template)
    template_check(email_subject)
    s = MessageSettings.get()
    s.template, s.email_subject = template.strip(), email_subject.strip()
    s.send_on_close = send_on_close
    if text_when_school_writes is not None:
        s.text_when_school_writes = text_when_school_writes
    s.save()
    return s


# --- who gets what -----------------------------------------------------------------------------

@transaction.atomic
def preference_set(*, contact: Contact, channel: str) -> ContactPreference:
    """How a contact would like school messages (a parent chooses in the portal)."""
    if channel not in ContactPreference.Channel.values:
        raise ValidationError({"channel": _("Choose how you would like messages.")})
    pref, _created = ContactPreference.objects.update_or_create(contact=contact,
                                                                defaults={"channel": channel})
    return pref


@transaction.atomic
def language_set(*, user, code: str) -> int:
    """A parent chooses their language: remembered on each of their contact records in this
    school (texts, emails and letters to them use it). Returns the records updated."""
    from django.conf import settings

    if code not in [c for c, _n in settings.LANGUAGES]:
        raise ValidationError({"language": _("Choose a language from the list.")})
    contacts = list(Contact.objects.filter(user=user))
    for contact in contacts:
        ContactPreference.objects.update_or_create(contact=contact, defaults={"language": code})
    return len(contacts)


def channels_for(contact: Contact, preference: str) -> list[tuple[str, str]]:
    """[(channel, address)] for one contact: their preference among the details on file;
    if the preferred way has no details, whatever there is (text first)."""
    have = {}
    if contact.mobile.strip():
        have["sms"] = contact.mobile.strip()
    if contact.email.strip():
        have["email"] = contact.email.strip()
    wanted = {"auto": ["sms"] if "sms" in have else ["email"], "sms": ["sms"],
              "email": ["email"], "both": ["sms", "email"]}.get(preference, ["sms"])
    out = [(c, have[c]) for c in wanted if c in have]
    return out or [(c, have[c]) for c in ("sms", "email") if c in have][:1]


def _first_reachable(contacts: list[Contact], prefs: dict) -> tuple[Contact | None, list]:
    for c in contacts:
        chans = channels_for(c, prefs.get(c.pk, ContactPreference.Channel.AUTO))
        if chans:
            return c, chans
    return None, []


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "automatic"


@transaction.atomic
def first_day_queue(*, day: date, session: str, user, pupil: Pupil | None = None) -> dict:
    """Queue a message to the first contact who can be reached of every pupil marked N for
    the session (or of one pupil). Everyone at once skips families already messaged for the
    session; one family is messaged again only if every earlier message failed. Returns
    counts: queued, skipped, unreachable."""
    marks = Mark.objects.filter(date=day, session=session, code="N")
    if pupil is not None:
        marks = marks.filter(pupil=pupil)
    pupil_ids = list(marks.values_list("pupil_id", flat=True))
    if pupil is not None and not pupil_ids:
        raise ValidationError(_("%(name)s is not marked absent with no reason for this session.")
                              % {"name": pupil.display_name})
    earlier = FamilyMessage.objects.filter(pupil_id__in=pupil_ids, date=day, session=session)
    if pupil is not None:  # one family: again only if everything so far failed
        earlier = earlier.exclude(status=FamilyMessage.Status.FAILED)
    done = set(earlier.values_list("pupil_id", flat=True))
    contacts: dict[int, list[Contact]] = {}
    for c in Contact.objects.filter(pupil_id__in=pupil_ids).order_by("priority"):
        contacts.setdefault(c.pupil_id, []).append(c)
    prefs, langs = {}, {}
    for cid, channel, lang in ContactPreference.objects.filter(contact__pupil_id__in=pupil_ids) \
            .values_list("contact_id", "channel", "language"):
        prefs[cid], langs[cid] = channel, language.valid(lang)
    settings = MessageSettings.get()
    counts = {"queued": 0, "skipped": 0, "unreachable": 0}
    rows = []
    pupils = Pupil.objects.in_bulk(pupil_ids)
    for pid in pupil_ids:
        if pid in done:
            counts["skipped"] += 1
            continue
        p = pupils[pid]
        contact, chans = _first_reachable(contacts.get(pid, []), prefs)
        base = dict(pupil=p, date=day, session=session, created_by=user,
                    created_by_name=_name(user)[:150])
        if contact is None:
            counts["unreachable"] += 1
            rows.append(FamilyMessage(**base, channel="sms", status=FamilyMessage.Status.FAILED,
                                      body="", error=_("No contact with a mobile number or email "
                                                       "address: phone the family.")))
            continue
        with translation.override(langs.get(contact.pk, language.DEFAULT)):
            fields = merge_fields(pupil=p, contact=contact, day=day, session=session)
            body = template_render(in_language(settings.template, MessageSettings.DEFAULT_TEMPLATE), fields)
            subject = template_render(in_language(settings.email_subject,
                                                  MessageSettings.DEFAULT_SUBJECT), fields)[:200]
        for channel, to in chans:
            rows.append(FamilyMessage(
                **base, contact=contact, contact_name=str(contact)[:200], channel=channel, to=to,
                body=body, subject=subject if channel == "email" else ""))
            counts["queued"] += 1
    FamilyMessage.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(lambda: enqueue_queued(day=day, session=session))
    return counts


def in_language(text: str, default: str) -> str:
    """The school's wording; the default wording in the active language (the family's)."""
    return _(default) if text.strip() == default else text


def _enqueue(task, *args, **kw) -> bool:
    """Hand a task to the broker, giving up after about a second (the message stays queued
    and the next "send" from the calling list hands it over again). Never raises."""
    try:
        task.apply_async(args=args, retry=True, retry_policy={
            "max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}, **kw)
    except Exception:
        log.warning("could not queue %s%r: broker unavailable", task.name, args, exc_info=True)
        return False
    return True


def enqueue_queued(*, day: date, session: str) -> int:
    """Hand every queued message of the session to Celery (claim-before-send makes a second
    hand-over of the same message harmless)."""
    from . import tasks

    ids = list(FamilyMessage.objects.filter(date=day, session=session,
                                            status=FamilyMessage.Status.QUEUED)
               .values_list("pk", flat=True))
    return sum(_enqueue(tasks.send_family_message, pk) for pk in ids)


# --- sending ----------------------------------------------------------------------------------

def message_send(*, message_id: int) -> bool:
    """Claim, send, record (see the module docstring). Run outside a transaction."""
    claimed = FamilyMessage.objects.filter(pk=message_id, status=FamilyMessage.Status.QUEUED,
                                           claimed_at__isnull=True).update(
        status=FamilyMessage.Status.SENDING, claimed_at=timezone.now())
    if not claimed:
        return False
    msg = FamilyMessage.objects.get(pk=message_id)
    try:
        if msg.channel == FamilyMessage.Channel.SMS:
            provider_id = sms.get_backend().send(to=msg.to, body=msg.body,
                                                 reference=f"{connection.schema_name}-{msg.pk}")
        else:
            provider_id = _email(msg)
    except Exception as exc:  # provider refused, unreachable, misconfigured
        FamilyMessage.objects.filter(pk=msg.pk, status=FamilyMessage.Status.SENDING).update(
            status=FamilyMessage.Status.FAILED, error=str(exc)[:500], status_at=timezone.now())
        return False
    now = timezone.now()
    FamilyMessage.objects.filter(pk=msg.pk, status__in=[FamilyMessage.Status.SENDING,
                                                        FamilyMessage.Status.CHECK]).update(
        status=FamilyMessage.Status.SENT, provider_id=provider_id[:255], sent_at=now, status_at=now, error="")
    if msg.channel == FamilyMessage.Channel.SMS:
        from . import tasks

        _enqueue(tasks.refresh_family_message_status, msg.pk, countdown=STATUS_CHECK_AFTER)
    return True


def _email(msg: FamilyMessage) -> str:
    school = current_school()
    reply_to = [school.email] if school.email else None
    email = EmailMessage(subject=msg.subject or msg.body[:60], body=msg.body, to=[msg.to],
                         reply_to=reply_to,
                         headers={"Message-ID": make_msgid(f"family{msg.pk}")})
    email.send()
    status = getattr(email, "anymail_status", None)
    return str(getattr(status, "message_id", None) or email.extra_headers["Message-ID"])


def message_status_refresh(*, message_id: int) -> str | None:
    """Ask the provider whether a sent text arrived; record delivered or failed."""
    msg = FamilyMessage.objects.filter(pk=message_id, channel=FamilyMessage.Channel.SMS,
                                       status=FamilyMessage.Status.SENT).first()
    if msg is None or not msg.provider_id:
        return None
    try:
        status = sms.get_backend().status(msg.provider_id)
    except Exception as exc:
        log.warning("status of message %s: %s", msg.pk, exc)
        return None
    if status != FamilyMessage.Status.SENT:
        FamilyMessage.objects.filter(pk=msg.pk, status=FamilyMessage.Status.SENT).update(
            status=status, status_at=timezone.now(),
            error=_("The network could not deliver the text.") if status == "failed" else "")
    return status


def statuses_refresh(*, day: date, session: str) -> int:
    ids = FamilyMessage.objects.filter(date=day, session=session, channel="sms",
                                       status=FamilyMessage.Status.SENT).values_list("pk", flat=True)
    return sum(1 for pk in ids if message_status_refresh(message_id=pk) not in (None, "sent"))


def sweep_sending(*, now=None, sending_after: timedelta = SENDING_AFTER) -> int:
    """Claimed and never confirmed: a person checks (never a second message)."""
    now = now or timezone.now()
    return FamilyMessage.objects.filter(status=FamilyMessage.Status.SENDING,
                                        claimed_at__lt=now - sending_after).update(
        status=FamilyMessage.Status.CHECK, status_at=now,
        error=_("The worker stopped while sending: check with the family before sending again."))


AUTO_WINDOW = timedelta(hours=1)  # after a register closes, how long automatic sending runs


def auto_send_due(*, now=None) -> dict | None:
    """Celery beat, every few minutes, in each school: if the school sends automatically and
    a register closed today within the last hour, queue the session's first-day messages
    (families already messaged are skipped, so running again is harmless). None: not due."""
    from registers.models import SchoolDay

    if not MessageSettings.get().send_on_close:
        return None
    now = timezone.localtime(now)
    if not SchoolDay.objects.filter(date=now.date(), closed=False).exists():
        return None
    school = current_school()
    for session in ("PM", "AM"):
        closes = datetime.combine(now.date(), school.register_times(session)[2], tzinfo=now.tzinfo)
        if closes < now <= closes + AUTO_WINDOW:
            return first_day_queue(day=now.date(), session=session, user=None)
    return None
