"""The attendance officer's queue, case pages and actions, class lists, penalties, policy.

Thin views over escalation.services and escalation.selectors; every view is role-checked
(strangers 404, other roles 403) and loads objects only from the current school's schema.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from registers.arrangements import overruns as part_time_overruns
from registers.arrangements import reviews_due as part_time_reviews_due
from registers.models import Pupil, RegistrationGroup
from tenants.access import role_required
from tenants.roles import Role

from . import presets, selectors, services
from .forms import (
    AdvanceForm,
    ContactForm,
    ContractForm,
    MeetingForm,
    OutcomeForm,
    OwnerForm,
    PenaltyForm,
    PenaltyPaymentForm,
    QueueFilterForm,
    ReasonForm,
    StageForm,
    SupportPlanForm,
)
from .models import BandSet, Case, CaseEvent, NightlyRun, PenaltyNotice, PolicyVersion, Stage

ESCALATION = {Role.ATTENDANCE_OFFICER, Role.HEAD}


def _errors(request, exc: ValidationError):
    for m in exc.messages:
        messages.error(request, m)


@role_required(ESCALATION)
def queue(request):
    f = request.GET
    form = QueueFilterForm(f)
    ok = form.filters()
    for name, errs in form.errors.items():
        messages.warning(request, f"Filter {name.rstrip('_')} ignored: {' '.join(errs)}")
    status = ok.get("status", "live")
    owner = ok.get("owner", "")
    cases = selectors.queue(
        status=status,
        group_id=ok.get("class_"),
        year=ok.get("year"),
        group=ok.get("group", ""),
        stage_id=ok.get("stage"),
        owner_role="" if owner == "mine" else owner,
        owner_id=request.user.pk if owner == "mine" else None,
        track=ok.get("track", ""),
    )
    cases = list(cases[:500])
    snaps = selectors.latest_snapshots(c.pupil_id for c in cases)
    for c in cases:
        c.snap = snaps.get(c.pupil_id)
    stages = Stage.objects.filter(active=True)
    counts = selectors.stage_counts(status=status)
    return render(
        request,
        "escalation/queue.html",
        {
            "cases": cases,
            "stages": stages,
            "groups": RegistrationGroup.objects.all(),
            "f": f,
            "today": timezone.localdate(),
            "owner_roles": [Role.ATTENDANCE_OFFICER, Role.HEAD, Role.TEACHER],
            "last_run": NightlyRun.objects.first(),
            "stage_counts": counts,
            "stage_total": sum(c["n"] for c in counts),
            "status": status,
            # Part-time timetables (registers.arrangements): reviews due and overruns.
            "part_time_due": part_time_reviews_due(timezone.localdate()),
            "part_time_overruns": part_time_overruns(timezone.localdate()),
        },
    )


def _case(pk) -> Case:
    return get_object_or_404(
        Case.objects.select_related(
            "pupil", "pupil__registration_group", "stage", "stage__next_stage", "policy_version"
        ),
        pk=pk,
    )


@role_required(ESCALATION)
def case_detail(request, pk):
    case = _case(pk)
    snaps = selectors.trend(case.pupil_id)
    latest = snaps[-1] if snaps else None
    target = None
    if latest:
        from .services import active_bands

        target = selectors.target_for(
            attended=latest.attended,
            possible=latest.possible,
            recent_pct=latest.last4_pct,
            bands=active_bands(),
            as_of=latest.night,
        )
    letters = list(case.letters.order_by("-created", "-pk"))
    return render(
        request,
        "escalation/case.html",
        {
            "case": case,
            "pupil": case.pupil,
            "snaps": snaps,
            "latest": latest,
            "target": target,
            "bands": selectors.band_history(case.pupil_id),
            # the case's own events, and the pupil's events that belong to no case (penalty
            # notices recorded from the penalties page, contacts logged elsewhere)
            "events": CaseEvent.objects.filter(Q(case=case) | Q(case__isnull=True, pupil_id=case.pupil_id))
            .select_related("stage")
            .order_by("at", "pk"),
            "other_cases": Case.objects.filter(pupil=case.pupil).exclude(pk=case.pk).select_related("stage"),
            "meetings": case.meetings.all(),
            "plans": case.support_plans.all(),
            "contracts": case.contracts.all(),
            "letters": letters,
            # issue 17: the pupil's contacts with their numbers, for calls and messages
            "contacts": case.pupil.contacts.order_by("priority"),
            "queued_letters": sum(1 for x in letters if x.status == x.Status.QUEUED),
            "penalty_notices": PenaltyNotice.objects.filter(pupil_id=case.pupil_id).select_related("parent"),
            "owner_form": OwnerForm(case=case, initial={"owner": case.owner_id}),
            "contact_form": ContactForm(),
            "meeting_form": MeetingForm(initial={"kind": case.stage.meeting_type}),
            "outcome_form": OutcomeForm(case=case),
            "advance_form": AdvanceForm(case=case),
            "reason_form": ReasonForm(),
        },
    )


@require_POST
@role_required(ESCALATION)
def case_action(request, pk, action):
    case = _case(pk)
    user, data = request.user, request.POST
    try:
        if action == "contact":
            form = ContactForm(data)
            if form.is_valid():
                services.case_contact_log(case=case, user=user, **form.cleaned_data)
                messages.success(request, "Contact logged.")
        elif action == "meeting":
            form = MeetingForm(data)
            if form.is_valid():
                m = services.meeting_schedule(case=case, user=user, **form.cleaned_data)
                messages.success(request, f"{m.get_kind_display()} scheduled.")
        elif action == "outcome":
            form = OutcomeForm(data, case=case)
            if form.is_valid():
                services.case_outcome_record(
                    case=case,
                    user=user,
                    outcome=form.cleaned_data["outcome"],
                    meeting=form.cleaned_data["meeting"],
                    meeting_status=form.cleaned_data["meeting_status"],
                )
                messages.success(request, "Outcome recorded.")
        elif action == "advance":
            form = AdvanceForm(data, case=case)
            if form.is_valid():
                services.case_advance(
                    case=case,
                    user=user,
                    to_stage=form.cleaned_data["to_stage"],
                    reason=form.cleaned_data["reason"],
                )
                case.refresh_from_db()
                messages.success(request, f"Moved to {case.stage.name}.")
        elif action in ("hold", "close"):
            form = ReasonForm(data)
            if form.is_valid():
                fn = services.case_hold if action == "hold" else services.case_close
                fn(case=case, user=user, reason=form.cleaned_data["reason"])
                messages.success(request, "Case on hold." if action == "hold" else "Case closed.")
        elif action == "resume":
            form = None
            services.case_resume(case=case, user=user)
            messages.success(request, "Case resumed.")
        elif action == "owner":
            form = OwnerForm(data, case=case)
            if form.is_valid():
                owner = form.cleaned_data["owner"]
                services.case_owner_set(case=case, owner=owner, user=user)
                name = (owner.get_full_name() or owner.username) if owner else ""
                messages.success(request, f"Owner: {name}." if owner else "Owner cleared.")
        elif action == "letters":
            form = None
            rendered, failed = services.case_letters_render(case=case)
            if rendered:
                messages.success(request, f"{rendered} letter{'s' if rendered != 1 else ''} rendered.")
            if failed:
                plural = "s" if failed != 1 else ""
                messages.error(request, f"{failed} letter{plural} could not be rendered: see Letters.")
            if not rendered and not failed:
                messages.info(request, "No queued letters for this case.")
        else:
            raise Http404
        if form is not None and not form.is_valid():
            for field, errs in form.errors.items():
                messages.error(request, f"{field}: {' '.join(errs)}")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("esc_case", pk=case.pk)


def _figures_now(case) -> dict:
    snap = selectors.latest_snapshots([case.pupil_id]).get(case.pupil_id)
    if not snap:
        return {}
    return {
        "night": snap.night.isoformat(),
        "attendance_pct": snap.attendance_pct,
        "possible": snap.possible,
        "authorised": snap.authorised,
        "unauthorised": snap.unauthorised,
        "u_count": snap.u_count,
    }


def _doc_form(request, pk, form_class, save, title, template_fields):
    case = _case(pk)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        obj.figures = _figures_now(case)
        try:
            save(case=case, user=request.user, **{template_fields: obj})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{title} saved.")
            return redirect("esc_case", pk=case.pk)
    return render(
        request,
        "escalation/doc_form.html",
        {"case": case, "form": form, "title": title, "figures": _figures_now(case)},
    )


@role_required(ESCALATION)
def plan_form(request, pk):
    return _doc_form(
        request, pk, SupportPlanForm, services.support_plan_save, "Attendance Targeted Support Plan", "plan"
    )


@role_required(ESCALATION)
def contract_form(request, pk):
    return _doc_form(request, pk, ContractForm, services.contract_save, "Attendance Contract", "contract")


@role_required(ESCALATION | {Role.TEACHER, Role.OFFICE})
def class_lists(request):
    groups = RegistrationGroup.objects.all()
    if Role.TEACHER in request.roles and not request.roles & (ESCALATION | {Role.OFFICE}):
        groups = groups.filter(teachers=request.user)
    return render(request, "escalation/class_lists.html", {"groups": groups})


@role_required(ESCALATION | {Role.TEACHER, Role.OFFICE})
def class_list_view(request, group_id):
    groups = RegistrationGroup.objects.all()
    if Role.TEACHER in request.roles and not request.roles & (ESCALATION | {Role.OFFICE}):
        groups = groups.filter(teachers=request.user)
    group = get_object_or_404(groups, pk=group_id)
    try:
        as_of = date.fromisoformat(request.GET["as_of"]) if request.GET.get("as_of") else timezone.localdate()
    except ValueError:
        as_of = timezone.localdate()
    rows, windows = selectors.class_list(group=group, as_of=as_of)
    return render(
        request,
        "escalation/class_list.html",
        {"group": group, "rows": rows, "as_of": as_of, "windows": windows},
    )


@role_required(ESCALATION)
def penalties(request):
    try:
        as_of = date.fromisoformat(request.GET["as_of"]) if request.GET.get("as_of") else timezone.localdate()
    except ValueError:
        as_of = timezone.localdate()
    rows = selectors.penalty_candidates(as_of=as_of)
    pupils = Pupil.objects.in_bulk([r["pupil_id"] for r in rows])
    for r in rows:
        r["pupil"] = pupils[r["pupil_id"]]
        r["form"] = PenaltyForm(pupil=r["pupil"], initial={"issued_on": as_of, "kind": "nti"})
    notices = PenaltyNotice.objects.select_related("pupil", "parent").all()[:200]
    variants = Stage.objects.filter(active=True, track="penalty")
    return render(
        request,
        "escalation/penalties.html",
        {
            "rows": rows,
            "as_of": as_of,
            "notices": notices,
            "window": selectors.penalty_window(as_of),
            "variants": variants,
            "payment_choices": services.PaymentOutcome.choices,
            "today": timezone.localdate(),
        },
    )


@require_POST
@role_required(ESCALATION)
def penalty_issue(request, pupil_id):
    pupil = get_object_or_404(Pupil, pk=pupil_id)
    form = PenaltyForm(request.POST, pupil=pupil)
    if form.is_valid():
        on = form.cleaned_data["issued_on"]
        window = selectors.penalty_window(on)
        row = next(
            (r for r in selectors.penalty_candidates(as_of=on, threshold=0) if r["pupil_id"] == pupil.pk),
            None,
        )
        try:
            services.penalty_notice_issue(
                pupil=pupil,
                parent=form.cleaned_data["parent"],
                kind=form.cleaned_data["kind"],
                issued_on=on,
                window_start=window[0] if window else on,
                window_end=on,
                unauthorised_sessions=row["unauthorised_sessions"] if row else 0,
                user=request.user,
                notes=form.cleaned_data["notes"],
            )
            messages.success(request, "Notice recorded.")
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, "Choose a parent, a kind of notice and a date.")
    return redirect("esc_penalties")


@require_POST
@role_required(ESCALATION)
def penalty_withdraw(request, pk):
    notice = get_object_or_404(PenaltyNotice, pk=pk)
    try:
        services.penalty_notice_withdraw(
            notice=notice, user=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(request, "Notice withdrawn.")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("esc_penalties")


@require_POST
@role_required(ESCALATION)
def penalty_payment(request, pk):
    notice = get_object_or_404(PenaltyNotice, pk=pk)
    form = PenaltyPaymentForm(request.POST)
    if form.is_valid():
        try:
            services.penalty_notice_payment_record(
                notice=notice,
                outcome=form.cleaned_data["outcome"],
                on=form.cleaned_data["on"],
                user=request.user,
            )
            messages.success(request, "Payment status recorded.")
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, "Choose what happened and the date.")
    return redirect("esc_penalties")


@role_required(ESCALATION)
def policy(request):
    if request.method == "POST":
        try:
            if "copy_preset" in request.POST:
                preset = request.POST["copy_preset"]
                if preset not in presets.STAGES:
                    raise ValidationError(f"Unknown preset '{preset}'.")
                presets.preset_copy(preset, user=request.user, bands=bool(request.POST.get("with_bands")))
                messages.success(request, f"Copied the {preset} preset: edit it below.")
            elif "activate_bands" in request.POST:
                band_set = get_object_or_404(BandSet, pk=request.POST["activate_bands"])
                services.band_set_activate(band_set=band_set, user=request.user)
                messages.success(request, "Band set made active.")
        except ValidationError as exc:
            _errors(request, exc)
        return redirect("esc_policy")
    return render(
        request,
        "escalation/policy.html",
        {
            "stages": Stage.objects.select_related("next_stage").filter(active=True),
            "band_sets": BandSet.objects.prefetch_related("bands").order_by("-active", "name"),
            "versions": PolicyVersion.objects.all()[:10],
            "presets": sorted(presets.STAGES),
            "runs": NightlyRun.objects.all()[:10],
        },
    )


@role_required(ESCALATION)
def stage_edit(request, pk=None):
    instance = get_object_or_404(Stage, pk=pk) if pk else None
    form = StageForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_save(stage=form.save(commit=False), user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Stage saved; a new policy version was recorded.")
            return redirect("esc_policy")
    return render(request, "escalation/stage_form.html", {"form": form, "stage": instance})
