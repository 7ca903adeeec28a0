"""Letters and returns: every write goes through here (views, tasks, commands, presets).

Letters: templates are sanitised and checked at save time; a letter is rendered to a stored
PDF by ``letter_render`` and emailed at most once by ``letter_email`` (claimed with a
conditional UPDATE); batches render in parallel Celery chunks and the last chunk to finish
joins the print pack. The unique (pupil, trigger_key) constraint means no pupil ever gets
two letters for the same trigger.

Returns: ``return_generate`` stores a reviewable draft from ``letters.returns``; the
attendance lead edits it, exports it and records its submission.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from attendance_site.bulk_sql import insert_rows
from registers.models import Pupil, SchoolDay
from registers.school_year import school_year_start

from . import merge, pdf, returns
from .context import Bundle, current_school
from .models import Batch, Chunk, LAReturn, Letter, LetterEvent, LetterSettings, LetterTemplate, ReturnEntry

log = logging.getLogger(__name__)

CHUNK_SIZE = 20
NO_CONTACT = "No contact is flagged for correspondence: add or flag one, then retry."


# --- templates ----------------------------------------------------------------------

@transaction.atomic
def settings_save(*, letter_settings: LetterSettings) -> LetterSettings:
    """The school's letter settings (signatory, letterhead, triggers, holds), as edited."""
    letter_settings.save()
    return letter_settings


@transaction.atomic
def template_save(*, key: str, name: str, body: str, kind: str = LetterTemplate.Kind.LETTER,
                  subject: str = "", preset: str = "", user_name: str = "",
                  template: LetterTemplate | None = None, active: bool | None = None) -> LetterTemplate:
    """Create or update a template. The body is sanitised, then refused with the field's name
    if it uses an unknown merge field, tag or filter. ``active`` None leaves it as it is."""
    clean = merge.sanitise(body)
    try:
        merge.compile_body(clean)
    except merge.MergeError as exc:
        raise ValidationError({"body": str(exc)}) from None
    if template is None:
        template = LetterTemplate.objects.filter(key=key).first() or LetterTemplate(key=key)
    template.key, template.name, template.kind, template.subject = key, name, kind, subject
    template.body, template.updated_by_name = clean, user_name
    if preset:
        template.preset = preset
    if active is not None:
        template.active = active
    template.full_clean(exclude=["key"] if template.pk else None)
    template.save()
    return template


def template_html(*, template: LetterTemplate, ctx: dict, compiled=None,
                  lang: str = settings.LANGUAGE_CODE) -> str:
    """The full HTML of one letter: letterhead, address block and date, merged body; in
    ``lang`` (the family's language when the school wrote the letter in it: issue 14)."""
    from absences import language

    with translation.override(lang):
        body = merge.render_body(compiled or merge.compile_body(template.body), ctx)
        return render_to_string("letters/pdf/letter.html", {
            **ctx, "body": mark_safe(body), "kind": template.kind, "title": template.name,
            "lang": "en-GB" if lang == settings.LANGUAGE_CODE else lang,
            "dir": "rtl" if language.is_rtl(lang) else "ltr"})


TRANSLATION_SEPARATOR = "__"  # "leave_decision__pl": the school's Polish leave_decision letter


def translated_template(templates: dict, key: str, lang: str):
    """The school's translation of template ``key`` into ``lang`` if it has one, else the
    English template: (entry in ``templates``, language used)."""
    entry = templates.get(f"{key}{TRANSLATION_SEPARATOR}{lang}")
    if entry is not None and lang != settings.LANGUAGE_CODE:
        return entry, lang
    return templates.get(key), settings.LANGUAGE_CODE


def template_preview(*, body: str, kind: str, pupil: Pupil | None) -> str:
    """HTML preview of an unsaved body against a real pupil (or sample values)."""
    clean = merge.sanitise(body)
    compiled = merge.compile_body(clean)  # MergeError propagates to the editor
    ctx = Bundle.load([pupil.pk]).context(pupil.pk) if pupil else merge.sample_context()
    if not pupil:
        ctx["school"] = Bundle.load([]).school
    tmp = LetterTemplate(key="preview", name="Preview", kind=kind, body=clean)
    return template_html(template=tmp, ctx=ctx, compiled=compiled)


# --- one letter ---------------------------------------------------------------------

def _event(letter: Letter, kind: str, detail: str = "", user_name: str = "") -> None:
    LetterEvent.objects.create(letter=letter, kind=kind, detail=detail, user_name=user_name)


def _fail(letter: Letter, reason: str) -> None:
    letter.status, letter.error = Letter.Status.FAILED, reason
    letter.save(update_fields=["status", "error", "attempts"])
    _event(letter, "failed", reason)


def letter_render(*, letter: Letter, bundle: Bundle, templates: dict,
                  languages: dict | None = None) -> bool:
    """Render one letter to a stored PDF. Returns False (and records why) if it failed.
    ``languages``: each pupil's family language (read here if not given)."""
    return letter_store(letter=letter, bundle=bundle,
                        rendered=letter_pdf(letter=letter, bundle=bundle, templates=templates,
                                            languages=languages))


def letter_pdf(*, letter: Letter, bundle: Bundle, templates: dict, languages: dict | None = None):
    """Merge and render one letter's PDF, reading only (so a request can do it outside its
    transaction, issue 15): ``(data, pages, recipients, template)``, or the reason it cannot."""
    from absences import language

    lang = (languages.get(letter.pupil_id, settings.LANGUAGE_CODE) if languages is not None
            else language.for_pupils([letter.pupil_id]).get(letter.pupil_id, settings.LANGUAGE_CODE))
    template, lang = translated_template(templates, letter.template_key, lang)
    if template is None:
        return f"No active letter template with the key '{letter.template_key}'."
    tmpl, compiled = template
    if isinstance(compiled, merge.MergeError):  # saved before a check it now fails
        return f"The template '{tmpl.name}' must be edited and saved again: {compiled}"
    ctx = bundle.context(letter.pupil_id, letter.context)
    if tmpl.kind == LetterTemplate.Kind.LETTER and not ctx["contacts"]:
        return NO_CONTACT
    try:
        html = template_html(template=tmpl, ctx=ctx, compiled=compiled, lang=lang)
        data, pages = pdf.html_to_pdf(html)
    except Exception as exc:  # a broken template or renderer: keep the reason on the letter
        log.exception("letter %s failed to render", letter.pk)
        return f"Could not render: {exc}"
    return data, pages, ctx["recipients"][:300], tmpl


def letter_store(*, letter: Letter, bundle: Bundle, rendered) -> bool:
    """Store what ``letter_pdf`` made (or record why it could not): the writes of a render."""
    letter.attempts += 1
    if isinstance(rendered, str):
        _fail(letter, rendered)
        return False
    data, pages, recipients, tmpl = rendered
    if letter.file:
        letter.file.delete(save=False)
    p = bundle.pupils[letter.pupil_id]
    letter.file.save(f"{letter.template_key}-{p.upn}-{letter.pk}.pdf", ContentFile(data), save=False)
    letter.pages, letter.recipients = pages, recipients
    letter.status, letter.error, letter.rendered_at = Letter.Status.RENDERED, "", timezone.now()
    letter.save(update_fields=["file", "pages", "recipients", "status", "error", "rendered_at",
                               "attempts"])
    _event(letter, "rendered", f"{pages} page(s)")
    _tell_family(letter=letter, title=tmpl.name)
    return True


# Letters whose own path already tells the family (absences.services: the leave decision).
TOLD_ELSEWHERE = {"leave_decision"}


def _tell_family(*, letter: Letter, title: str) -> None:
    """A letter is issued: the family gets a portal message, an email unless the letter
    itself is emailed, and a text if the school turns texts on (absences.parent_notices)."""
    from absences import parent_notices

    if letter.template_key in TOLD_ELSEWHERE:
        return
    pupil = letter.pupil
    emailed = bool(letter.batch_id and letter.batch.send_email)
    school = current_school()

    def compose():
        subject = translation.gettext("A letter from %(school)s about %(name)s") % {
            "school": school.name, "name": pupil.forename}
        body = translation.gettext(
            "%(school)s has written to you about %(name)s: “%(title)s”.") % {
            "school": school.name, "name": pupil.forename, "title": title}
        body += " " + (translation.gettext("The letter is attached to an email we have sent you.")
                       if emailed else translation.gettext(
                           "The letter will come by post or be handed to you. To talk about "
                           "it, contact the school office."))
        return subject, body

    parent_notices.tell(pupil=pupil, key=f"letter:{letter.pk}", compose=compose, email=not emailed)


def _templates(keys) -> dict:
    """The active templates with these keys and their translations ("key__pl")."""
    keys = set(keys)
    langs = [code for code, _n in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
    wanted = keys | {f"{k}{TRANSLATION_SEPARATOR}{code}" for k in keys for code in langs}
    out = {}
    for t in LetterTemplate.objects.filter(key__in=wanted, active=True):
        try:
            out[t.key] = (t, merge.compile_body(t.body))
        except merge.MergeError as exc:
            out[t.key] = (t, exc)  # reported on each letter
    return out


def letter_email(*, letter: Letter) -> bool:
    """Email the PDF to the correspondence contacts with an address, exactly once.

    Claim, send, record: the letter is claimed with a conditional UPDATE (rendered and never
    claimed -> sending, with the time) that is committed before the email goes, so two
    workers or a redelivered task cannot send it twice; after sending, the provider's message
    id is recorded and the letter is emailed. A crash between the two leaves it "sending":
    ``sweep_stalled`` turns that into "needs checking" for a person, never a second email.
    Run it outside a transaction (the claim must be committed before the send). No address:
    it stays rendered, for the print pack."""
    from registers.models import Contact

    to = list(Contact.objects.filter(pupil_id=letter.pupil_id, correspondence=True)
              .exclude(email="").order_by("priority").values_list("email", flat=True))
    if not to:
        _event(letter, "to_print", "No correspondence email address: print and post.")
        return False
    claimed = Letter.objects.filter(pk=letter.pk, status=Letter.Status.RENDERED,
                                    claimed_at__isnull=True, emailed_at__isnull=True).update(
        status=Letter.Status.SENDING, claimed_at=timezone.now(), emailed_to=", ".join(to)[:300])
    if not claimed:
        return False
    settings = LetterSettings.get()
    school = current_school()
    pupil = letter.pupil
    template = LetterTemplate.objects.filter(key=letter.template_key).first()
    subject = (template.subject if template and template.subject else settings.email_subject)
    fmt = {"school": school.name, "pupil": pupil.display_name}
    try:
        msg = EmailMessage(subject=subject.format(**fmt), body=settings.email_body.format(**fmt),
                           to=to, reply_to=[school.email] if school.email else None,
                           headers={"Message-ID": make_msgid(f"letter{letter.pk}")})
        letter.file.open("rb")
        try:
            msg.attach(letter.file.name.rsplit("/", 1)[-1], letter.file.read(), "application/pdf")
        finally:
            letter.file.close()
        msg.send()
    except Exception as exc:
        Letter.objects.filter(pk=letter.pk, status=Letter.Status.SENDING).update(
            status=Letter.Status.FAILED, claimed_at=None, emailed_to="", error=f"Email failed: {exc}")
        _event(letter, "failed", f"Email failed: {exc}")
        return False
    # "check" too: a send slower than the sweeper's patience still ends as emailed.
    Letter.objects.filter(pk=letter.pk, status__in=[Letter.Status.SENDING, Letter.Status.CHECK]).update(
        status=Letter.Status.EMAILED, emailed_at=timezone.now(), provider_id=_provider_id(msg)[:255],
        error="")
    _event(letter, "emailed", ", ".join(to))
    _families_told([letter.pk], how="emailed")
    return True


def _families_told(ids: list[int], *, how: str, user=None, on: date | None = None) -> None:
    """The letters went (emailed, or posted / handed over): a case waiting for its stage's letter
    starts its monitoring clock on the day each went (escalation.services.case_told)."""
    from escalation.services import cases_told_by_letters

    rows = Letter.objects.filter(pk__in=ids, case__isnull=False).values_list(
        "case_id", "template_key", "night", "emailed_at", "printed_at", "pk")
    sent = [(case_id, key, night, on or timezone.localtime(emailed or printed).date(), pk)
            for case_id, key, night, emailed, printed, pk in rows if on or emailed or printed]
    if sent:
        cases_told_by_letters(sent=sent, how=how, user=user)


def _provider_id(msg: EmailMessage) -> str:
    """The id the provider gave the message (django-anymail style backends set
    ``anymail_status``), else the Message-ID header the message went out with."""
    status = getattr(msg, "anymail_status", None)
    return str(getattr(status, "message_id", None) or msg.extra_headers.get("Message-ID", ""))


@transaction.atomic
def letter_check_resolve(*, letter: Letter, sent: bool, user=None) -> bool:
    """A person has checked a letter whose sending was interrupted: it arrived (emailed), or
    it did not (back to rendered, to be emailed again by the caller or printed)."""
    if sent:
        n = Letter.objects.filter(pk=letter.pk, status=Letter.Status.CHECK).update(
            status=Letter.Status.EMAILED, emailed_at=F("claimed_at"), error="")
    else:
        n = Letter.objects.filter(pk=letter.pk, status=Letter.Status.CHECK).update(
            status=Letter.Status.RENDERED, claimed_at=None, emailed_to="", error="")
    if n:
        _event(letter, "checked", "It was emailed." if sent else "It was not emailed: send it again.",
               _name(user))
        if sent:
            _families_told([letter.pk], how="emailed", user=user)
    return bool(n)


# --- batches ------------------------------------------------------------------------

def _current_term_label(today: date) -> str:
    term = SchoolDay.objects.filter(date__lte=today).order_by("-date").values_list("term", flat=True).first()
    return f"{term or 'term'} {school_year_start(today).year}"


def default_trigger(template: LetterTemplate, today: date | None = None) -> str:
    """A hand-picked batch's trigger: the template and the half term, so a second run in the
    same half term sends nothing to pupils who already had it."""
    today = today or timezone.localdate()
    return f"{template.key}:{_current_term_label(today)}"[:120]


@transaction.atomic
def batch_create_picked(*, template: LetterTemplate, pupils: QuerySet, trigger_key: str,
                        label: str = "", user=None, send_email: bool = True,
                        as_of: date | None = None, contexts: dict | None = None) -> Batch:
    """Queue the template for the pupils. Pupils who already have a letter for this trigger
    are left out and reported; pupils with no correspondence contact are queued (they fail
    with that reason, to be fixed and retried) and reported at once."""
    trigger_key = trigger_key.strip()[:120] or default_trigger(template)
    pupil_ids = list(pupils.values_list("pk", flat=True))
    already = set(Letter.objects.filter(trigger_key=trigger_key, pupil_id__in=pupil_ids)
                  .values_list("pupil_id", flat=True))
    batch = Batch.objects.create(
        label=label or f"{template.name} ({trigger_key})", source=Batch.Source.PICKED,
        template=template, trigger_key=trigger_key, send_email=send_email, as_of=as_of,
        created_by=user,
        created_by_name=_name(user))
    Letter.objects.bulk_create(
        [Letter(pupil_id=pk, template_key=template.key, trigger_key=trigger_key, batch=batch,
                context=(contexts or {}).get(pk, {}))
         for pk in pupil_ids if pk not in already], ignore_conflicts=True, batch_size=1000)
    _finish_create(batch, already)
    return batch


# --- holds (issue 12 item 10) --------------------------------------------------------

def _case_note(letter: Letter, kind: str, detail: str, user=None) -> None:
    """The decision goes into the case's chronology too (and so into export_cases)."""
    if letter.case_id:
        from escalation.models import Case
        from escalation.services import case_event

        case = Case.objects.select_related("stage").get(pk=letter.case_id)
        case_event(case=case, pupil_id=letter.pupil_id, kind=kind, detail=detail, user=user,
                   data={"letter": letter.pk, "template_key": letter.template_key})


@transaction.atomic
def letters_hold_check(*, ids=None, today: date | None = None) -> int:
    """Hold the queued letters (all not yet in a batch, or ``ids``) whose pupil has a reason
    the school chose to hold letters for. A letter a person released is not held again."""
    from escalation.models import CaseEvent

    from . import holds

    today = today or timezone.localdate()
    chosen = holds.chosen(LetterSettings.get())
    # Letters the escalation queued; a document a person prints by hand ("manual:") is their call.
    qs = Letter.objects.filter(status=Letter.Status.QUEUED, decided_at__isnull=True).exclude(
        trigger_key__startswith="manual:")
    qs = qs.filter(pk__in=ids) if ids is not None else qs.filter(batch__isnull=True)
    letters = list(qs.select_for_update(skip_locked=True)) if chosen else []
    reasons = holds.reasons_for([x.pupil_id for x in letters], today=today)
    held = 0
    for letter in letters:
        keys = [k for k, _ in reasons.get(letter.pupil_id, []) if k in chosen]
        if not keys:
            continue
        Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.HELD, hold_reasons=keys)
        words = "; ".join(w for k, w in reasons[letter.pupil_id] if k in keys)
        _event(letter, "held", words)
        _case_note(letter, CaseEvent.Kind.LETTER_HELD, f"Letter '{letter.template_key}' held: {words}")
        held += 1
    return held


@transaction.atomic
def letter_release(*, letter: Letter, user) -> Letter:
    """A person has read why the letter was held and decides it should go."""
    from escalation.models import CaseEvent

    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    if letter.status != Letter.Status.HELD:
        raise ValidationError("Only a held letter can be released.")
    letter.status, letter.decided_at = Letter.Status.QUEUED, timezone.now()
    letter.decided_by_name = _name(user)
    letter.save(update_fields=["status", "decided_at", "decided_by_name"])
    _event(letter, "released", "Released to be sent", _name(user))
    _case_note(letter, CaseEvent.Kind.NOTE, f"Held letter '{letter.template_key}' released to be sent", user)
    return letter


@transaction.atomic
def letter_cancel(*, letter: Letter, user, reason: str) -> Letter:
    """A person decides a held (or queued) letter must not go, and says why."""
    from escalation.models import CaseEvent

    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    if letter.status not in (Letter.Status.HELD, Letter.Status.QUEUED):
        raise ValidationError(f"This letter is {letter.get_status_display().lower()}: it cannot be "
                              "cancelled.")
    if not reason.strip():
        raise ValidationError("Say why the letter is cancelled.")
    letter.status, letter.decided_at, letter.decided_by_name = (Letter.Status.CANCELLED, timezone.now(),
                                                                _name(user))
    letter.cancel_reason = reason.strip()[:300]
    letter.save(update_fields=["status", "decided_at", "decided_by_name", "cancel_reason"])
    _event(letter, "cancelled", letter.cancel_reason, _name(user))
    _case_note(letter, CaseEvent.Kind.NOTE,
               f"Letter '{letter.template_key}' cancelled: {letter.cancel_reason}", user)
    return letter


@transaction.atomic
def batch_create_queued(*, user=None, send_email: bool = True) -> Batch | None:
    """Collect the letters the nightly job queued (not yet in a batch) into one batch; a
    letter the school's hold reasons apply to is held for a person instead."""
    letters_hold_check()
    ids = list(Letter.objects.select_for_update(skip_locked=True)
               .filter(status=Letter.Status.QUEUED, batch__isnull=True).values_list("pk", flat=True))
    if not ids:
        return None
    batch = Batch.objects.create(label=f"Queued letters {timezone.localdate():%-d %b %Y}",
                                 source=Batch.Source.QUEUED, send_email=send_email,
                                 created_by=user, created_by_name=_name(user))
    Letter.objects.filter(pk__in=ids).update(batch=batch)
    _finish_create(batch, set())
    return batch


def _finish_create(batch: Batch, already: set) -> None:
    letters = Letter.objects.filter(batch=batch)
    batch.total = letters.count()
    with_contact = set(Letter.objects.filter(batch=batch, pupil__contacts__correspondence=True)
                       .values_list("pupil_id", flat=True))
    no_contact = (Pupil.objects.filter(pk__in=letters.values("pupil_id")).exclude(pk__in=with_contact)
                  .order_by("legal_surname"))
    batch.report = {
        "already_sent": [_pupil_ref(p) for p in Pupil.objects.filter(pk__in=already)],
        "no_correspondence_contact": [_pupil_ref(p) for p in no_contact],
    }
    batch.save(update_fields=["total", "report"])


def _pupil_ref(p: Pupil) -> dict:
    return {"id": p.pk, "name": p.display_name, "upn": p.upn, "class": p.registration_group_id}


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def batch_start(*, batch: Batch) -> int:
    """Split the batch's queued letters that no open chunk holds into chunks of CHUNK_SIZE
    and hand the open chunks to the queue once the transaction commits. Returns the number
    of new chunks. If the queue (Redis) is down the chunks stay unsent: ``batch_health``
    says so and the stall sweeper sends them when it is back."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        held = {i for ids in batch.chunks.exclude(status=Chunk.Status.DONE)
                .values_list("letter_ids", flat=True) for i in ids}
        ids = [i for i in batch.letters.filter(status=Letter.Status.QUEUED).order_by("pk")
               .values_list("pk", flat=True) if i not in held]
        chunks = Chunk.objects.bulk_create(
            Chunk(batch=batch, letter_ids=ids[i:i + CHUNK_SIZE]) for i in range(0, len(ids), CHUNK_SIZE))
        Batch.objects.filter(pk=batch.pk).update(
            status=Batch.Status.RENDERING, started=timezone.now(), finished=None, error="",
            chunks_left=batch.chunks.exclude(status=Chunk.Status.DONE).count())
        transaction.on_commit(lambda: batch_enqueue(batch_id=batch.pk))
    return len(chunks)


def batch_render_inline(*, batch: Batch) -> Batch:
    """Render a small hand-picked batch in this process, then join its print pack: the same
    ``letter_render`` and print pack as the workers, for a set a person is waiting for at
    the printer (a term's certificates)."""
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RENDERING, started=timezone.now())
    letters = list(batch.letters.filter(status=Letter.Status.QUEUED).order_by("pk"))
    if letters:
        templates = _templates(x.template_key for x in letters)
        bundle = Bundle.load([x.pupil_id for x in letters], as_of=batch.as_of)
        for letter in letters:  # rendered outside the transaction that stores it (issue 15)
            rendered = letter_pdf(letter=letter, bundle=bundle, templates=templates)
            with transaction.atomic():
                letter_store(letter=letter, bundle=bundle, rendered=rendered)
    batch.refresh_from_db()
    with transaction.atomic():
        batch_combine(batch=batch)
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.DONE, finished=timezone.now())
    batch.refresh_from_db()
    return batch


def _enqueue(task, *args) -> bool:
    """Hand a task to the broker, giving up after about a second if it is unreachable (the
    caller keeps the work in the database for the sweeper). Never raises."""
    try:
        task.apply_async(args=args, retry=True, retry_policy={
            "max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5})
    except Exception:  # kombu OperationalError, redis ConnectionError, timeouts...
        log.warning("could not queue %s%r: broker unavailable", task.name, args, exc_info=True)
        return False
    return True


def batch_enqueue(*, batch_id: int) -> bool:
    """Send the batch's open chunks that are not with the queue yet (or, with none open, the
    task that finishes the batch). False if the broker refused any."""
    from . import tasks

    chunks = list(Chunk.objects.filter(batch_id=batch_id, sent_at__isnull=True)
                  .exclude(status=Chunk.Status.DONE))
    if not chunks and not Chunk.objects.filter(batch_id=batch_id).exclude(status=Chunk.Status.DONE).exists():
        if not _enqueue(tasks.batch_finish, batch_id):
            batch_finish_if_done(batch_id=batch_id)  # nothing to render: finish it here
        return True
    return all([_send_chunk(c) for c in chunks])


def _send_chunk(chunk: Chunk) -> bool:
    from . import tasks

    if not _enqueue(tasks.render_chunk, chunk.pk):
        return False
    Chunk.objects.filter(pk=chunk.pk).exclude(status=Chunk.Status.DONE).update(
        sent_at=timezone.now(), sends=F("sends") + 1, status=Chunk.Status.QUEUED)
    return True


def _beat(chunk_id: int) -> None:
    Chunk.objects.filter(pk=chunk_id).update(beat_at=timezone.now())


# Complexity: per-letter outcomes (rendered, failed, skipped) recorded in one pass.
def batch_render_chunk(*, chunk_id: int) -> dict:  # noqa: C901
    """Render, then email, one chunk's letters. Each letter is locked, re-checked (still
    queued) and saved in its own transaction, with a heartbeat on the chunk after each, so a
    redelivered or re-queued chunk does nothing twice and a dead worker is noticed. A letter
    another run of the chunk holds is left to it (and so is reporting the chunk done)."""
    done = {"rendered": 0, "failed": 0, "emailed": 0}
    chunk = Chunk.objects.select_related("batch").get(pk=chunk_id)
    if chunk.status == Chunk.Status.DONE:
        return done
    batch, now = chunk.batch, timezone.now()
    Chunk.objects.filter(pk=chunk_id).exclude(status=Chunk.Status.DONE).update(
        status=Chunk.Status.RUNNING, started_at=now, beat_at=now)
    letters = list(Letter.objects.filter(pk__in=chunk.letter_ids, status=Letter.Status.QUEUED))
    busy = False
    if letters:
        templates = _templates(x.template_key for x in letters)
        from absences import language

        languages = language.for_pupils([x.pupil_id for x in letters])
        by_day: dict[date, list[Letter]] = {}
        for x in letters:  # figures as on the trigger's night, the batch's day or today
            by_day.setdefault(x.night or batch.as_of or timezone.localdate(), []).append(x)
        for as_of, group in by_day.items():
            bundle = Bundle.load([x.pupil_id for x in group], as_of=as_of)
            for x in group:
                with transaction.atomic():
                    letter = (Letter.objects.select_for_update(skip_locked=True)
                              .filter(pk=x.pk, status=Letter.Status.QUEUED).first())
                    if letter is None:
                        busy |= Letter.objects.filter(pk=x.pk, status=Letter.Status.QUEUED).exists()
                        continue
                    ok = letter_render(letter=letter, bundle=bundle, templates=templates,
                                       languages=languages)
                    done["rendered" if ok else "failed"] += 1
                _beat(chunk_id)
    if batch.send_email:
        for letter in (Letter.objects.filter(pk__in=chunk.letter_ids, status=Letter.Status.RENDERED,
                                             claimed_at__isnull=True)
                       .exclude(events__kind="to_print").select_related("pupil")):
            if letter_email(letter=letter):
                done["emailed"] += 1
            _beat(chunk_id)
    if not busy:
        batch_chunk_done(chunk_id=chunk_id)
    return done


def batch_chunk_done(*, chunk_id: int) -> None:
    """Mark a chunk done (rendered and emailed); the call that leaves no chunk open
    finishes the batch, so the print pack never catches letters another chunk is still
    emailing. A chunk already done counts for nothing."""
    chunk = Chunk.objects.get(pk=chunk_id)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=chunk.batch_id)
        marked = Chunk.objects.filter(pk=chunk_id).exclude(status=Chunk.Status.DONE).update(
            status=Chunk.Status.DONE, finished_at=timezone.now())
        batch.chunks_left = batch.chunks.exclude(status=Chunk.Status.DONE).count()
        batch.save(update_fields=["chunks_left"])
        last = marked and batch.chunks_left == 0
    if last:
        batch_finish_if_done(batch_id=batch.pk)


def batch_finish_if_done(*, batch_id: int) -> bool:
    """Join the print pack, then mark the batch done (only while it is rendering and no
    chunk is open). The batch row is held while joining, so two finishers never both do."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update(skip_locked=True).filter(pk=batch_id).first()
        if batch is None or batch.status != Batch.Status.RENDERING or \
                batch.chunks.exclude(status=Chunk.Status.DONE).exists() or \
                batch.letters.filter(status=Letter.Status.QUEUED).exists():
            return False
        try:
            with transaction.atomic():
                batch_combine(batch=batch)
        except Exception as exc:
            log.exception("batch %s: print pack failed", batch_id)
            Batch.objects.filter(pk=batch_id).update(status=Batch.Status.FAILED,
                                                     finished=timezone.now(),
                                                     error=f"Print pack failed: {exc}")
            return True
        Batch.objects.filter(pk=batch_id, status=Batch.Status.RENDERING).update(
            status=Batch.Status.DONE, finished=timezone.now())
    return True


def _read(f) -> bytes:
    with default_storage.open(f.name, "rb") as fh:
        return fh.read()


def batch_combine(*, batch: Batch) -> None:
    """The print pack: one PDF of the batch's letters that were not emailed."""
    letters = list(batch.letters.filter(status__in=[Letter.Status.RENDERED, Letter.Status.PRINTED])
                   .exclude(file="").select_related("pupil")
                   .order_by("pupil__registration_group__name", "pupil__legal_surname", "pk"))
    if batch.combined:
        batch.combined.delete(save=False)
    if not letters:
        batch.combined, batch.combined_pages = "", 0
    else:
        data = pdf.pdf_join([_read(x.file) for x in letters])
        batch.combined.save(f"batch-{batch.pk}.pdf", ContentFile(data), save=False)
        batch.combined_pages = sum(x.pages for x in letters)
    batch.save(update_fields=["combined", "combined_pages"])


def batch_all_pdf(*, batch: Batch) -> bytes:
    letters = batch.letters.exclude(file="").order_by("pupil__registration_group__name",
                                                      "pupil__legal_surname", "pk")
    return pdf.pdf_join([_read(x.file) for x in letters])


def batch_retry(*, batch: Batch, user=None) -> int:
    """Set any stuck batch going again: failed letters back to the queue, open chunks handed
    to the queue again (a chunk still running somewhere does nothing twice), a batch whose
    print pack failed or was never joined finished again. Returns the letters queued again."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        failed = list(batch.letters.filter(status=Letter.Status.FAILED))
        for letter in failed:
            _event(letter, "retry", letter.error, _name(user))
        batch.letters.filter(status=Letter.Status.FAILED).update(status=Letter.Status.QUEUED, error="")
        open_chunks = batch.chunks.exclude(status=Chunk.Status.DONE)
        held = {i for ids in open_chunks.values_list("letter_ids", flat=True) for i in ids}
        stuck = batch.letters.filter(pk__in=held, status=Letter.Status.QUEUED).count()
        open_chunks.update(sent_at=None, sends=0)
        if failed or stuck or batch.status != Batch.Status.DONE:
            batch_start(batch=batch)
    return len(failed) + stuck


@transaction.atomic
def letters_mark_printed(*, batch: Batch, user=None) -> int:
    """Letters in the print pack have been printed and posted."""
    now = timezone.now()
    ids = list(batch.letters.filter(status=Letter.Status.RENDERED).values_list("pk", flat=True))
    Letter.objects.filter(pk__in=ids).update(status=Letter.Status.PRINTED, printed_at=now)
    LetterEvent.objects.bulk_create(LetterEvent(letter_id=i, kind="printed", user_name=_name(user))
                                    for i in ids)
    _families_told(ids, how="posted", user=user)
    return len(ids)


@transaction.atomic
def letter_mark_posted(*, letter: Letter, on: date, user=None) -> Letter:
    """One rendered letter was posted or handed over on ``on`` (not emailed): it counts as sent
    from that day, and a monitoring clock waiting for it starts then."""
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    if letter.status != Letter.Status.RENDERED:
        raise ValidationError(f"Only a rendered letter can be marked posted or handed over (this one is "
                              f"{letter.get_status_display().lower()}).")
    if on > timezone.localdate():
        raise ValidationError(f"{on:%-d %B %Y} is in the future.")
    if on < timezone.localtime(letter.rendered_at or letter.created).date():
        raise ValidationError(f"{on:%-d %B %Y} is before the letter was printed.")
    letter.status = Letter.Status.PRINTED
    letter.printed_at = timezone.make_aware(datetime.combine(on, time(12)))
    letter.save(update_fields=["status", "printed_at"])
    _event(letter, "printed", f"Posted or handed over on {on:%-d %B %Y}", _name(user))
    _families_told([letter.pk], how="posted", user=user, on=on)
    return letter


def batch_progress(*, batch: Batch) -> dict:
    counts = dict(batch.letters.order_by().values_list("status").annotate(n=Count("id")))
    batch.refresh_from_db(fields=["status", "combined", "combined_pages", "error", "finished"])
    total = sum(counts.values())
    queued = counts.get(Letter.Status.QUEUED, 0)
    return {"status": batch.status, "total": total, "done": total - queued, "queued": queued,
            "rendered": counts.get(Letter.Status.RENDERED, 0),
            "sending": counts.get(Letter.Status.SENDING, 0),
            "emailed": counts.get(Letter.Status.EMAILED, 0),
            "check": counts.get(Letter.Status.CHECK, 0),
            "printed": counts.get(Letter.Status.PRINTED, 0),
            "failed": counts.get(Letter.Status.FAILED, 0),
            "percent": round(100 * (total - queued) / total) if total else 100,
            "combined": bool(batch.combined), "combined_pages": batch.combined_pages,
            "error": batch.error, **batch_health(batch=batch)}


def batch_health(*, batch: Batch, now=None) -> dict:
    """Is an unfinished batch waiting for the queue (Redis was down when it was saved) or
    stalled (no sign of life from a worker for STALLED_AFTER)? Both can be retried."""
    if batch.status in (Batch.Status.DONE, Batch.Status.FAILED):
        return {"waiting_for_queue": False, "stalled": False}
    now = now or timezone.now()
    open_chunks = list(batch.chunks.exclude(status=Chunk.Status.DONE)
                       .values_list("sent_at", "beat_at"))
    waiting = any(sent is None for sent, _ in open_chunks)
    life = [t for pair in open_chunks for t in pair if t] + [batch.started or batch.created]
    return {"waiting_for_queue": waiting, "stalled": max(life) < now - STALLED_AFTER}


# --- the stall sweeper (issue 11): background work always finishes or says why ----------

STALLED_AFTER = timedelta(minutes=5)   # a running chunk beats after every letter
WAITING_AFTER = timedelta(minutes=30)  # a chunk handed to the queue and never picked up
SENDING_AFTER = timedelta(minutes=15)  # claimed for email, no provider id recorded
MAX_SENDS = 4                          # then its letters fail, with the reason
WORKER_STOPPED = ("The letter worker stopped {n} times while rendering or emailing these "
                  "letters (it crashed or was restarted). Press Retry to try again.")
CHECK_REASON = ("The worker stopped while emailing this letter to {to} (claimed {at:%-d %b %Y "
                "%H:%M}), before the email provider confirmed it. Check whether it arrived: "
                "it will not be sent again unless you say so.")


def sweep_stalled(*, now=None, stalled_after: timedelta = STALLED_AFTER,
                  waiting_after: timedelta = WAITING_AFTER,
                  sending_after: timedelta = SENDING_AFTER) -> dict:
    """Find this school's stalled background work and set it going again (Celery beat).

    - a letter claimed for email whose sending never finished is marked "needs checking"
      for a person (not resent: it may have gone);
    - an open chunk never handed to the queue (the broker was down), handed over but never
      picked up, or running with no heartbeat is sent again; after MAX_SENDS its letters
      fail with the reason;
    - a batch saved but never started (the request died) is started;
    - a batch whose chunks are all done but that never finished is finished (or its
      queued letters that no chunk holds are given chunks)."""
    now = now or timezone.now()
    out = {"checks": 0, "resent": 0, "given_up": 0, "started": 0, "finished": 0}
    for letter in Letter.objects.filter(status=Letter.Status.SENDING,
                                        claimed_at__lt=now - sending_after):
        reason = CHECK_REASON.format(to=letter.emailed_to, at=timezone.localtime(letter.claimed_at))
        if Letter.objects.filter(pk=letter.pk, status=Letter.Status.SENDING).update(
                status=Letter.Status.CHECK, error=reason):
            _event(letter, "check", reason)
            out["checks"] += 1
    stalled = Chunk.objects.exclude(status=Chunk.Status.DONE).filter(
        Q(sent_at__isnull=True) |
        Q(status=Chunk.Status.QUEUED, sent_at__lt=now - waiting_after) |
        Q(status=Chunk.Status.RUNNING, beat_at__lt=now - stalled_after))
    for chunk in stalled:
        if chunk.sends >= MAX_SENDS:
            Letter.objects.filter(pk__in=chunk.letter_ids, status=Letter.Status.QUEUED).update(
                status=Letter.Status.FAILED, error=WORKER_STOPPED.format(n=chunk.sends))
            batch_chunk_done(chunk_id=chunk.pk)
            out["given_up"] += 1
        elif _send_chunk(chunk):
            out["resent"] += 1
        else:
            break  # the broker is still down: the next sweep tries again
    for batch in Batch.objects.filter(status=Batch.Status.PENDING, created__lt=now - stalled_after):
        batch_start(batch=batch)
        out["started"] += 1
    for batch in (Batch.objects.filter(status=Batch.Status.RENDERING, started__lt=now - stalled_after)
                  .exclude(chunks__status__in=[Chunk.Status.QUEUED, Chunk.Status.RUNNING])
                  .exclude(chunks__finished_at__gte=now - stalled_after)):
        if batch.letters.filter(status=Letter.Status.QUEUED).exists():
            batch_start(batch=batch)  # queued letters no chunk holds: give them chunks
            out["started"] += 1
        elif batch_finish_if_done(batch_id=batch.pk):
            out["finished"] += 1
    return out


def letter_queue(*, pupil: Pupil, template_key: str, trigger_key: str, case=None,
                 context: dict | None = None) -> Letter | None:
    """Queue one letter (for other apps, e.g. a leave decision). None if already queued for
    this trigger: the unique constraint decides, so concurrent callers cannot both queue."""
    try:
        with transaction.atomic():
            return Letter.objects.create(pupil=pupil, template_key=template_key,
                                         trigger_key=trigger_key[:120], case=case,
                                         context=context or {})
    except IntegrityError:
        return None


def render_now(*, letter: Letter, as_of: date | None = None) -> bool:
    """Render a single letter synchronously (e.g. a document printed from a pupil's page). A
    queued letter a hold reason applies to is held instead (returns False)."""
    if letter.status == Letter.Status.QUEUED and letters_hold_check(ids=[letter.pk]):
        letter.refresh_from_db()
        return False
    bundle = Bundle.load([letter.pupil_id], as_of=as_of or letter.night)
    # Rendered outside the transaction that stores it (issue 15): no transaction stays open
    # while WeasyPrint works.
    rendered = letter_pdf(letter=letter, bundle=bundle, templates=_templates([letter.template_key]))
    with transaction.atomic():
        return letter_store(letter=letter, bundle=bundle, rendered=rendered)


# --- support plans and attendance contracts, printed as saved (issue 12 item 10) ----------

def plan_pdf(*, plan) -> bytes:
    """The Attendance Targeted Support Plan (LAP annex 6b) with what was saved. A fixed project
    template (auto-escaped), not a school-edited merge template: no new merge fields."""
    pupil = plan.case.pupil
    html = render_to_string("letters/pdf/support_plan.html", {
        "plan": plan, "pupil": pupil, "school": current_school(), "now": timezone.localtime()})
    return pdf.html_to_pdf(html)[0]


def contract_pdf(*, contract) -> bytes:
    """The Attendance Contract (LAP annexes 7b and 7c) with what was saved and its recorded
    signature block (who signed, when, in person or on paper)."""
    html = render_to_string("letters/pdf/attendance_contract.html", {
        "contract": contract, "pupil": contract.case.pupil, "school": current_school(),
        "interventions": [x.strip() for x in contract.interventions.splitlines() if x.strip()],
        "signatures": list(contract.signatures.all()), "now": timezone.localtime()})
    return pdf.html_to_pdf(html)[0]


# --- evidence pack ------------------------------------------------------------------

def evidence_pack_pdf(*, pupil: Pupil, date_from: date, date_to: date) -> bytes:
    """One PDF an LA attendance team can act on: figures, register extract, chronology of
    support, letters, meetings and outcomes, penalty notices."""
    from .selectors import evidence_pack

    ctx = evidence_pack(pupil=pupil, date_from=date_from, date_to=date_to)
    html = render_to_string("letters/pdf/evidence_pack.html", ctx)
    return pdf.html_to_pdf(html, page_numbers="always")[0]


# --- returns ------------------------------------------------------------------------

DEDUPED = {"sickness", "cme", "new_pupils", "deletions"}  # one report per period / event


@transaction.atomic
def return_generate(*, kind: str, period_start: date, period_end: date, user=None,
                    scheduled: bool = False) -> LAReturn:
    """Build the return and store it as a draft to review. A draft for the same period is
    rebuilt; a submitted one is never changed. For the sickness and missing-from-school
    returns, a pupil already reported for the same continuous period is left out (noted)."""
    if period_start > period_end:
        raise ValidationError("The period starts after it ends.")
    existing = LAReturn.objects.select_for_update().filter(kind=kind, period_start=period_start,
                                                           period_end=period_end).first()
    if existing and existing.status == LAReturn.Status.SUBMITTED:
        raise ValidationError("This return has already been submitted; it cannot be regenerated.")
    records = returns.build(kind, as_of=period_end, period_start=period_start,
                            rules=returns.Rules.from_settings())
    notes = []
    if kind in DEDUPED:
        reported = set(ReturnEntry.objects.filter(
            la_return__kind=kind, la_return__status=LAReturn.Status.SUBMITTED, included=True)
            .values_list("upn", "key"))
        before = len(records)
        records = [r for r in records if (r["upn"], r["key"]) not in reported]
        if before - len(records):
            notes.append(f"{before - len(records)} pupil(s) left out: already reported for the "
                         "same period on an earlier submitted return.")
    ret = existing or LAReturn(kind=kind, period_start=period_start, period_end=period_end)
    ret.scheduled, ret.generated_by_name = scheduled, _name(user) or "schedule"
    ret.notes = " ".join(notes)
    ret.save()
    ret.entries.all().delete()
    ReturnEntry.objects.bulk_create(_entry(ret, r) for r in records)
    return ret


def _entry(ret: LAReturn, r: dict) -> ReturnEntry:
    evidence = {k: v for k, v in r.items() if k not in (
        "upn", "legal_surname", "legal_forename", "date_of_birth", "year_group", "address",
        "reason", "dates", "sessions", "codes", "pupil_id", "key")}
    return ReturnEntry(la_return=ret, pupil_id=r.get("pupil_id"), upn=r["upn"],
                       legal_surname=r["legal_surname"], legal_forename=r["legal_forename"],
                       date_of_birth=r["date_of_birth"], year_group=r["year_group"],
                       address=r["address"], reason=r["reason"][:300], dates=r["dates"][:300],
                       sessions=r["sessions"], codes=r["codes"][:200], evidence=evidence,
                       key=r.get("key", "")[:120])


def _editable(ret: LAReturn) -> None:
    if ret.status == LAReturn.Status.SUBMITTED:
        raise ValidationError("A submitted return cannot be changed.")


@transaction.atomic
def return_entry_update(*, entry: ReturnEntry, included: bool, note: str, address: str,
                        user=None) -> ReturnEntry:
    _editable(entry.la_return)
    if not included and not note.strip():
        raise ValidationError("Say why the pupil is left out of the return.")
    entry.included, entry.note, entry.address = included, note.strip(), address.strip()
    entry.edited_by_name = _name(user)
    entry.save(update_fields=["included", "note", "address", "edited_by_name"])
    return entry


@transaction.atomic
def return_entry_add(*, la_return: LAReturn, pupil: Pupil, reason: str, user=None) -> ReturnEntry:
    """Add a pupil by hand (e.g. the school believes an illness will last 15 days)."""
    _editable(la_return)
    if not reason.strip():
        raise ValidationError("Give the reason the pupil is on the return.")
    if la_return.entries.filter(upn=pupil.upn).exists():
        raise ValidationError(f"{pupil.display_name} is already on this return.")
    return ReturnEntry.objects.create(
        la_return=la_return, pupil=pupil, upn=pupil.upn, legal_surname=pupil.legal_surname,
        legal_forename=pupil.legal_forename, date_of_birth=pupil.date_of_birth,
        year_group=pupil.get_year_group_display(),
        address=pupil.address or next((c.address for c in pupil.contacts.all() if c.address), ""),
        reason=reason.strip()[:300], added_by_hand=True, edited_by_name=_name(user))


@transaction.atomic
def return_submit(*, la_return: LAReturn, user) -> LAReturn:
    """Record that the return went to the LA: when and by whom. It is then read-only."""
    claimed = LAReturn.objects.filter(pk=la_return.pk, status=LAReturn.Status.DRAFT).update(
        status=LAReturn.Status.SUBMITTED, submitted_at=timezone.now(), submitted_by=user,
        submitted_by_name=_name(user))
    if not claimed:
        raise ValidationError("This return has already been submitted.")
    la_return.refresh_from_db()
    return la_return


EVERY_DAYS = {"weekly": 7, "fortnightly": 14, "monthly": 30, "termly": 42}


def returns_generate_due(*, today: date | None = None) -> list[LAReturn]:
    """Draft every return whose schedule says it is due (run nightly). A return covers the
    days since the previous one of its kind (or the school year) up to yesterday."""
    today = today or timezone.localdate()
    settings = LetterSettings.get()
    made = []
    for kind in returns.KINDS:
        every = getattr(settings, f"{kind}_every")
        if every == LetterSettings.Every.OFF:
            continue
        last = LAReturn.objects.filter(kind=kind).order_by("-period_end").first()
        start = last.period_end + timedelta(days=1) if last else school_year_start(today)
        end = today - timedelta(days=1)
        if end < start or (end - start).days + 1 < EVERY_DAYS[every]:
            continue
        made.append(return_generate(kind=kind, period_start=start, period_end=end, scheduled=True))
    return made


def return_rows(*, la_return: LAReturn) -> list[dict]:
    """The submitted shape: included entries, with the evidence columns of the kind."""
    out = []
    for e in la_return.entries.filter(included=True).order_by("legal_surname", "legal_forename"):
        row = {"upn": e.upn, "legal_surname": e.legal_surname, "legal_forename": e.legal_forename,
               "date_of_birth": e.date_of_birth.isoformat() if e.date_of_birth else "",
               "year_group": e.year_group, "address": e.address, "reason": e.reason,
               "dates": e.dates, "sessions": e.sessions if e.sessions is not None else "",
               "codes": e.codes, "note": e.note}
        for f in returns.EXTRA_FIELDS[la_return.kind]:
            row[f] = e.evidence.get(f, "")
        out.append(row)
    return out


def return_fields(kind: str) -> list[str]:
    return (["upn", "legal_surname", "legal_forename", "date_of_birth", "year_group", "address",
             "reason", "dates", "sessions", "codes"] + returns.EXTRA_FIELDS[kind] + ["note"])


def return_pdf(*, la_return: LAReturn) -> bytes:
    school = current_school()
    html = render_to_string("letters/pdf/return.html", {
        "ret": la_return, "rows": return_rows(la_return=la_return), "school": school,
        "extra": returns.EXTRA_FIELDS[la_return.kind], "now": timezone.localtime()})
    return pdf.html_to_pdf(html, page_numbers="always")[0]


# --- what escalation asks of letters (escalation/hooks.py) ---------------------------------

def case_letters_insert(rows: list[dict]) -> None:
    """Queue the letters a stage planned (escalation.services.stage_entry_plan), one statement;
    a letter already there for its trigger key is kept."""
    insert_rows(Letter, rows, on_conflict="ON CONFLICT DO NOTHING")


def case_letters_render(case_id: int) -> tuple[int, int]:
    """Render a case's queued letters now, each in its own transaction: (rendered, failed)."""
    rendered = failed = 0
    for letter in Letter.objects.filter(case_id=case_id, status=Letter.Status.QUEUED).order_by("pk"):
        if render_now(letter=letter):
            rendered += 1
        else:
            failed += 1
    return rendered, failed


def leave_decision_letter(sender, *, request, **kwargs) -> None:
    """A leave decision (absences.signals.leave_decided) as a PDF letter from the school's own
    template, stored on the pupil's letters for printing or the file; a failure is recorded there.
    Queued inside the decision's transaction; rendered once it commits, so no transaction stays
    open while the PDF renders (issue 15)."""
    letter = letter_queue(pupil=request.pupil, template_key="leave_decision",
                          trigger_key=f"leave-decision:{request.pk}")
    if letter is not None:
        as_of = request.first_day
        transaction.on_commit(lambda: render_now(letter=letter, as_of=as_of))
