"""The attendance officer's queue, case pages and actions, class lists, penalties, policy.

Thin views over escalation.services and escalation.selectors; every view is role-checked
(strangers 404, other roles 403) and loads objects only from the current school's schema.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from registers.arrangements import overruns as part_time_overruns
from registers.arrangements import reviews_due as part_time_reviews_due
from registers.models import Pupil, RegistrationGroup
from registers.pupils import pupil_care_flags_set
from tenants.access import role_required
from tenants.roles import CASEWORKERS, Role

from . import presets, selectors, services
from .access import case_for_request, manages_cases
from .forms import (
    AdvanceForm,
    CareFlagsForm,
    ContactForm,
    ContractForm,
    MeetingForm,
    OutcomeForm,
    OwnerForm,
    PenaltyForm,
    PenaltyPaymentForm,
    QueueFilterForm,
    ReasonForm,
    SignatureForm,
    StageForm,
    SupportPlanForm,
    ToldForm,
)
from .models import BandSet, Case, NightlyRun, PenaltyNotice, PolicyVersion, Stage

ESCALATION = CASEWORKERS


def _errors(request, exc: ValidationError):
    for m in exc.messages:
        messages.error(request, m)


@role_required(ESCALATION)
def queue(request):
    form = QueueFilterForm(request.GET)
    ok = form.filters()
    for name, errs in form.errors.items():
        messages.warning(request, f"Filter {name.rstrip('_')} ignored: {' '.join(errs)}")
    status, owner = ok.get("status", "live"), ok.get("owner", "")
    filters = dict(status=status, group_id=ok.get("class_"), year=ok.get("year"), group=ok.get("group", ""),
                   stage_id=ok.get("stage"), track=ok.get("track", ""),
                   owner_role="" if owner == "mine" else owner,
                   owner_id=request.user.pk if owner == "mine" else None)
    today = timezone.localdate()
    return render(request, "escalation/queue.html", {
        **selectors.queue_page(filters=filters), "f": request.GET, "today": today, "status": status,
        "owner_roles": [Role.ATTENDANCE_OFFICER, Role.HEAD, Role.TEACHER],
        # Part-time timetables (registers.arrangements): reviews due and overruns.
        "part_time_due": part_time_reviews_due(today), "part_time_overruns": part_time_overruns(today)})


CASE_WORKERS = ESCALATION | {Role.TEACHER}


def _manages(request) -> bool:
    return manages_cases(request)


def _case(request, pk) -> Case:
    return case_for_request(request, pk)  # escalation/access.py


@role_required(CASE_WORKERS)
def my_cases(request):
    """A class teacher's own list: the cases at stages the class teacher owns, in their classes."""
    cases = list(selectors.teacher_cases(user=request.user).select_related(
        "pupil", "pupil__registration_group", "stage").order_by("review_due", "pupil__legal_surname", "pk"))
    snaps = selectors.latest_snapshots(c.pupil_id for c in cases)
    for c in cases:
        c.snap = snaps.get(c.pupil_id)
    return render(request, "escalation/my_cases.html", {"cases": cases, "today": timezone.localdate()})


@role_required(CASE_WORKERS)
def case_detail(request, pk):
    case = _case(request, pk)
    manage = _manages(request)
    context = selectors.case_page(case=case, manage=manage)
    context.update(manage=manage, contact_form=ContactForm(), outcome_form=OutcomeForm(case=case))
    if manage:
        context.update(owner_form=OwnerForm(case=case, initial={"owner": case.owner_id}),
                       meeting_form=MeetingForm(initial={"kind": case.stage.meeting_type}),
                       advance_form=AdvanceForm(case=case), reason_form=ReasonForm(), told_form=ToldForm(),
                       signature_form=SignatureForm())
    return render(request, "escalation/case.html", context)


# Case actions: one small handler per action, each calling one service and returning the
# messages to show. CASE_ACTIONS maps the action in the URL to (form, handler, teacher may).

def _contact(case, user, d):
    services.case_contact_log(case=case, user=user, **d)
    return [(messages.SUCCESS, "Contact logged.")]


def _meeting(case, user, d):
    m = services.meeting_schedule(case=case, user=user, **d)
    return [(messages.SUCCESS, f"{m.get_kind_display()} scheduled.")]


def _outcome(case, user, d):
    services.case_outcome_record(case=case, user=user, **d)
    return [(messages.SUCCESS, "Outcome recorded.")]


def _advance(case, user, d):
    case = services.case_advance(case=case, user=user, **d)
    return [(messages.SUCCESS, f"Moved to {case.stage.name}.")]


def _hold(case, user, d):
    services.case_hold(case=case, user=user, **d)
    return [(messages.SUCCESS, "Case on hold.")]


def _close(case, user, d):
    services.case_close(case=case, user=user, **d)
    return [(messages.SUCCESS, "Case closed.")]


def _resume(case, user, d):
    services.case_resume(case=case, user=user)
    return [(messages.SUCCESS, "Case resumed.")]


def _owner(case, user, d):
    owner = services.case_owner_set(case=case, user=user, **d).owner
    name = (owner.get_full_name() or owner.username) if owner else ""
    return [(messages.SUCCESS, f"Owner: {name}." if owner else "Owner cleared.")]


def _told(case, user, d):
    started = services.case_told_by_hand(case=case, user=user, **d)
    return [(messages.SUCCESS, "Recorded: the monitoring clock has started.") if started
            else (messages.INFO, "The clock had already started: nothing changed.")]


def _letters(case, user, d):
    rendered, failed = services.case_letters_render(case=case)
    out = [(messages.SUCCESS, f"{rendered} letter{pluralize(rendered)} rendered.")] if rendered else []
    if failed:
        out.append((messages.ERROR, f"{failed} letter{pluralize(failed)} could not be rendered: see "
                                    "Letters."))
    return out or [(messages.INFO, "No queued letters for this case.")]


CASE_ACTIONS = {
    "contact": (lambda data, case: ContactForm(data), _contact, True),
    "meeting": (lambda data, case: MeetingForm(data), _meeting, False),
    "outcome": (lambda data, case: OutcomeForm(data, case=case), _outcome, True),
    "advance": (lambda data, case: AdvanceForm(data, case=case), _advance, False),
    "hold": (lambda data, case: ReasonForm(data), _hold, False),
    "close": (lambda data, case: ReasonForm(data), _close, False),
    "resume": (None, _resume, False),
    "owner": (lambda data, case: OwnerForm(data, case=case), _owner, False),
    "told": (lambda data, case: ToldForm(data), _told, False),
    "letters": (None, _letters, False),
}


@require_POST
@role_required(CASE_WORKERS)
def case_action(request, pk, action):
    if action not in CASE_ACTIONS:
        raise Http404
    make_form, handler, teacher_may = CASE_ACTIONS[action]
    case = _case(request, pk)
    if not (teacher_may or _manages(request)):
        raise PermissionDenied
    form = make_form(request.POST, case) if make_form else None
    if form is not None and not form.is_valid():
        for field, errs in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errs)}")
        return redirect("esc_case", pk=case.pk)
    try:
        for level, text in handler(case, request.user, form.cleaned_data if form else {}):
            messages.add_message(request, level, text)
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
    case = _case(request, pk)
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


@require_POST
@role_required(ESCALATION)
def care_flags(request, pk):
    """What letters should know about the child: medical evidence, a recent bereavement."""
    case = _case(request, pk)
    form = CareFlagsForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError([f"{f}: {' '.join(e)}" for f, e in form.errors.items()])
        pupil_care_flags_set(pupil=case.pupil, user=request.user, **form.cleaned_data)
        messages.success(request, "Saved: letters will take this into account.")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("esc_case", pk=case.pk)


@require_POST
@role_required(ESCALATION)
def contract_sign(request, pk, contract_id):
    """Record one signature of the contract's signature block."""
    case = _case(request, pk)
    contract = get_object_or_404(case.contracts.all(), pk=contract_id)
    form = SignatureForm(request.POST)
    if not form.is_valid():
        for field, errs in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errs)}")
        return redirect("esc_case", pk=case.pk)
    try:
        services.contract_signature_record(contract=contract, user=request.user, **form.cleaned_data)
        messages.success(request, "Signature recorded.")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("esc_case", pk=case.pk)


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
