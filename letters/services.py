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
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from registers.models import Pupil, SchoolDay
from registers.school_year import school_year_start

from . import merge, pdf, returns
from .context import Bundle, current_school
from .models import Batch, LAReturn, Letter, LetterEvent, LetterSettings, LetterTemplate, ReturnEntry

log = logging.getLogger(__name__)

CHUNK_SIZE = 20
NO_CONTACT = "No contact is flagged for correspondence: add or flag one, then retry."


# --- templates ----------------------------------------------------------------------

@transaction.atomic
def template_save(*, key: str, name: str, body: str, kind: str = LetterTemplate.Kind.LETTER,
                  subject: str = "", preset: str = "", user_name: str = "",
                  template: LetterTemplate | None = None) -> LetterTemplate:
    """Create or update a template. The body is sanitised, then refused with the field's name
    if it uses an unknown merge field, tag or filter."""
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
    template.full_clean(exclude=["key"] if template.pk else None)
    template.save()
    return template


def template_html(*, template: LetterTemplate, ctx: dict, compiled=None) -> str:
    """The full HTML of one letter: letterhead, address block and date, merged body."""
    body = merge.render_body(compiled or merge.compile_body(template.body), ctx)
    return render_to_string("letters/pdf/letter.html",
                            {**ctx, "body": mark_safe(body), "kind": template.kind,
                             "title": template.name})


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


def letter_render(*, letter: Letter, bundle: Bundle, templates: dict) -> bool:
    """Render one letter to a stored PDF. Returns False (and records why) if it failed."""
    letter.attempts += 1
    template = templates.get(letter.template_key)
    if template is None:
        _fail(letter, f"No active letter template with the key '{letter.template_key}'.")
        return False
    tmpl, compiled = template
    if isinstance(compiled, merge.MergeError):  # saved before a check it now fails
        _fail(letter, f"The template '{tmpl.name}' must be edited and saved again: {compiled}")
        return False
    ctx = bundle.context(letter.pupil_id, letter.context)
    if tmpl.kind == LetterTemplate.Kind.LETTER and not ctx["contacts"]:
        _fail(letter, NO_CONTACT)
        return False
    try:
        html = template_html(template=tmpl, ctx=ctx, compiled=compiled)
        data, pages = pdf.html_to_pdf(html)
    except Exception as exc:  # a broken template or renderer: keep the reason on the letter
        log.exception("letter %s failed to render", letter.pk)
        _fail(letter, f"Could not render: {exc}")
        return False
    if letter.file:
        letter.file.delete(save=False)
    p = bundle.pupils[letter.pupil_id]
    letter.file.save(f"{letter.template_key}-{p.upn}-{letter.pk}.pdf", ContentFile(data), save=False)
    letter.pages, letter.recipients = pages, ctx["recipients"][:300]
    letter.status, letter.error, letter.rendered_at = Letter.Status.RENDERED, "", timezone.now()
    letter.save(update_fields=["file", "pages", "recipients", "status", "error", "rendered_at",
                               "attempts"])
    _event(letter, "rendered", f"{pages} page(s)")
    return True


def _templates(keys) -> dict:
    out = {}
    for t in LetterTemplate.objects.filter(key__in=set(keys), active=True):
        try:
            out[t.key] = (t, merge.compile_body(t.body))
        except merge.MergeError as exc:
            out[t.key] = (t, exc)  # reported on each letter
    return out


def letter_email(*, letter: Letter) -> bool:
    """Email the PDF to the correspondence contacts with an address, at most once.

    The letter is claimed with a conditional UPDATE (rendered and never emailed → emailed)
    before sending, so two workers or a retried task cannot send it twice. No address: it
    stays rendered, for the print pack."""
    from registers.models import Contact

    to = list(Contact.objects.filter(pupil_id=letter.pupil_id, correspondence=True)
              .exclude(email="").order_by("priority").values_list("email", flat=True))
    if not to:
        _event(letter, "to_print", "No correspondence email address: print and post.")
        return False
    now = timezone.now()
    claimed = Letter.objects.filter(pk=letter.pk, status=Letter.Status.RENDERED,
                                    emailed_at__isnull=True).update(
        status=Letter.Status.EMAILED, emailed_at=now, emailed_to=", ".join(to)[:300])
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
                           to=to, reply_to=[school.email] if school.email else None)
        letter.file.open("rb")
        try:
            msg.attach(letter.file.name.rsplit("/", 1)[-1], letter.file.read(), "application/pdf")
        finally:
            letter.file.close()
        msg.send()
    except Exception as exc:
        Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.FAILED, emailed_at=None,
                                                   emailed_to="", error=f"Email failed: {exc}")
        _event(letter, "failed", f"Email failed: {exc}")
        return False
    _event(letter, "emailed", ", ".join(to))
    return True


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
                        as_of: date | None = None) -> Batch:
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
        [Letter(pupil_id=pk, template_key=template.key, trigger_key=trigger_key, batch=batch)
         for pk in pupil_ids if pk not in already], ignore_conflicts=True, batch_size=1000)
    _finish_create(batch, already)
    return batch


@transaction.atomic
def batch_create_queued(*, user=None, send_email: bool = True) -> Batch | None:
    """Collect the letters the nightly job queued (not yet in a batch) into one batch."""
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


def batch_start(*, batch: Batch) -> None:
    """Enqueue the batch's queued letters in parallel chunks, after the transaction commits.
    ``chunks_left`` counts the chunks; the chunk that brings it to zero finishes the batch."""
    from . import tasks

    ids = list(batch.letters.filter(status=Letter.Status.QUEUED).order_by("pk").values_list("pk", flat=True))
    chunks = [ids[i:i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RENDERING, started=timezone.now(),
                                             finished=None, error="",
                                             chunks_left=F("chunks_left") + len(chunks))
    if not chunks:
        transaction.on_commit(lambda: tasks.batch_finish.delay(batch.pk))
        return
    for chunk in chunks:
        transaction.on_commit(lambda c=chunk: tasks.render_chunk.delay(batch.pk, c))


def batch_render_chunk(*, batch_id: int, letter_ids: list[int]) -> dict:
    """Render (and email) one chunk. Letters are locked and re-checked (still queued), so a
    redelivered task does nothing twice."""
    done = {"rendered": 0, "failed": 0, "emailed": 0}
    batch = Batch.objects.get(pk=batch_id)
    with transaction.atomic():
        letters = list(Letter.objects.select_for_update(skip_locked=True)
                       .filter(pk__in=letter_ids, status=Letter.Status.QUEUED)
                       .select_related("pupil"))
        if letters:
            templates = _templates(x.template_key for x in letters)
            by_day: dict[date, list[Letter]] = {}
            for x in letters:  # figures as on the trigger's night, the batch's day or today
                by_day.setdefault(x.night or batch.as_of or timezone.localdate(), []).append(x)
            for as_of, group in by_day.items():
                bundle = Bundle.load([x.pupil_id for x in group], as_of=as_of)
                for letter in group:
                    ok = letter_render(letter=letter, bundle=bundle, templates=templates)
                    done["rendered" if ok else "failed"] += 1
    if batch.send_email:
        for letter in letters:
            if letter.status == Letter.Status.RENDERED and letter_email(letter=letter):
                done["emailed"] += 1
    batch_chunk_done(batch_id=batch_id)
    return done


def batch_chunk_done(*, batch_id: int) -> None:
    """Count a chunk off (rendered and emailed); the one that reaches zero finishes the batch,
    so the print pack never catches letters another chunk is still emailing."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        batch.chunks_left -= 1
        batch.save(update_fields=["chunks_left"])
        last = batch.chunks_left == 0
    if last:
        batch_finish_if_done(batch_id=batch_id)


def batch_finish_if_done(*, batch_id: int) -> bool:
    """Join the print pack, then mark the batch done (only while it is rendering and no
    chunk is outstanding)."""
    batch = Batch.objects.get(pk=batch_id)
    if batch.status != Batch.Status.RENDERING or batch.chunks_left > 0 or \
            batch.letters.filter(status=Letter.Status.QUEUED).exists():
        return False
    try:
        batch_combine(batch=batch)
    except Exception as exc:
        log.exception("batch %s: print pack failed", batch_id)
        Batch.objects.filter(pk=batch_id).update(status=Batch.Status.FAILED, finished=timezone.now(),
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


@transaction.atomic
def batch_retry(*, batch: Batch, user=None) -> int:
    """Failed letters go back to the queue and the batch runs again."""
    failed = list(batch.letters.filter(status=Letter.Status.FAILED))
    for letter in failed:
        _event(letter, "retry", letter.error, _name(user))
    n = batch.letters.filter(status=Letter.Status.FAILED).update(status=Letter.Status.QUEUED, error="")
    if n:
        batch_start(batch=batch)
    return n


@transaction.atomic
def letters_mark_printed(*, batch: Batch, user=None) -> int:
    """Letters in the print pack have been printed and posted."""
    now = timezone.now()
    ids = list(batch.letters.filter(status=Letter.Status.RENDERED).values_list("pk", flat=True))
    Letter.objects.filter(pk__in=ids).update(status=Letter.Status.PRINTED, printed_at=now)
    LetterEvent.objects.bulk_create(LetterEvent(letter_id=i, kind="printed", user_name=_name(user))
                                    for i in ids)
    return len(ids)


def batch_progress(*, batch: Batch) -> dict:
    counts = dict(batch.letters.order_by().values_list("status").annotate(n=Count("id")))
    batch.refresh_from_db(fields=["status", "combined", "combined_pages", "error", "finished"])
    total = sum(counts.values())
    queued = counts.get(Letter.Status.QUEUED, 0)
    return {"status": batch.status, "total": total, "done": total - queued, "queued": queued,
            "rendered": counts.get(Letter.Status.RENDERED, 0),
            "emailed": counts.get(Letter.Status.EMAILED, 0),
            "printed": counts.get(Letter.Status.PRINTED, 0),
            "failed": counts.get(Letter.Status.FAILED, 0),
            "percent": round(100 * (total - queued) / total) if total else 100,
            "combined": bool(batch.combined), "combined_pages": batch.combined_pages,
            "error": batch.error}


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
    """Render a single letter synchronously (e.g. a document printed from a pupil's page)."""
    with transaction.atomic():
        bundle = Bundle.load([letter.pupil_id], as_of=as_of or letter.night)
        return letter_render(letter=letter, bundle=bundle, templates=_templates([letter.template_key]))


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

