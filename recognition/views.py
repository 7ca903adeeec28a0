"""Recognition pages: thin views over recognition.selectors and recognition.services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from absences.selectors import children_of
from dashboards.figures import NATIONAL_BENCHMARK
from registers.disclosure import FEWER, small
from registers.models import Pupil
from tenants.access import role_required
from tenants.roles import MARKERS, PUPIL_READERS, PUPIL_REPORT_READERS, Role

from . import selectors, services
from .forms import ActionForm, BenchmarkForm, CallDoneForm, RuleFormSet, SettingsForm
from .models import Award, PositiveCall, PrizeDraw, Rule

LEADS = {Role.ATTENDANCE_OFFICER, Role.HEAD}
PARENTS = {Role.PARENT}


def _print(request, chosen, rule, period, d, settings):
    batch = services.certificates_print(rows=chosen, rule=rule, period=period, user=request.user)
    if batch.combined:
        messages.success(request, f"{batch.combined_pages} certificate page(s) ready to print.")
    else:
        messages.info(request, "No new certificates: every pupil chosen already has one.")
    return redirect("letters:batch_detail", pk=batch.pk)


def _record(request, chosen, rule, period, d, settings):
    n = services.awards_record(rows=chosen, rule=rule, period=period,
                               gift=d["gift"] or rule.gift, user=request.user)
    messages.success(request, f"Recorded for {n} pupil(s).")
    return redirect(f"{reverse('recognition:home')}?period={period.key}&rule={rule.pk}")


def _draw(request, chosen, rule, period, d, settings):
    draw = services.prize_draw(rows=chosen, rule=rule, period=period,
                               wanted=d["winners"] or settings.draw_winners, user=request.user)
    return redirect("recognition:draw", pk=draw.pk)


# What the list's action button does (anything else is a prize draw, as before).
LIST_ACTIONS = {"print": _print, "record": _record, "draw": _draw}


@role_required(LEADS)
def home(request):
    """The attendance lead's list for a period and rule, and what to do with it."""
    today = timezone.localdate()
    settings = services.settings_get()
    periods, period, rules, rule = selectors.list_chosen(request.GET.get("period"),
                                                         request.GET.get("rule"), today)
    rows = selectors.recognition_list(rule=rule, period=period, today=today, settings=settings) \
        if rule else []
    form = ActionForm(request.POST or None, pupil_ids=[r.pupil.pk for r in rows],
                      initial={"gift": rule.gift if rule else "", "winners": settings.draw_winners})
    if request.method == "POST" and rule and form.is_valid():
        d = form.cleaned_data
        chosen = [r for r in rows if r.pupil.pk in set(d["pupils"])] if d["pupils"] else rows
        if not chosen:
            form.add_error(None, "Nobody is on the list.")
        else:
            return LIST_ACTIONS.get(d["action"], _draw)(request, chosen, rule, period, d, settings)
    return render(request, "recognition/home.html", {
        "settings": settings, "periods": periods, "period": period, "rules": rules, "rule": rule,
        "rows": rows, "form": form, "draws": selectors.draws(5)})


@role_required(LEADS)
def settings_edit(request):
    settings = services.settings_get()
    form = SettingsForm(request.POST or None, instance=settings, prefix="s")
    formset = RuleFormSet(request.POST or None, queryset=Rule.objects.all(), prefix="r")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        services.settings_save(form=form, formset=formset)
        messages.success(request, "Recognition settings saved.")
        return redirect("recognition:settings")
    return render(request, "recognition/settings.html", {"form": form, "formset": formset})


@role_required(LEADS)
def draw_detail(request, pk):
    draw = get_object_or_404(PrizeDraw, pk=pk)
    names = Pupil.objects.in_bulk(draw.winners)
    return render(request, "recognition/draw.html", {
        "draw": draw, "winners": [names[i] for i in draw.winners if i in names],
        "repeatable": services.draw_check(draw)})


@role_required(LEADS)
def improvers(request):
    today = timezone.localdate()
    settings = services.settings_get()
    rows, start, end = selectors.improvers(today=today, settings=settings)
    if request.method == "POST":
        ids = set()
        for v in request.POST.getlist("pupils"):
            if v.isdigit():
                ids.add(int(v))
        chosen = [r.pupil for r in rows if r.pupil.pk in ids] or [r.pupil for r in rows]
        if not chosen:
            messages.info(request, "Nobody is on the list.")
        elif request.POST.get("action") == "letters":
            batch = services.positive_letters(pupils=chosen, user=request.user)
            return redirect("letters:batch_detail", pk=batch.pk)
        else:
            n = services.positive_calls_create(
                pupils=chosen, reason=f"Attendance up {settings.improved_margin} points or more "
                                      f"since {start:%-d %b}", user=request.user)
            messages.success(request, f"{n} positive call(s) added to the list.")
        return redirect("recognition:improvers")
    return render(request, "recognition/improvers.html", {
        "rows": rows, "start": start, "end": end, "settings": settings,
        "calls": selectors.open_calls(), "done_form": CallDoneForm()})


@role_required(LEADS | {Role.OFFICE})
@require_POST
def call_done(request, pk):
    call = get_object_or_404(PositiveCall, pk=pk, done_on__isnull=True)
    form = CallDoneForm(request.POST)
    if form.is_valid():
        services.positive_call_done(call=call, notes=form.cleaned_data["notes"], user=request.user)
        messages.success(request, f"Call to {call.pupil.display_name}'s family recorded.")
    return redirect("recognition:improvers")


@role_required(LEADS | {Role.DESIGNATED_SAFEGUARDING_LEAD})
def early_warning(request):
    today = timezone.localdate()
    return render(request, "recognition/early_warning.html", {
        "rows": selectors.early_warning(today=today), "today": today,
        "weeks": selectors.RECENT_WEEKS, "fall": selectors.SHARP_FALL_POINTS})


@role_required(LEADS)
def benchmarks(request):
    form = BenchmarkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.benchmark_add(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages[0])
        else:
            messages.success(request, "Figure saved.")
            return redirect("recognition:benchmarks")
    return render(request, "recognition/benchmarks.html", {"form": form,
                                                           "rows": selectors.benchmarks()})


@role_required(PUPIL_REPORT_READERS)
def groups(request):
    """Pupil groups for staff: safeguarding characteristics included, so never for governors
    or the trust (figures-only viewers, registers.disclosure)."""
    today = timezone.localdate()
    whole, rows = selectors.staff_groups(today)
    return render(request, "recognition/groups.html", {"whole": whole, "rows": rows, "today": today,
                                                       "ethnicity": selectors.ethnicity_groups(today)})


@role_required({Role.TRUST_DIRECTOR})
def trust(request):
    """The trust director's termly lists across the trust's own schools."""
    if request.tenant.trust_id is None:
        raise Http404
    rows = selectors.trust_lists(request.tenant.trust, timezone.localdate())
    for r in rows:  # groups of fewer than 5 pupils show no figures (registers.disclosure)
        for g in r.groups:
            g["hidden"] = small(g["pupils"]) or small(g["pa"])
    return render(request, "recognition/trust.html", {
        "trust": request.tenant.trust, "rows": rows, "fewer": FEWER,
        "national": NATIONAL_BENCHMARK})


def _competition(request) -> dict:
    today = timezone.localdate()
    settings = services.settings_get()
    p = selectors.competition_periods(today)
    week = selectors.class_table(*p["week"], lateness=settings.competition_lateness)
    half = selectors.class_table(*p["half_term"][:2], lateness=settings.competition_lateness) \
        if p["half_term"] else []
    return {"week": week, "half": half, "p": p, "settings": settings, "today": today}


@role_required(MARKERS)
def competition(request):
    return render(request, "recognition/competition.html", _competition(request))


@role_required(MARKERS)
def poster(request):
    return render(request, "recognition/poster.html", _competition(request))


@role_required(PARENTS)
def my_awards(request):
    """A parent's children's certificates and awards, and their class's win if the school shares it."""
    children = children_of(request.user)
    awards = list(selectors.awards_for_pupils(children))
    settings = services.settings_get()
    winners = []
    if settings.competition_to_parents and children:
        ctx = _competition(request)
        top = [c for c in ctx["week"] if c.rank == 1]
        mine = {p.registration_group_id for p in children}
        winners = [c for c in top if c.group.pk in mine]
    return render(request, "recognition/my_awards.html", {
        "children": children, "awards": awards, "winners": winners})


@role_required(PARENTS | PUPIL_READERS)
def certificate_pdf(request, pk):
    """A certificate's PDF: to the pupil's parents, and to staff who may read that pupil."""
    from registers.selectors import pupils_visible_to

    award = get_object_or_404(Award.objects.select_related("letter"), pk=pk, letter__isnull=False)
    visible = pupils_visible_to(user=request.user, roles=request.roles)
    if not visible.filter(pk=award.pupil_id).exists() or not award.letter.file:
        raise Http404
    return FileResponse(award.letter.file.open("rb"), as_attachment=False,
                        filename=f"certificate-{award.pk}.pdf", content_type="application/pdf")
