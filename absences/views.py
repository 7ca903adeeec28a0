"""Parent portal, absence reports, leave requests and the school's queues.

Thin views over absences.services and absences.selectors. Objects are only ever loaded
through the fetch helpers below: a parent reaches their own children's records, staff
their school's; anything else is 404, whether it exists or not.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registers.models import Pupil
from registers.school_year import school_year_start
from registers.selectors import stats_total
from registers.views import acting_role
from tenants.access import role_required
from tenants.roles import ADMIN_STAFF, HEADS, LEAVE_READERS, PARENTS, Role

from . import selectors, services
from .forms import (
    AcceptForm,
    AssessmentPeriodForm,
    ContactForm,
    DecideForm,
    LeaveConfirmForm,
    LeaveForm,
    PhonedReportForm,
    PolicyForm,
    QueryForm,
    ReportForm,
    ResolveForm,
)
from .models import AbsenceReport, AssessmentPeriod, LeaveRequest, PortalMessage

# --- fetch helpers: the only way these views load an object --------------------------------

def child_for_parent(request, pk: int) -> Pupil:
    return get_object_or_404(selectors.children_of(request.user), pk=pk)


def leave_for_request(request, pk: int) -> LeaveRequest:
    qs = LeaveRequest.objects.select_related("pupil__registration_group")
    if request.roles & ADMIN_STAFF:
        return get_object_or_404(qs, pk=pk)
    if Role.PARENT in request.roles:
        return get_object_or_404(qs.filter(pupil__in=selectors.children_of(request.user)), pk=pk)
    raise Http404


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _host_url(request, domain: str) -> str:
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    return f"{request.scheme}://{domain}" + ("" if port == default else f":{port}")


def _times(school) -> dict:
    return {s: dict(zip(("open", "late", "close"), school.register_times(s), strict=True))
            for s in ("AM", "PM")}


# --- parents -----------------------------------------------------------------------------------

@role_required(PARENTS)
def portal(request):
    """Every child of the signed-in parent, in this school and any other school."""
    today = timezone.localdate()
    overview = selectors.portal_overview(user=request.user, today=today)
    for block in overview:
        block["here"] = block["school"].pk == request.tenant.pk
        block["base"] = "" if block["here"] else _host_url(request, block["domain"])
    return render(request, "absences/portal.html", {
        "overview": overview, "today": today, "policy": selectors.policy_current(),
        "times": _times(request.tenant)})


@role_required(PARENTS)
def child_detail(request, pk):
    pupil = child_for_parent(request, pk)
    today = timezone.localdate()
    start = school_year_start(today)
    selectors.child_figures([pupil], today)
    return render(request, "absences/child.html", {
        "pupil": pupil, "today": today, "year_start": start,
        "weeks": selectors.marks_weeks(pupil, start, selectors.calendar_end_for(pupil, today)),
        "notable": selectors.notable_marks(pupil, start, today),
        "lap": selectors.lap_table(pupil.stats.attendance_pct),
        "reports": pupil.absence_reports.all()[:20],
        "requests": pupil.leave_requests.select_related("decision")[:20],
        "messages_in": PortalMessage.objects.filter(pupil=pupil)[:20],
        "policy": selectors.policy_current(), "times": _times(request.tenant),
        **_preference_context(request, pupil),
    })


def _preference_context(request, pupil) -> dict:
    from registers.models import Contact

    from .forms import PreferenceForm
    from .models import ContactPreference

    contact = Contact.objects.filter(pupil=pupil, user=request.user).order_by("priority").first()
    if contact is None:
        return {}
    pref = ContactPreference.objects.filter(contact=contact).first()
    return {"my_contact": contact, "preference_form": PreferenceForm(
        prefix="pref", initial={"channel": pref.channel if pref else ContactPreference.Channel.AUTO})}


@role_required(PARENTS)
@require_POST
def message_preference(request, pk):
    """The parent chooses text message and/or email for school messages about this child."""
    from registers.models import Contact

    from . import family_messages
    from .forms import PreferenceForm

    pupil = child_for_parent(request, pk)
    contact = Contact.objects.filter(pupil=pupil, user=request.user).order_by("priority").first()
    if contact is None:
        raise Http404
    form = PreferenceForm(request.POST, prefix="pref")
    if form.is_valid():
        family_messages.preference_set(contact=contact, channel=form.cleaned_data["channel"])
        messages.success(request, _("Saved: the school will contact you that way."))
    else:
        messages.error(request, _("Choose how you would like messages."))
    return redirect(reverse("absences:child", args=[pupil.pk]) + "#prefs-h")


@role_required(PARENTS)
@require_POST
def language_choose(request):
    """The parent chooses their language: remembered on their contact records and in the
    session; back to the page they were on (only a path on this site)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from . import family_messages, language
    from .forms import LanguageForm

    form = LanguageForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()) or not back.startswith("/"):
        back = reverse("absences:portal")
    if form.is_valid():
        code = form.cleaned_data["language"]
        family_messages.language_set(user=request.user, code=code)
        request.session[language.SESSION_KEY] = code
        translation.activate(code)
        messages.success(request, _("Saved: the school will write to you in this language."))
    else:
        messages.error(request, _("Choose a language from the list."))
    return redirect(back)


@role_required(PARENTS)
@require_http_methods(["GET", "POST"])
def report_new(request, pk):
    pupil = child_for_parent(request, pk)
    today = timezone.localdate()
    form = ReportForm(request.POST or None, request.FILES or None,
                      initial={"first_day": today, "last_day": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["reason"] == AbsenceReport.Reason.LATE_ARRIVAL:
                services.late_arrival_report_create(
                    school=request.tenant, pupil=pupil, user=request.user, arrived_at=d["arrived_at"],
                    because=d["late_because"], day=d["first_day"], evidence=d["evidence"])
            else:
                services.absence_report_create(
                    school=request.tenant, pupil=pupil, user=request.user, **{
                        k: v for k, v in d.items() if k not in ("arrived_at", "late_because")})
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Thank you. The school office has your report and will "
                                        "see it when the register is taken."))
            return redirect("absences:child", pk=pupil.pk)
    return render(request, "absences/report_form.html", {
        "pupil": pupil, "form": form, "policy": selectors.policy_current(),
        "times": _times(request.tenant)})


def _leave_check(request, context: dict, form, step: str):
    """Step 2 of a leave request: the school's rules for the dates, then (on submit) the
    request itself. None when the dates are refused (the step 1 form says why)."""
    data = form.cleaned_data
    try:
        sessions, results = services.leave_preview(
            pupil=context["pupil"], policy=context["policy"], **{k: data[k] for k in (
                "first_day", "first_session", "last_day", "last_session", "reason")})
    except ValidationError as exc:
        _apply_errors(form, exc)
        return None
    confirm = LeaveConfirmForm(request.POST if step == "submit" else None,
                               request.FILES or None, initial=data)
    if step == "submit" and confirm.is_valid():
        try:
            leave = services.leave_request_submit(pupil=context["pupil"], user=request.user,
                                                  **confirm.cleaned_data)
        except ValidationError as exc:
            _apply_errors(confirm, exc)
        else:
            messages.success(request, _("Your request has been sent to the headteacher. You will "
                                        "get the decision in writing."))
            return redirect("absences:leave_detail", pk=leave.pk)
    return render(request, "absences/leave_check.html", {
        **context, "form": confirm, "data": data, "results": results,
        "failed": [r for r in results if not r.passed],
        "holiday": data["reason"] == LeaveRequest.Reason.HOLIDAY,
        "blocked": [r for r in results if r.blocks and not r.passed],
        "days": len(sessions) / 2, "reason_label": LeaveRequest.Reason(data["reason"]).label,
        "day_list": services.days_of([selectors.session_key(d, s) for d, s in sessions])})


@role_required(PARENTS)
@require_http_methods(["GET", "POST"])
def leave_new(request, pk):
    """Step 1: dates and reason. Step 2 (check): the school's rules, the document, submit."""
    pupil = child_for_parent(request, pk)
    step = request.POST.get("step", "")
    context = {"pupil": pupil, "policy": selectors.policy_current()}
    if request.method == "POST" and step in ("check", "submit"):
        form = LeaveForm(request.POST)
        if form.is_valid():
            response = _leave_check(request, context, form, step)
            if response is not None:
                return response
    elif request.method == "POST":  # "change the dates": back to step 1 with what was typed
        form = LeaveForm(request.POST)
    else:
        form = LeaveForm()
    return render(request, "absences/leave_form.html", {**context, "form": form})


@role_required(LEAVE_READERS)
def leave_detail(request, pk):
    leave = leave_for_request(request, pk)
    return render(request, "absences/leave_detail.html", {
        "leave": leave, "decision": getattr(leave, "decision", None),
        "is_staff": bool(request.roles & ADMIN_STAFF),
        "days": services.days_of(leave.sessions)})


@role_required(LEAVE_READERS)
def leave_letter(request, pk):
    leave = leave_for_request(request, pk)
    decision = getattr(leave, "decision", None)
    if decision is None:
        raise Http404
    return render(request, "absences/letter.html", {"leave": leave, "decision": decision})


@role_required(LEAVE_READERS)
def leave_document(request, pk):
    leave = leave_for_request(request, pk)
    if not leave.document:
        raise Http404
    return FileResponse(leave.document.open("rb"), as_attachment=False,
                        filename=leave.document.name.rsplit("/", 1)[-1])


def _report_for(request, pk) -> AbsenceReport:
    """Staff: any report in this school; a parent: their own children's reports only."""
    qs = AbsenceReport.objects.select_related("pupil")
    if request.roles & ADMIN_STAFF:
        return get_object_or_404(qs, pk=pk)
    if Role.PARENT in request.roles:
        return get_object_or_404(qs.filter(pupil__in=selectors.children_of(request.user)), pk=pk)
    raise Http404


@role_required(LEAVE_READERS)
def report_evidence(request, pk):
    """The evidence attached to a report, as a download with its checked type (never shown
    inline under the site's origin): the school's staff and the child's parent only."""
    report = _report_for(request, pk)
    if not report.evidence:
        raise Http404
    ext = report.evidence.name.rsplit(".", 1)[-1]
    response = FileResponse(report.evidence.open("rb"), as_attachment=True,
                            content_type=report.evidence_type or "application/octet-stream",
                            filename=f"evidence-{report.pk}.{ext}")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(PARENTS)
@require_POST
def report_evidence_add(request, pk):
    """A parent adds evidence to a report already sent (e.g. when the office asks for it)."""
    from .forms import EvidenceForm

    report = _report_for(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    upload = form.cleaned_data.get("evidence") if form.is_valid() else None
    if upload is None:
        messages.error(request, _("Choose the file to upload."))
    else:
        try:
            services.report_evidence_attach(report=report, upload=upload)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Thank you: the school office can now see the file."))
    return redirect(reverse("absences:child", args=[report.pupil_id]) + "#reports-h")


# --- the office: reported absences ----------------------------------------------------------------

PUPIL_SEARCH_LIMIT = 20


def _pupil_search(q: str, today) -> list[Pupil]:
    """Pupils on roll today whose name (legal or preferred) matches every word typed."""
    words = q.split()
    if not words:
        return []
    qs = Pupil.objects.filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=today),
                              admission_date__lte=today).select_related("registration_group")
    for w in words[:4]:
        qs = qs.filter(Q(legal_forename__icontains=w) | Q(legal_surname__icontains=w)
                       | Q(preferred_forename__icontains=w) | Q(preferred_surname__icontains=w))
    return list(qs.order_by("legal_surname", "legal_forename")[:PUPIL_SEARCH_LIMIT])


def _inbox_page(request, *, phoned_form=None, phoned_pupil=None):
    today = timezone.localdate()
    box = selectors.reports_inbox(today)
    for r in box["new"]:
        r.accept_form = AcceptForm(initial={"code": r.suggested_code if r.suggested_code != "N" else ""},
                                   prefix=f"r{r.pk}", late_arrival=r.is_late_arrival)
        r.query_form = QueryForm(prefix=f"q{r.pk}")
    q = request.GET.get("q", "").strip()[:100]
    if phoned_pupil is None and request.GET.get("pupil", "").isdigit():
        phoned_pupil = get_object_or_404(Pupil.objects.select_related("registration_group"),
                                         pk=int(request.GET["pupil"]))
    if phoned_pupil is not None and phoned_form is None:
        phoned_form = PhonedReportForm(initial={"pupil": phoned_pupil.pk, "first_day": today,
                                                "last_day": today})
    return render(request, "absences/inbox.html", {
        **box, "today": today, "refused_due": selectors.refused_leave_due(today),
        "q": q, "found": _pupil_search(q, today) if q else None,
        "phoned_pupil": phoned_pupil, "phoned_form": phoned_form})


@role_required(ADMIN_STAFF)
def inbox(request):
    return _inbox_page(request)


@role_required(ADMIN_STAFF)
@require_POST
def report_phoned(request):
    """A parent phoned: the office records the absence on their behalf (accepted at once)."""
    form = PhonedReportForm(request.POST)
    pupil_pk = request.POST.get("pupil", "")
    if not pupil_pk.isdigit():
        raise Http404
    pupil = get_object_or_404(Pupil.objects.select_related("registration_group"), pk=int(pupil_pk))
    if form.is_valid():
        d = form.cleaned_data
        try:
            report, result = services.absence_report_record(
                school=request.tenant, pupil=pupil, user=request.user, role=acting_role(request),
                **{k: d[k] for k in ("reason", "first_day", "first_session", "last_day",
                                     "last_session", "caller", "code", "details")})
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            text = _("%(name)s: absence recorded, %(code)s for %(n)d session(s).") % {
                "name": pupil.display_name, "code": report.code_applied, "n": len(result["written"])}
            if result["kept"]:
                text += " " + _("%(n)d session(s) already marked were left as they are.") % {
                    "n": len(result["kept"])}
            messages.success(request, text)
            return redirect("absences:inbox")
    return _inbox_page(request, phoned_form=form, phoned_pupil=pupil)


def _report(pk) -> AbsenceReport:
    return get_object_or_404(AbsenceReport.objects.select_related("pupil"), pk=pk)


@role_required(ADMIN_STAFF)
@require_POST
def report_accept(request, pk):
    report = _report(pk)
    form = AcceptForm(request.POST, prefix=f"r{report.pk}", late_arrival=report.is_late_arrival)
    if not form.is_valid():
        messages.error(request, _("Not accepted: choose the code to record."))
        return redirect("absences:inbox")
    try:
        result = services.absence_report_accept(
            school=request.tenant, report=report, user=request.user, role=acting_role(request),
            code=form.cleaned_data["code"], message=form.cleaned_data["message"])
    except ValidationError as exc:
        messages.error(request, _("Not accepted: %(why)s") % {"why": " ".join(exc.messages)})
    else:
        text = _("%(name)s: %(code)s recorded for %(n)d session(s).") % {
            "name": report.pupil.display_name, "code": form.cleaned_data["code"],
            "n": len(result["written"])}
        if result["kept"]:
            text += " " + _("%(n)d session(s) already marked were left as they are.") % {
                "n": len(result["kept"])}
        messages.success(request, text)
    return redirect("absences:inbox")


@role_required(ADMIN_STAFF)
@require_POST
def report_query(request, pk):
    report = _report(pk)
    form = QueryForm(request.POST, prefix=f"q{report.pk}")
    if form.is_valid():
        try:
            services.absence_report_query(report=report, user=request.user,
                                          message=form.cleaned_data["message"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your question has been sent to the parent."))
    else:
        messages.error(request, _("Write the question for the parent."))
    return redirect("absences:inbox")


@role_required(ADMIN_STAFF)
@require_POST
def leave_mark_g(request, pk):
    leave = leave_for_request(request, pk)
    n = services.leave_mark_unauthorised(school=request.tenant, request=leave, user=request.user,
                                         role=acting_role(request))
    messages.success(request, _("%(n)d session(s) marked G for %(name)s.") % {
        "n": n, "name": leave.pupil.display_name})
    return redirect("absences:inbox")


# --- the headteacher: leave decisions -------------------------------------------------------------

@role_required(HEADS)
def queue(request):
    return render(request, "absences/queue.html", {
        "requests": selectors.decision_queue(timezone.localdate())})


def _session_choices(leave: LeaveRequest):
    out = []
    for key in leave.sessions:
        d, s = selectors.parse_session_key(key)
        out.append((key, f"{d:%a} {d.day} {d:%b} {s}"))
    return out


@role_required(HEADS)
@require_http_methods(["GET", "POST"])
def decide(request, pk):
    leave = leave_for_request(request, pk)
    if leave.status != LeaveRequest.Status.PENDING:
        return redirect("absences:leave_detail", pk=leave.pk)
    choices = _session_choices(leave)
    form = DecideForm(request.POST or None, sessions=choices,
                      initial={"granted": leave.sessions, "code": leave.default_code})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.leave_request_decide(
                school=request.tenant, request=leave, user=request.user, role=acting_role(request),
                outcome=d["outcome"], granted=d["granted"], code=d["code"], reason=d["reason"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Decision recorded; the letter has been sent to the parent."))
            return redirect("absences:leave_detail", pk=leave.pk)
    today = timezone.localdate()
    one = Pupil.objects.filter(pk=leave.pupil_id)
    return render(request, "absences/decide.html", {
        "leave": leave, "form": form,
        "stats": stats_total(pupils=one, date_from=school_year_start(today), date_to=today),
        "previous": leave.pupil.leave_requests.exclude(pk=leave.pk).select_related("decision")})


@role_required(HEADS)
@require_http_methods(["GET", "POST"])
def policy_edit(request):
    policy = selectors.policy_current()
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        services.policy_save(**{f: form.cleaned_data[f] for f in PolicyForm.Meta.fields})
        messages.success(request, _("Leave rules saved."))
        return redirect("absences:policy")
    return render(request, "absences/policy.html", {
        "form": form, "policy": policy, "period_form": AssessmentPeriodForm(),
        **selectors.assessment_years(policy, timezone.localdate())})


@role_required({Role.HEAD})
@require_POST
def assessment_add(request):
    form = AssessmentPeriodForm(request.POST)
    if not form.is_valid():
        for field, errs in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errs)}")
        return redirect("absences:policy")
    try:
        services.assessment_period_save(**form.cleaned_data)
        messages.success(request, _("Assessment period added."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("absences:policy")


@role_required({Role.HEAD})
@require_POST
def assessment_delete(request, pk):
    services.assessment_period_delete(period=get_object_or_404(AssessmentPeriod, pk=pk))
    messages.success(request, _("Assessment period removed."))
    return redirect("absences:policy")


@role_required({Role.HEAD})
@require_POST
def assessment_carry(request):
    try:
        year = int(request.POST.get("from_year", ""))
        made = services.assessment_periods_carry(from_year=year)
        messages.success(request, _("%(n)s periods copied a year on: check each against the STA timetable.")
                         % {"n": len(made)})
    except ValueError:
        messages.error(request, _("Choose the school year to carry forward."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("absences:policy")


# --- the office: unexplained absences ---------------------------------------------------------------

@role_required(ADMIN_STAFF)
def unexplained(request):
    today = timezone.localdate()
    rows = selectors.unexplained_worklist(today)
    for row in rows:
        pk = row["pupil"].pk
        row["contact_form"] = ContactForm(prefix=f"c{pk}")
        row["resolve_form"] = ResolveForm(prefix=f"x{pk}", sessions=_n_choices(row["marks"]),
                                          initial={"sessions": [_key(m) for m in row["marks"]]})
    return render(request, "absences/unexplained.html", {
        "rows": rows, "today": today, "home_visits": [r for r in rows if r["home_visit"]]})


def _key(mark) -> str:
    return selectors.session_key(mark.date, mark.session)


def _n_choices(marks):
    return [(_key(m), f"{m.date:%a} {m.date.day} {m.date:%b} {m.session}") for m in marks]


def _pupil(pk) -> Pupil:
    return get_object_or_404(Pupil, pk=pk)


@role_required(ADMIN_STAFF)
@require_POST
def contact_log(request, pk):
    pupil = _pupil(pk)
    form = ContactForm(request.POST, prefix=f"c{pupil.pk}")
    if form.is_valid():
        services.contact_attempt_add(pupil=pupil, user=request.user, **form.cleaned_data)
        messages.success(request, _("Logged for %(name)s.") % {"name": pupil.display_name})
    else:
        messages.error(request, _("Choose what happened."))
    return redirect(reverse("absences:unexplained") + f"#pupil-{pupil.pk}")


@role_required(ADMIN_STAFF)
@require_POST
def resolve(request, pk):
    pupil = _pupil(pk)
    start = school_year_start(timezone.localdate())
    marks = list(pupil.marks.filter(code="N", date__gte=start).order_by("date", "session"))
    form = ResolveForm(request.POST, prefix=f"x{pupil.pk}", sessions=_n_choices(marks))
    if not form.is_valid():
        messages.error(request, _("Not resolved: tick the sessions, choose a code and write the "
                                  "reason given."))
        return redirect(reverse("absences:unexplained") + f"#pupil-{pupil.pk}")
    d = form.cleaned_data
    sessions = [selectors.parse_session_key(k) for k in d["sessions"]]
    try:
        n = services.unexplained_resolve(school=request.tenant, pupil=pupil, sessions=sessions,
                                         code=d["code"], note=d["note"], user=request.user,
                                         role=acting_role(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s: %(n)d session(s) now %(code)s.") % {
            "name": pupil.display_name, "n": n, "code": d["code"]})
    return redirect("absences:unexplained")


# --- the office: first-day messages -----------------------------------------------------------

def _session_or_404(day: str, session: str):
    from datetime import date

    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    if session not in ("AM", "PM"):
        raise Http404
    return d, session


def _calling_list(day, session) -> str:
    return reverse("office_session", args=[day, session]) + "#calling-list"


@role_required(ADMIN_STAFF)
@require_POST
def first_day_send(request, day, session):
    """Queue first-day messages: every pupil marked N for the session, or one family."""
    from . import family_messages

    d, s = _session_or_404(day, session)
    pupil = None
    if request.POST.get("pupil"):
        if not request.POST["pupil"].isdigit():
            raise Http404
        pupil = _pupil(int(request.POST["pupil"]))
    try:
        counts = family_messages.first_day_queue(day=d, session=s, user=request.user, pupil=pupil)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_calling_list(d, s))
    note = _("%(queued)d message(s) queued to send.") % counts
    if counts["skipped"]:
        note += " " + _("%(skipped)d family(ies) already had a message for this session.") % counts
    if counts["unreachable"]:
        note += " " + _("%(unreachable)d with no mobile number or email: phone them.") % counts
    messages.success(request, note)
    return redirect(_calling_list(d, s))


@role_required(ADMIN_STAFF)
@require_POST
def first_day_refresh(request, day, session):
    """Ask the text-message provider which texts have arrived; send any still queued."""
    from . import family_messages

    d, s = _session_or_404(day, session)
    family_messages.statuses_refresh(day=d, session=s)
    family_messages.enqueue_queued(day=d, session=s)
    messages.success(request, _("Delivery status updated."))
    return redirect(_calling_list(d, s))


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def message_settings(request):
    from . import family_messages
    from .forms import MessageSettingsForm
    from .models import MessageSettings

    current = MessageSettings.get()
    form = MessageSettingsForm(request.POST or None, initial={
        "template": current.template, "email_subject": current.email_subject,
        "send_on_close": current.send_on_close,
        "text_when_school_writes": current.text_when_school_writes})
    if request.method == "POST" and form.is_valid():
        family_messages.settings_save(**form.cleaned_data)
        messages.success(request, _("First-day message saved."))
        return redirect("absences:message_settings")
    return render(request, "absences/message_settings.html", {
        "form": form, "fields": family_messages.FIELDS})
