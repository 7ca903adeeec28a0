"""Pages for a pupil's arrangements: session patterns, part-time timetables and off-site
provision (thin views over registers.arrangements)."""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance_site.spreadsheet import csv_from_dicts
from tenants.access import role_required
from tenants.roles import CASEWORKERS, WHOLE_SCHOOL_MARKERS, Role

from . import arrangements, cover, removal, section38
from .access import pupil_for_request
from .codes import ABSENCE_CODES
from .forms import (
    CoverForm,
    OffSiteProvisionForm,
    PartTimeTimetableForm,
    RemovalEnquiryForm,
    SessionPatternForm,
)
from .models import (
    OffSiteProvision,
    PartTimeTimetable,
    RemovalEnquiry,
    SchoolDay,
    SessionPattern,
)

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


# --- off-site provision and dual registration ------------------------------------------------

@role_required(WHOLE_SCHOOL_MARKERS)
def offsite_new(request, pk):
    pupil = pupil_for_request(request, pk)
    form = OffSiteProvisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        draft = arrangements.ProvisionDraft(
            provider=d["provider"], provider_contact=d["provider_contact"], code=d["code"],
            sessions=d["sessions"], start_date=d["start_date"], end_date=d["end_date"],
            reason=d["reason"])
        try:
            arrangements.offsite_record(pupil=pupil, draft=draft, user=request.user)
        except arrangements.ArrangementError as exc:
            for p in exc.problems:
                form.add_error(None, p)
        else:
            messages.success(request, f"Off-site provision recorded for {pupil.display_name}: "
                                      f"the register proposes {d['code']} for those sessions.")
            return redirect("offsite_list")
    provisions = list(OffSiteProvision.objects.filter(pupil=pupil))
    for o in provisions:
        o.slots = arrangements.slots_text(o.sessions)
    return render(request, "registers/offsite_form.html",
                  {"pupil": pupil, "form": form, "provisions": provisions})


@role_required(WHOLE_SCHOOL_MARKERS)
def offsite_list(request):
    today = timezone.localdate()
    provisions = list(arrangements.current_provisions(today))
    for o in provisions:
        o.slots = arrangements.slots_text(o.sessions)
    return render(request, "registers/offsite_list.html", {
        "provisions": provisions, "today": today,
        "waiting": len(arrangements.sessions_to_confirm(date_from=today - CONFIRM_WINDOW,
                                                        date_to=today))})


@role_required(WHOLE_SCHOOL_MARKERS)
@require_POST
def offsite_end(request, pk):
    provision = get_object_or_404(OffSiteProvision.objects.select_related("pupil"), pk=pk)
    today = timezone.localdate()
    try:
        arrangements.offsite_end(provision=provision, on=today)
    except arrangements.ArrangementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{provision.pupil.display_name}'s provision at "
                                  f"{provision.provider} ends on {today:%-d %B %Y}.")
    return redirect("offsite_list")


CONFIRM_WINDOW = timedelta(days=28)  # how far back the confirm list looks
# What the office may record for a session the provider says the pupil missed.
MISSED_CODES = ["N"] + [c for c in ABSENCE_CODES if c != "N"]


def _offsite_record(request, rows) -> None:
    """Record each posted provider outcome (attended / missed) and say what was done."""
    from .views import acting_role

    done, problems = 0, []
    for r in rows:
        outcome = request.POST.get(f"outcome-{r.key}", "")
        if outcome not in ("attended", "missed"):
            continue
        try:
            arrangements.provider_report_record(
                school=request.tenant, provision=r.provision, day=r.day, session=r.session,
                attended=outcome == "attended", code=request.POST.get(f"code-{r.key}", ""),
                note=request.POST.get(f"note-{r.key}", ""), user=request.user,
                role=acting_role(request), roles=request.roles)
            done += 1
        except arrangements.ArrangementError as exc:
            problems.append(f"{r.provision.pupil.display_name} {r.day:%-d %b} {r.session}: "
                            + "; ".join(exc.problems))
    if done:
        messages.success(request, f"{done} session(s) confirmed from the providers' reports.")
    for p in problems:
        messages.error(request, p)
    if not done and not problems:
        messages.info(request, "Choose attended or missed for the sessions to confirm.")


@role_required(WHOLE_SCHOOL_MARKERS)
def offsite_confirm(request):
    """The "confirm attendance at provider" list: each session a pupil was due at a provider
    up to today, with the mark the register holds; the office confirms it or records what
    the provider reported instead (an amendment naming the provider)."""
    today = timezone.localdate()
    rows = arrangements.sessions_to_confirm(date_from=today - CONFIRM_WINDOW, date_to=today)
    if request.method == "POST":
        _offsite_record(request, rows)
        return redirect("offsite_confirm")
    return render(request, "registers/offsite_confirm.html", {
        "rows": rows, "today": today, "since": today - CONFIRM_WINDOW,
        "missed_codes": MISSED_CODES})


# --- children not in school full time (registers.section38) ---------------------------------

# The LA officer of this school reads it, with the attendance lead and the head.
NOT_FULL_TIME_READERS = CASEWORKERS | {Role.LA_OFFICER}


@role_required(NOT_FULL_TIME_READERS)
def not_full_time(request):
    today = timezone.localdate()
    return render(request, "registers/not_full_time.html", {
        "rows": section38.not_full_time_rows(today), "today": today})


@role_required(NOT_FULL_TIME_READERS)
def not_full_time_export(request, fmt):
    today = timezone.localdate()
    rows = section38.not_full_time_rows(today)
    name = f"{request.tenant.schema_name}-not-in-school-full-time-{today}"
    if fmt == "csv":
        response = HttpResponse(section38.csv_text(rows), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = HttpResponse(section38.json_text(rows, school=request.tenant.name, as_of=today),
                                content_type="application/json")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --- cover (registers.cover) ---------------------------------------------------------------

@role_required(WHOLE_SCHOOL_MARKERS)
def cover_page(request):
    """The office assigns a member of staff to take a class's registers for a day."""
    from django.contrib.auth import get_user_model

    from .models import RegistrationGroup

    today = timezone.localdate()
    staff = cover.cover_staff(request.tenant)
    form = CoverForm(request.POST or None, staff=staff, groups=RegistrationGroup.objects.all(),
                     initial={"day": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            cover.cover_assign(school=request.tenant, group=d["group"], day=d["day"],
                               user=d["user"], by=request.user)
        except cover.CoverError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{d['user'].get_full_name() or d['user'].username} takes "
                                      f"{d['group'].name}'s registers on {d['day']:%A %-d %B}.")
            return redirect("cover")
    assigned = list(cover.covers_from(today))
    names = {u.pk: u.get_full_name() or u.username
             for u in get_user_model().objects.filter(pk__in={c.user_id for c in assigned})}
    for c in assigned:
        c.name = names.get(c.user_id, "(no longer on the staff list)")
    return render(request, "registers/cover.html", {"form": form, "covers": assigned})


@role_required(WHOLE_SCHOOL_MARKERS)
@require_POST
def cover_remove(request, pk):
    from .models import RegisterCover

    cover.cover_remove(cover=get_object_or_404(RegisterCover, pk=pk))
    messages.success(request, "Cover removed.")
    return redirect("cover")


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
