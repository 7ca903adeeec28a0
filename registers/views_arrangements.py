"""Pages for a pupil's arrangements: session patterns and part-time timetables (thin views
over registers.arrangements)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance_site.spreadsheet import csv_from_dicts
from tenants.access import role_required
from tenants.roles import CASEWORKERS, WHOLE_SCHOOL_MARKERS

from . import arrangements, removal
from .access import pupil_for_request
from .forms import PartTimeTimetableForm, RemovalEnquiryForm, SessionPatternForm
from .models import PartTimeTimetable, RemovalEnquiry, SchoolDay, SessionPattern

# The attendance lead and the head record part-time timetables; the office sees them.
TIMETABLE_WRITERS = CASEWORKERS


@role_required(WHOLE_SCHOOL_MARKERS)
def part_time_list(request):
    today = timezone.localdate()
    timetables = list(arrangements.current_timetables(today))
    for t in timetables:
        t.is_overrun = t.overrun(today)
        t.long = bool(arrangements.timetable_warnings(t.start_date, t.planned_end))
        t.slots = arrangements.slots_text(t.sessions)
        t.next_review = next((r for r in t.reviews.all() if r.done_on is None), None)
    return render(request, "registers/part_time_list.html", {
        "timetables": timetables, "today": today,
        "can_write": bool(request.roles & TIMETABLE_WRITERS)})


@role_required(WHOLE_SCHOOL_MARKERS)
def part_time_export(request):
    today = timezone.localdate()
    response = HttpResponse(csv_from_dicts(arrangements.timetable_rows(today),
                                           arrangements.CSV_FIELDS),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="{request.tenant.schema_name}-'
                                       f'part-time-timetables-{today}.csv"')
    return response


@role_required(TIMETABLE_WRITERS)
def part_time_new(request, pk):
    pupil = pupil_for_request(request, pk)
    form = PartTimeTimetableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        draft = arrangements.TimetableDraft(
            start_date=d["start_date"], planned_end=d["planned_end"], sessions=d["sessions"],
            reason=d["reason"], parent_agreed_on=d["parent_agreed_on"],
            review_dates=d["review_dates"],
            social_worker_informed_on=d["social_worker_informed_on"],
            la_consulted_on=d["la_consulted_on"], la_notified_on=d["la_notified_on"])
        try:
            _, warnings = arrangements.part_time_record(pupil=pupil, draft=draft,
                                                        user=request.user)
        except arrangements.ArrangementError as exc:
            for p in exc.problems:
                form.add_error(None, p)
        else:
            messages.success(request, f"Part-time timetable recorded for {pupil.display_name}: "
                                      "the register proposes C2 for the other sessions.")
            for w in warnings:
                messages.warning(request, w)
            return redirect("part_time_list")
    return render(request, "registers/part_time_form.html", {
        "pupil": pupil, "form": form,
        "history": PartTimeTimetable.objects.filter(pupil=pupil).prefetch_related("reviews")})


@role_required(TIMETABLE_WRITERS)
@require_POST
def part_time_update(request, pk):
    """Record a review as held, or end the timetable (``action``)."""
    timetable = get_object_or_404(PartTimeTimetable.objects.select_related("pupil"), pk=pk)
    today = timezone.localdate()
    try:
        if request.POST.get("action") == "end":
            arrangements.part_time_end(timetable=timetable, on=today)
            messages.success(request, f"{timetable.pupil.display_name}'s part-time timetable "
                                      f"ended on {today:%-d %B %Y}.")
        else:
            arrangements.part_time_review_done(timetable=timetable, on=today,
                                               notes=request.POST.get("notes", ""))
            messages.success(request, f"Review recorded for {timetable.pupil.display_name}.")
    except arrangements.ArrangementError as exc:
        messages.error(request, str(exc))
    return redirect("part_time_list")


@role_required(WHOLE_SCHOOL_MARKERS)
@require_POST
def arrangements_fill(request, day, session):
    """Enter the X and C2 that patterns and part-time timetables give for one session, for
    pupils not yet marked (ahead of time too: registers.policy allows these on this basis)."""
    from .services import RegisterError
    from .views import acting_role

    try:
        result = arrangements.arrangement_marks_fill(school=request.tenant, day=day,
                                                     session=session, user=request.user,
                                                     role=acting_role(request),
                                                     roles=request.roles)
    except RegisterError as exc:
        messages.error(request, "Nothing was entered: " + "; ".join(
            str(v) for v in exc.errors.values()))
    else:
        messages.success(request, f"{result['created']} X / C2 mark(s) entered for "
                                  f"{day:%-d %B} {session}.")
    return redirect("office_session", day=day, session=session)


@role_required(WHOLE_SCHOOL_MARKERS)
def session_pattern(request, pk):
    pupil = pupil_for_request(request, pk)
    form = SessionPatternForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            arrangements.session_pattern_set(pupil=pupil, label=d["label"],
                                             sessions=d["sessions"], start_date=d["start_date"],
                                             end_date=d["end_date"])
        except arrangements.ArrangementError as exc:
            for p in exc.problems:
                form.add_error(None, p)
        else:
            messages.success(request, f"Sessions recorded for {pupil.display_name}: the "
                                      "register proposes X for the others.")
            return redirect("pupil_detail", pk=pupil.pk)
    patterns = list(SessionPattern.objects.filter(pupil=pupil))
    for p in patterns:
        p.slots = arrangements.slots_text(p.sessions)
    return render(request, "registers/session_pattern.html",
                  {"pupil": pupil, "form": form, "patterns": patterns})


# --- lawful removal from roll (registers.removal) -----------------------------------------

@role_required(WHOLE_SCHOOL_MARKERS)
def removal_candidates(request):
    """Pupils meeting the 20-school-day rule, with the enquiries still to record."""
    as_of = latest_open_day_before(timezone.localdate())
    rows = []
    for pupil, run in (removal.twenty_day_candidates(as_of) if as_of else []):
        rows.append({"pupil": pupil, "run": run, "missing": removal.enquiries_missing(pupil)})
    not_returned = [{"pupil": p, "leave": leave, "missing": removal.enquiries_missing(p)}
                    for p, leave in (removal.not_returned_candidates(as_of) if as_of else [])]
    return render(request, "registers/removal_candidates.html",
                  {"rows": rows, "as_of": as_of, "run_days": removal.RUN_DAYS,
                   "not_returned": not_returned, "return_days": removal.RETURN_DAYS})


@role_required(WHOLE_SCHOOL_MARKERS)
def removal_enquiries(request, pk):
    """The enquiries checklist for one pupil (calls, home visit, LA joint enquiries)."""
    pupil = pupil_for_request(request, pk)
    form = RemovalEnquiryForm(request.POST or None,
                              initial={"done_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        removal.enquiry_record(pupil=pupil, kind=d["kind"], done_on=d["done_on"],
                               notes=d["notes"], user=request.user)
        messages.success(request, "Enquiry recorded.")
        return redirect("removal_enquiries", pk=pupil.pk)
    as_of = latest_open_day_before(timezone.localdate())
    done = {e.kind: e for e in RemovalEnquiry.objects.filter(pupil=pupil)}
    return render(request, "registers/removal_enquiries.html", {
        "pupil": pupil, "form": form, "run": removal.absence_run(pupil, as_of) if as_of else None,
        "as_of": as_of, "run_days": removal.RUN_DAYS,
        "checklist": [(k.label, done.get(k.value)) for k in removal.REQUIRED_ENQUIRIES]})


def latest_open_day_before(today):
    """The last school day before today: its registers are complete."""
    return SchoolDay.objects.filter(closed=False, date__lt=today).order_by("-date") \
        .values_list("date", flat=True).first()
