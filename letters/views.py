"""Letter, batch and return pages: thin views over letters.services and letters.selectors."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance_site.params import id_param
from escalation.models import AttendanceContract, SupportPlan
from escalation.services import active_bands, band_for
from registers.access import pupil_for_request
from registers.exports import to_csv
from registers.models import Pupil
from registers.school_year import school_year_start
from registers.selectors import pupils_on_roll, stats_by_pupil
from tenants.access import role_required
from tenants.roles import ADMIN_STAFF, CASEWORKERS, RETURN_READERS, Role

from . import merge, returns, selectors, services
from .forms import BatchForm, CensusForm, EvidenceForm, ReturnGenerateForm, SettingsForm, TemplateForm
from .models import Batch, LAReturn, Letter, LetterSettings, LetterTemplate

LETTER_MANAGERS = RETURN_EDITORS = CASEWORKERS
LETTER_READERS = ADMIN_STAFF


def _pdf(data: bytes, filename: str, inline: bool = False) -> HttpResponse:
    resp = HttpResponse(data, content_type="application/pdf")
    resp["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return resp


def _error_text(exc: ValidationError) -> str:
    return " ".join(m for msgs in (exc.message_dict.values() if hasattr(exc, "error_dict")
                                   else [exc.messages]) for m in msgs)


# --- home and templates ---------------------------------------------------------------

@role_required(LETTER_READERS)
def home(request):
    return render(request, "letters/home.html", {
        "templates": LetterTemplate.objects.all(),
        "batches": Batch.objects.all()[:15],
        "queued": Letter.objects.filter(status=Letter.Status.QUEUED, batch__isnull=True).count(),
        "failed": Letter.objects.filter(status=Letter.Status.FAILED).count(),
        "to_check": Letter.objects.filter(status=Letter.Status.CHECK).count(),
        "held": Letter.objects.filter(status=Letter.Status.HELD).count(),
        "can_manage": bool(request.roles & LETTER_MANAGERS),
    })


@role_required(LETTER_MANAGERS)
def template_edit(request, pk=None):
    template = get_object_or_404(LetterTemplate, pk=pk) if pk else None
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = services.template_save(key=d["key"], name=d["name"], body=d["body"], kind=d["kind"],
                                           subject=d["subject"], template=template, active=d["active"],
                                           user_name=request.user.get_full_name() or request.user.username)
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                for e in errs:
                    form.add_error(field if field in form.fields else None, e)
        else:
            messages.success(request, f"Template '{saved.name}' saved.")
            return redirect("letters:template_edit", pk=saved.pk)
    pupils = Pupil.objects.filter(leaving_date__isnull=True).select_related("registration_group") \
        .order_by("registration_group__name", "legal_surname")[:2000]
    return render(request, "letters/template_edit.html", {
        "form": form, "template": template, "fields": merge.FIELDS, "pupils": pupils})


@role_required(LETTER_MANAGERS)
@require_POST
def template_preview(request):
    """Live preview: the unsaved body merged for a real pupil, as HTML (JSON) or as the PDF."""
    pupil = None
    if request.POST.get("pupil"):
        pupil = pupil_for_request(request, id_param(request.POST["pupil"]))
    kind = request.POST.get("kind") or LetterTemplate.Kind.LETTER
    try:
        html = services.template_preview(body=request.POST.get("body", ""), kind=kind, pupil=pupil)
    except merge.MergeError as exc:
        if request.POST.get("format") == "pdf":
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        return JsonResponse({"ok": False, "error": str(exc)})
    if request.POST.get("format") == "pdf":
        from .pdf import html_to_pdf

        return _pdf(html_to_pdf(html)[0], "preview.pdf", inline=True)
    return JsonResponse({"ok": True, "html": html})


# --- batches --------------------------------------------------------------------------

def _audience(d) -> tuple:
    today = timezone.localdate()
    qs = pupils_on_roll(today, today).select_related("registration_group")
    audience = d["audience"]
    if audience == "year":
        if d.get("year_group") is None:
            raise ValidationError("Choose a year group.")
        return qs.filter(year_group=d["year_group"]), f"Year group {d['year_group']}"
    if audience == "group":
        if not d.get("group"):
            raise ValidationError("Choose a class.")
        return qs.filter(registration_group=d["group"]), f"class {d['group']}"
    if audience == "band":
        name = (d.get("band") or "").strip()
        stats = stats_by_pupil(pupils=qs, date_from=school_year_start(today), date_to=today)
        bands = active_bands()
        ids = [pk for pk, s in stats.items() if (b := band_for(s.attendance_pct, bands)) and
               b.name.lower() == name.lower()]
        return qs.filter(pk__in=ids), f"band {name}"
    if audience == "pupils":
        upns = [u.strip().upper() for u in (d.get("upns") or "").split() if u.strip()]
        return qs.filter(upn__in=upns), f"{len(upns)} chosen pupils"
    return qs, "all pupils"


@role_required(LETTER_MANAGERS)
def batch_new(request):
    initial = {"template": request.GET.get("template"), "send_email": True}
    form = BatchForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            pupils, who = _audience(d)
        except ValidationError as exc:
            form.add_error(None, exc.messages[0])
        else:
            if not pupils.exists():
                form.add_error(None, "No pupils on roll match.")
            else:
                batch = services.batch_create_picked(
                    template=d["template"], pupils=pupils, trigger_key=d["trigger_key"],
                    label=f"{d['template'].name}: {who}", user=request.user,
                    send_email=d["send_email"])
                services.batch_start(batch=batch)
                _say_if_waiting(request, batch)
                return redirect("letters:batch_detail", pk=batch.pk)
    return render(request, "letters/batch_new.html", {"form": form})


@role_required(LETTER_MANAGERS)
@require_POST
def batch_queued(request):
    batch = services.batch_create_queued(user=request.user)
    if batch is None:
        messages.info(request, "No letters are waiting in the queue.")
        return redirect("letters:home")
    services.batch_start(batch=batch)
    _say_if_waiting(request, batch)
    return redirect("letters:batch_detail", pk=batch.pk)


WAITING = ("The letter queue is not available just now, so the batch is saved but has not "
           "started. It will start by itself when the queue is back: nothing needs doing.")


def _say_if_waiting(request, batch: Batch) -> None:
    if services.batch_health(batch=batch)["waiting_for_queue"]:
        messages.warning(request, WAITING)


@role_required(LETTER_READERS)
def batch_detail(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    letters = batch.letters.select_related("pupil", "pupil__registration_group") \
        .order_by("status", "pupil__legal_surname")
    return render(request, "letters/batch_detail.html", {
        "batch": batch, "letters": letters, "progress": services.batch_progress(batch=batch),
        "failed": [x for x in letters if x.status == Letter.Status.FAILED],
        "to_check": [x for x in letters if x.status == Letter.Status.CHECK],
        "can_manage": bool(request.roles & LETTER_MANAGERS)})


@role_required(LETTER_READERS)
def batch_progress(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    return JsonResponse(services.batch_progress(batch=batch))


@role_required(LETTER_READERS)
def batch_combined(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    if not batch.combined:
        raise Http404("No print pack: every letter was emailed, failed or is still rendering.")
    return FileResponse(batch.combined.open("rb"), as_attachment=True,
                        filename=f"batch-{batch.pk}-print.pdf", content_type="application/pdf")


@role_required(LETTER_READERS)
def batch_all(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    if not batch.letters.exclude(file="").exists():
        raise Http404
    return _pdf(services.batch_all_pdf(batch=batch), f"batch-{batch.pk}-all.pdf")


@role_required(LETTER_MANAGERS)
@require_POST
def batch_retry(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    n = services.batch_retry(batch=batch, user=request.user)
    messages.info(request, f"Batch started again: {n} letter(s) queued again.")
    _say_if_waiting(request, batch)
    return redirect("letters:batch_detail", pk=batch.pk)


@role_required(LETTER_MANAGERS)
@require_POST
def letter_check(request, pk):
    """A person's answer for a letter whose email was interrupted: it arrived, or send it."""
    letter = get_object_or_404(Letter.objects.select_related("pupil"), pk=pk)
    sent = request.POST.get("answer") == "sent"
    if not services.letter_check_resolve(letter=letter, sent=sent, user=request.user):
        messages.info(request, f"{letter.pupil.display_name}: this letter does not need checking.")
    elif sent:
        messages.success(request, f"{letter.pupil.display_name}: recorded as emailed.")
    elif services.letter_email(letter=Letter.objects.select_related("pupil").get(pk=letter.pk)):
        messages.success(request, f"{letter.pupil.display_name}: emailed again.")
    else:
        messages.warning(request, f"{letter.pupil.display_name}: not emailed "
                                  f"({Letter.objects.get(pk=letter.pk).get_status_display().lower()}).")
    return redirect("letters:batch_detail", pk=letter.batch_id) if letter.batch_id else \
        redirect("letters:pupil_letters", pk=letter.pupil_id)


@role_required(LETTER_MANAGERS)
def plan_pdf(request, pk):
    plan = get_object_or_404(SupportPlan.objects.select_related("case__pupil__registration_group"), pk=pk)
    return _pdf(services.plan_pdf(plan=plan), f"support-plan-{plan.case.pupil.upn}-{plan.meeting_date}.pdf")


@role_required(LETTER_MANAGERS)
def contract_pdf(request, pk):
    contract = get_object_or_404(AttendanceContract.objects.select_related("case__pupil__registration_group"),
                                 pk=pk)
    return _pdf(services.contract_pdf(contract=contract),
                f"attendance-contract-{contract.case.pupil.upn}-{contract.start_date}.pdf")


@role_required(LETTER_MANAGERS)
def review(request):
    """Before queued letters go: why each might be wrong to send; held letters to decide."""
    return render(request, "letters/review.html", selectors.letters_review(today=timezone.localdate()))


@role_required(LETTER_MANAGERS)
@require_POST
def letter_release(request, pk):
    letter = get_object_or_404(Letter.objects.select_related("pupil"), pk=pk)
    try:
        services.letter_release(letter=letter, user=request.user)
        messages.success(request, f"{letter.pupil.display_name}: released to go with the next letters.")
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("letters:review")


@role_required(LETTER_MANAGERS)
@require_POST
def letter_cancel(request, pk):
    letter = get_object_or_404(Letter.objects.select_related("pupil"), pk=pk)
    try:
        services.letter_cancel(letter=letter, user=request.user, reason=request.POST.get("reason", "")[:300])
        messages.success(request, f"{letter.pupil.display_name}: letter cancelled.")
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("letters:review")


@role_required(LETTER_MANAGERS)
@require_POST
def letter_posted(request, pk):
    """One rendered letter was posted or handed over on a day: it counts as sent from then."""
    letter = get_object_or_404(Letter.objects.select_related("pupil"), pk=pk)
    try:
        on = date.fromisoformat(request.POST.get("on", ""))
        services.letter_mark_posted(letter=letter, on=on, user=request.user)
    except ValueError:
        messages.error(request, "Give the date the letter was posted or handed over.")
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"{letter.pupil.display_name}: recorded as posted or handed over.")
    return redirect("esc_case", pk=letter.case_id) if letter.case_id else \
        redirect("letters:pupil_letters", pk=letter.pupil_id)


@role_required(LETTER_READERS)
@require_POST
def batch_printed(request, pk):
    batch = get_object_or_404(Batch, pk=pk)
    n = services.letters_mark_printed(batch=batch, user=request.user)
    messages.success(request, f"{n} letter(s) marked printed.")
    return redirect("letters:batch_detail", pk=batch.pk)


# --- letters on a pupil -----------------------------------------------------------------

def _parent_of(request, pupil: Pupil) -> bool:
    return Role.PARENT in request.roles and pupil.contacts.filter(user=request.user).exists()


@role_required(LETTER_READERS | {Role.PARENT})
def letter_pdf(request, pk):
    letter = get_object_or_404(Letter.objects.select_related("pupil"), pk=pk)
    staff = bool(request.roles & LETTER_READERS)
    if not staff and not (_parent_of(request, letter.pupil) and letter.status in selectors.SENT):
        raise Http404
    if not letter.file:
        raise Http404
    return FileResponse(letter.file.open("rb"), filename=f"{letter.template_key}-{letter.pupil.upn}.pdf",
                        content_type="application/pdf")


@role_required(LETTER_READERS)
def pupil_letters(request, pk):
    pupil = get_object_or_404(Pupil, pk=pk)
    today = timezone.localdate()
    return render(request, "letters/pupil_letters.html", {
        "pupil": pupil, "letters": selectors.letters_for_pupil(pupil=pupil),
        "evidence_form": EvidenceForm(initial={"date_from": school_year_start(today), "date_to": today}),
        "documents": LetterTemplate.objects.filter(active=True),
        "can_manage": bool(request.roles & LETTER_MANAGERS)})


@role_required(LETTER_MANAGERS)
@require_POST
def pupil_document(request, pk):
    """Render one template for one pupil now (a plan, a contract, a one-off letter)."""
    pupil = get_object_or_404(Pupil, pk=pk)
    template = get_object_or_404(LetterTemplate, pk=id_param(request.POST.get("template")),
                                 active=True)
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    letter = services.letter_queue(pupil=pupil, template_key=template.key,
                                   trigger_key=f"manual:{template.key}:{stamp}")
    if letter is None or not services.render_now(letter=letter):
        letter = letter and Letter.objects.get(pk=letter.pk)
        messages.error(request, f"Not rendered: {letter.error if letter else 'already queued'}")
    else:
        messages.success(request, f"{template.name} rendered.")
    return redirect("letters:pupil_letters", pk=pupil.pk)


@role_required(LETTER_MANAGERS)
def evidence_pdf(request, pk):
    pupil = get_object_or_404(Pupil, pk=pk)
    form = EvidenceForm(request.GET)
    if not form.is_valid():
        today = timezone.localdate()
        date_from, date_to = school_year_start(today), today
    else:
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    data = services.evidence_pack_pdf(pupil=pupil, date_from=date_from, date_to=date_to)
    return _pdf(data, f"evidence-{pupil.upn}-{date_to.isoformat()}.pdf")


@role_required(LETTER_MANAGERS)
def settings_edit(request):
    form = SettingsForm(request.POST or None, instance=LetterSettings.get())
    if request.method == "POST" and form.is_valid():
        services.settings_save(letter_settings=form.save(commit=False))
        messages.success(request, "Settings saved.")
        return redirect("letters:settings")
    return render(request, "letters/settings.html", {"form": form})


# --- returns ------------------------------------------------------------------------

def _return_for(request, pk) -> LAReturn:
    """LA officers see submitted returns only; a draft looks like it is not there."""
    la_only = not (request.roles & RETURN_EDITORS)
    return get_object_or_404(selectors.returns_visible(la_officer_only=la_only), pk=pk)


@role_required(RETURN_READERS)
def return_list(request):
    can_edit = bool(request.roles & RETURN_EDITORS)
    today = timezone.localdate()
    form = ReturnGenerateForm(request.POST or None, initial={
        "period_start": today.replace(day=1), "period_end": today})
    if request.method == "POST":
        if not can_edit:
            return HttpResponse(status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                ret = services.return_generate(kind=d["kind"], period_start=d["period_start"],
                                               period_end=d["period_end"], user=request.user)
            except ValidationError as exc:
                form.add_error(None, _error_text(exc))
            else:
                return redirect("letters:return_detail", pk=ret.pk)
    rets = selectors.returns_visible(la_officer_only=not can_edit).annotate(
        n=Count("entries", filter=Q(entries__included=True)))
    return render(request, "letters/return_list.html", {"returns": rets, "form": form,
                                                        "can_edit": can_edit})


@role_required(RETURN_READERS)
def return_detail(request, pk):
    ret = _return_for(request, pk)
    can_edit = bool(request.roles & RETURN_EDITORS) and ret.status == LAReturn.Status.DRAFT
    if request.method == "POST":
        if not can_edit:
            return HttpResponse(status=403)
        action = request.POST.get("action")
        try:
            if action == "entry":
                entry = get_object_or_404(ret.entries, pk=request.POST.get("entry"))
                services.return_entry_update(entry=entry, included="included" in request.POST,
                                             note=request.POST.get("note", ""),
                                             address=request.POST.get("address", ""), user=request.user)
                messages.success(request, f"{entry.legal_forename} {entry.legal_surname} updated.")
            elif action == "add":
                pupil = Pupil.objects.filter(upn=request.POST.get("upn", "").strip().upper()).first()
                if pupil is None:
                    raise ValidationError("No pupil with that UPN.")
                services.return_entry_add(la_return=ret, pupil=pupil,
                                          reason=request.POST.get("reason", ""), user=request.user)
                messages.success(request, f"{pupil.display_name} added.")
            elif action == "submit":
                services.return_submit(la_return=ret, user=request.user)
                messages.success(request, "Return marked as submitted.")
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        return redirect("letters:return_detail", pk=ret.pk)
    return render(request, "letters/return_detail.html", {
        "ret": ret, "entries": ret.entries.all(), "can_edit": can_edit,
        "extra": returns.EXTRA_FIELDS[ret.kind]})


@role_required(RETURN_READERS)
def return_export(request, pk, fmt):
    if fmt not in ("csv", "pdf"):
        raise Http404
    ret = _return_for(request, pk)
    name = f"{ret.kind}-return-{ret.period_end.isoformat()}"
    if fmt == "csv":
        resp = HttpResponse(to_csv(services.return_rows(la_return=ret), services.return_fields(ret.kind)),
                            content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return resp
    return _pdf(services.return_pdf(la_return=ret), f"{name}.pdf")


@role_required(RETURN_EDITORS)
def census(request):
    today = timezone.localdate()
    form = CensusForm(request.GET or None, initial={
        "term": returns.census_term_of(today), "year": school_year_start(today).year})
    rows, period = [], None
    if form.is_valid():
        on = date(form.cleaned_data["year"], 9, 1)
        term = form.cleaned_data["term"]
        rows = returns.census_rows(term=term, on=on)
        period = returns.census_period(term, on)
        if request.GET.get("format") == "csv":
            resp = HttpResponse(to_csv(rows, returns.CENSUS_FIELDS), content_type="text/csv; charset=utf-8")
            resp["Content-Disposition"] = f'attachment; filename="census-{term}-{on.year}.csv"'
            return resp
    used = [c for c in returns.CENSUS_REASONS if any(r[f"reason_{c}"] for r in rows)]
    for r in rows:
        r["reasons"] = [r[f"reason_{c}"] for c in used]
    return render(request, "letters/census.html", {"form": form, "rows": rows, "period": period,
                                                   "used": used})
