"""Issue 17 item 4: a letter for a case in two clicks from the case page (choose a template,
render), then emailed to the correspondence contacts or marked posted or handed over, each
step recorded on the case's chronology; and a message to one of the pupil's contacts from
the case page, by text or email as the contact prefers (absences.family_messages' channel
rule and absences.sms's backend), also recorded on the case."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from absences import sms
from absences.family_messages import channels_for, current_school
from absences.models import ContactPreference
from escalation.models import Case, CaseEvent
from escalation.services import case_event
from registers.models import Contact

from . import services
from .models import Letter, LetterTemplate

HOW = {"posted": "Posted to the family", "handed": "Handed to the parent"}


def case_letter_render(*, case: Case, template: LetterTemplate, user) -> Letter | None:
    """Queue and render the template for the case's pupil now; None if it did not render."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S%f")
    letter = services.letter_queue(pupil=case.pupil, template_key=template.key, case=case,
                                   trigger_key=f"case:{case.pk}:{template.key}:{stamp}")
    if letter is None:
        return None
    ok = services.render_now(letter=letter)
    letter.refresh_from_db()
    case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.LETTER, user=user,
               channel=CaseEvent.Channel.LETTER,
               detail=f"{template.name} rendered." if ok else f"{template.name} failed: {letter.error}")
    return letter if ok else None


def case_letter_email(*, letter: Letter, user) -> bool:
    """Email the rendered letter to the correspondence contacts (letters.services.letter_email:
    claimed before sending, so never twice). Run outside a transaction."""
    sent = services.letter_email(letter=letter)
    letter.refresh_from_db()
    if sent and letter.case_id:
        case_event(case=letter.case, pupil_id=letter.pupil_id, kind=CaseEvent.Kind.LETTER,
                   channel=CaseEvent.Channel.EMAIL, user=user,
                   detail=f"Letter emailed to {letter.emailed_to}.")
    return sent


@transaction.atomic
def case_letter_delivered(*, letter: Letter, how: str, user) -> None:
    """The letter went on paper today: posted or handed over. One write path with the dated form
    (``letters.services.letter_mark_posted``), which also starts a monitoring clock waiting for it."""
    if how not in HOW:
        raise ValidationError("Say whether the letter was posted or handed over.")
    if not letter.file:
        raise ValidationError("Only a rendered letter can be posted or handed over.")
    services.letter_mark_posted(letter=letter, on=timezone.localdate(), user=user)
    if letter.case_id:
        case_event(case=letter.case, pupil_id=letter.pupil_id, kind=CaseEvent.Kind.LETTER,
                   channel=CaseEvent.Channel.LETTER, user=user, detail=f"Letter: {HOW[how].lower()}.")


def case_message(*, case: Case, contact: Contact, body: str, user) -> list[str]:
    """Send ``body`` to a contact of the case's pupil the way they prefer; the channels used.
    Each message sent is a contact on the case's chronology."""
    body = body.strip()
    if not body:
        raise ValidationError("Write the message.")
    if contact.pupil_id != case.pupil_id:
        raise ValidationError("That contact is not one of this pupil's.")
    pref = ContactPreference.objects.filter(contact=contact).values_list("channel", flat=True).first()
    ways = channels_for(contact, pref or "auto")
    if not ways:
        raise ValidationError(f"{contact} has no mobile number or email address on file.")
    school = current_school()
    sent = []
    for channel, to in ways:
        try:
            if channel == "sms":
                sms.get_backend().send(to=to, body=body, reference=f"case-{case.pk}")
            else:
                EmailMessage(subject=f"A message from {school.name}", body=body, to=[to],
                             reply_to=[school.email] if school.email else None).send()
        except Exception as exc:  # recorded, and the office told
            case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.NOTE, user=user,
                       detail=f"Message to {contact} ({to}) failed: {exc}"[:500])
            continue
        case_event(case=case, pupil_id=case.pupil_id, kind=CaseEvent.Kind.CONTACT, user=user,
                   channel=CaseEvent.Channel.TEXT if channel == "sms" else CaseEvent.Channel.EMAIL,
                   detail=f"To {contact} ({to}): {body}")
        sent.append(channel)
    return sent
