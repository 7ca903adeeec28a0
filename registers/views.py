"""Register pages: thin views over registers.services and registers.selectors."""

from datetime import date, datetime

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tenants.access import role_required
from tenants.roles import (
    ADMIN_STAFF,
    MARKERS,
    PUPIL_READERS,
    SAFEGUARDING_READERS,
    WHOLE_SCHOOL_MARKERS,
    WHOLE_SCHOOL_PUPIL_READERS,
    Role,
)

from . import arrangements, codes, cover, hooks, imports, policy, register_html, selectors
from .access import group_for_request, pupil_for_request
from .calendar import calendar_entry_add, calendar_entry_delete
from .forms import AmendForm, CalendarEntryForm, ImportForm, OffRollForm, PupilSearchForm
from .models import CalendarEntry, Mark, Pupil, RegistrationGroup, SchoolDay
from .pupils import pupil_history
from .school_year import learning_lost, school_year_start
from .services import Entry, RegisterError, RollError, mark_token, marks_save, pupil_off_roll
from .services import mark_amend as amend_service

ROLE_ORDER = [Role.HEAD, Role.ATTENDANCE_OFFICER, Role.OFFICE, Role.TEACHER,
              Role.DESIGNATED_SAFEGUARDING_LEAD, Role.GOVERNOR, Role.TRUST_DIRECTOR,
              Role.LA_OFFICER, Role.PARENT]


def acting_role(request) -> str:
    """The role recorded on audit rows: the most senior one the person holds here."""
    return next((r.label for r in ROLE_ORDER if r in request.roles), "")


def current_session(school, now=None) -> tuple[date, str]:
    """Today's session now, or the latest open session before today if today is not one."""
    now = timezone.localtime(now)
    day = SchoolDay.objects.filter(closed=False, date__lte=now.date()).order_by("-date") \
        .values_list("date", flat=True).first() or now.date()
    if day < now.date():
        return day, "PM"
    return day, "AM" if now.time() < school.pm_open else "PM"


def _session_days(day: date, session: str):
    """(the day's SchoolDay or None, previous session, next session) as (date, session)
    pairs, skipping non-school days: one query for the day and the nearest open day on the
    side the session's other half is not on."""
    later = session == "PM"
    rows = list(SchoolDay.objects.filter(Q(date=day) | (
        Q(date__gt=day, closed=False) if later else Q(date__lt=day, closed=False)))
        .order_by("date" if later else "-date")[:2])
    schoolday = rows.pop(0) if rows and rows[0].date == day else None
    other = (rows[0].date, "AM" if later else "PM") if rows else None
    return (schoolday, (day, "AM"), other) if later else (schoolday, other, (day, "PM"))


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    roles = request.roles
    if not roles:
        raise Http404
    if roles & {Role.HEAD, Role.GOVERNOR, Role.TRUST_DIRECTOR}:
        return redirect("dashboard")
    if roles & WHOLE_SCHOOL_MARKERS:
        return redirect("office_today")
    if Role.TEACHER in roles:
        return redirect("my_register")
    if Role.PARENT in roles:
        return redirect("absences:portal")
    if roles & PUPIL_READERS:
        return redirect("pupil_list")
    return render(request, "registers/home.html")


@role_required(MARKERS)
def my_register(request):
    school = request.tenant
    day, session = current_session(school)
    own = list(RegistrationGroup.objects.filter(teachers=request.user))
    # Classes this person covers today (registers.cover): that day only.
    covered = [g for g in cover.covers(request.user, day) if g not in own]
    groups = own + covered
    if not groups and request.roles & WHOLE_SCHOOL_MARKERS:
        return redirect("office_session", day=day, session=session)
    if len(groups) == 1:
        return redirect("register", group_id=groups[0].pk, day=day, session=session)
    return render(request, "registers/my_groups.html",
                  {"groups": groups, "covered": covered, "day": day, "session": session})


def _register_pupils(group, day) -> list[Pupil]:
    """Pupils of the class on roll that day, by the name the school uses: one query."""
    return list(selectors.by_name_used(
        Pupil.objects.filter(registration_group=group, admission_date__lte=day)
        .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=day))))


def _register_rows(pupils, day, session):
    """Each pupil with their mark and any parent report covering the session: 2 queries."""
    marks = {m.pupil_id: m for m in Mark.objects.filter(pupil__in=[p.pk for p in pupils],
                                                        date=day, session=session)}
    reports = hooks.session_reports([p.pk for p in pupils], day, session)
    planned = arrangements.planned_codes([p.pk for p in pupils], day, session,
                                         today=timezone.localdate())
    return [{"pupil": p, "mark": marks.get(p.pk), "report": reports.get(p.pk),
             "planned": planned.get(p.pk)} for p in pupils]


def _entries_from_post(post, pupils, session, reported) -> list[Entry]:
    """The posted marks. "Mark all remaining present" fills only unmarked pupils with no
    parent's report or arrangement (X, C2) for the session (``reported``): a reported
    absence or a session the pupil is not expected at is never made present."""
    all_present = "all_present" in post
    entries = []
    for p in pupils:
        code = post.get(f"code-{p.pk}", "").strip()
        if not code and all_present and p.pk not in reported:
            code = codes.present_code(session)
        if not code:
            continue
        minutes = post.get(f"minutes-{p.pk}", "").strip()
        entries.append(Entry(p.pk, code, int(minutes) if minutes.isdigit() else None,
                             post.get(f"reason-{p.pk}", ""), post.get(f"base-{p.pk}")))
    return entries


STATE_NOTES = {
    policy.FUTURE: "This session has not started yet. Ahead of time a register only holds codes "
                   "from granted leave, a parent's report the office accepted, or a planned "
                   "closure.",
    policy.PAST: "Registers are taken on the day. To enter or correct an earlier mark, ask the "
                 "office, the attendance lead or the head.",
    policy.CLOSED_TODAY: "The register closed at {closes}. You can still mark pupils left "
                         "unmarked; changing a saved mark is now an amendment for the office, "
                         "the attendance lead or the head.",
}


def _changed_message(items, saved: bool) -> str:
    names = "; ".join(f"{c.pupil.display_name}: {c.theirs or 'unmarked'} by {c.by}" for c in items)
    return ("Marked by someone else since you opened this register, now showing their mark: "
            if saved else "") + names


def _register_post(request, pupils, day, session):
    """Save the posted register. None when every mark was saved (the caller redirects);
    otherwise (errors, conflicts by pupil, the posted data) to show again."""
    reported = set(hooks.session_reports([p.pk for p in pupils], day, session)) | set(
        arrangements.planned_codes([p.pk for p in pupils], day, session)) \
        if "all_present" in request.POST else set()
    entries = _entries_from_post(request.POST, pupils, session, reported)
    try:
        result = marks_save(school=request.tenant, day=day, session=session, pupils=pupils,
                            entries=entries, user=request.user, role=acting_role(request),
                            roles=request.roles)
    except RegisterError as exc:
        messages.error(request, "Nothing was saved: " + "; ".join(
            str(v) for v in exc.errors.values()))
        return exc.errors, {}, request.POST
    saved = (f"Register saved: {result['created']} new, "
             f"{result['amended']} amended.")
    if result["changed_by_others"]:
        messages.info(request, _changed_message(result["changed_by_others"], True))
    if not result["conflicts"]:
        messages.success(request, saved)
        return None
    messages.success(request, saved + " Some marks were not saved: see below.")
    return {}, {c.pupil.pk: c for c in result["conflicts"]}, request.POST


def _register_row_fill(r: dict, *, roles, state, errors: dict, conflict, posted) -> None:
    """What each row shows: the saved mark (or the code a parent's report proposes), or
    after a rejected save what was posted, so the person only has to fix the problem.
    A row whose mark someone else changed meanwhile shows this person's choice against
    the new mark, so saving it again (with a reason) re-applies it."""
    pk, mark = r["pupil"].pk, r["mark"]
    r["base"] = mark_token(mark)
    r["writable"] = policy.may_write(roles=roles, state=state, existing=bool(mark))
    r["proposed"] = "" if mark else (r["report"].suggested_code if r["report"] else
                                     r["planned"].code if r["planned"] else "")
    r["conflict"] = conflict
    if errors or conflict:
        r["code"] = posted.get(f"code-{pk}", "") if not conflict else conflict.yours
        r["minutes"] = posted.get(f"minutes-{pk}", "")
        r["reason"] = posted.get(f"reason-{pk}", "")
        if errors:
            r["base"] = posted.get(f"base-{pk}", r["base"])
    else:
        r["code"] = mark.code if mark else r["proposed"]
        r["minutes"] = "" if mark is None or mark.minutes_late is None else mark.minutes_late
        if mark is None and r["report"] and getattr(r["report"], "minutes_late", None) is not None:
            r["minutes"] = r["report"].minutes_late  # a parent's late-arrival report (issue 14)
        r["reason"] = ""


@role_required(MARKERS)
@require_http_methods(["GET", "POST"])
def register_take(request, group_id, day, session):
    school = request.tenant
    group = group_for_request(request, group_id, day)
    pupils = _register_pupils(group, day)
    errors, conflicts, posted = {}, {}, None
    if request.method == "POST":
        result = _register_post(request, pupils, day, session)
        if result is None:
            return redirect("register", group_id=group.pk, day=day, session=session)
        errors, conflicts, posted = result
    state = policy.register_state(school=school, day=day, session=session)
    schoolday, prev, nxt = _session_days(day, session)
    rows = _register_rows(pupils, day, session)
    for r in rows:
        _register_row_fill(r, roles=request.roles, state=state, errors=errors,
                           conflict=conflicts.get(r["pupil"].pk), posted=posted)
    opens, late, closes = school.register_times(session)
    writable = any(r["writable"] for r in rows)
    note = STATE_NOTES.get(state.name, "") if not all(r["writable"] for r in rows) else ""
    return render(request, "registers/register.html", {
        "group": group, "day": day, "session": session, "rows": rows, "errors": errors,
        "schoolday": schoolday, "prev": prev, "next": nxt,
        "marked": sum(1 for r in rows if r["mark"]),
        "rows_html": register_html.rows_html(rows, errors=errors, roles=request.roles),
        "times": {"open": opens, "late": late, "close": closes},
        "present_code": codes.present_code(session),
        "posted": posted, "conflicts": list(conflicts.values()), "writable": writable,
        "state_note": note.format(closes=f"{closes:%H:%M}"),
    })


@role_required(WHOLE_SCHOOL_MARKERS)
def office_today(request):
    day, session = current_session(request.tenant)
    return redirect("office_session", day=day, session=session)


def _overdue(school, day: date, session: str, now=None) -> int | None:
    """Minutes since the session's register closed (None: not closed yet). A past day's
    register counts from its close that day."""
    now = timezone.localtime(now)
    closes = timezone.make_aware(datetime.combine(day, school.register_times(session)[2]))
    return int((now - closes).total_seconds() // 60) if now >= closes else None


def _overdue_text(minutes: int | None, day: date) -> str:
    if minutes is None:
        return ""
    if day < timezone.localdate():
        return "not taken"
    hours, mins = divmod(minutes, 60)
    return f"{minutes} min overdue" if not hours else f"{hours} h {mins} min overdue"


@role_required(WHOLE_SCHOOL_MARKERS)
def office_session(request, day, session):
    """The whole school for one day: AM and PM registers side by side (classes in year
    order; one missing after closing shows in red with the minutes overdue), and the
    first-day calling list and parents' reports for the session chosen."""
    groups = selectors.register_status(day)
    overdue = {s: _overdue(request.tenant, day, s) for s in ("AM", "PM")}
    for g in groups:
        g.cells = [(s, g.marked[s], g.missing[s], overdue[s] if g.missing[s] else None,
                    _overdue_text(overdue[s], day)) for s in ("AM", "PM")]
    calling = selectors.calling_list(day, session)
    reports = hooks.reports_on(day)
    totals = selectors.session_totals(day, session)
    schoolday, prev, nxt = _session_days(day, session)
    # Issue 14: first-day messages sent from the calling list, with their delivery status.
    sent = hooks.family_messages_by_pupil(day, session)
    for m in calling:
        m.family_messages = sent.get(m.pupil_id, [])
    return render(request, "registers/office_session.html", {
        "day": day, "session": session, "groups": groups, "calling": calling,
        "reports": reports, "totals": totals, "prev": prev, "next": nxt,
        "missing": [g for g in groups if g.missing[session]], "overdue": overdue,
        "sessions": ("AM", "PM"), "schoolday": schoolday,
    })


@role_required(PUPIL_READERS)
def pupil_list(request):
    search = PupilSearchForm(request.GET)
    search.is_valid()  # a bad value is dropped and shown as a message on the form
    q, group = search.cleaned_data.get("q", ""), search.cleaned_data.get("group")
    visible = selectors.pupils_visible_to(user=request.user, roles=request.roles)
    pupils = visible.select_related("registration_group")
    if request.GET.get("leavers") != "1":
        pupils = pupils.filter(leaving_date__isnull=True)
    if q:
        pupils = selectors.pupils_matching(pupils, q)
    if group:
        pupils = pupils.filter(registration_group_id=group)
    pupils = selectors.by_name_used(pupils)
    today = timezone.localdate()
    pupils = list(pupils[:500])
    ids = Pupil.objects.filter(pk__in=[p.pk for p in pupils])
    stats = selectors.stats_by_pupil(pupils=ids, date_from=school_year_start(today),
                                     date_to=today)
    for p in pupils:
        p.stats = stats.get(p.pk)
    groups = RegistrationGroup.objects.all()
    if not request.roles & WHOLE_SCHOOL_PUPIL_READERS:
        groups = groups.filter(teachers=request.user)
    return render(request, "registers/pupil_list.html", {
        "pupils": pupils, "q": q, "groups": groups, "group": str(group) if group else "",
        "search_errors": [e for errs in search.errors.values() for e in errs]})


def _marks_calendar(pupil, date_from, date_to):
    """Weeks (Mon–Fri) of the period with the AM and PM mark of each day."""
    marks = {(m.date, m.session): m for m in pupil.marks.filter(date__range=(date_from, date_to))}
    weeks = {}
    for d in SchoolDay.objects.filter(date__range=(date_from, date_to)):
        week = weeks.setdefault(d.week, [None] * 5)
        week[d.date.weekday()] = {"day": d, "am": marks.get((d.date, "AM")),
                                  "pm": marks.get((d.date, "PM"))}
    return sorted(weeks.items(), reverse=True)


@role_required(PUPIL_READERS | {Role.PARENT})
def pupil_detail(request, pk):
    pupil = pupil_for_request(request, pk)
    is_staff = bool(request.roles & PUPIL_READERS)
    today = timezone.localdate()
    start = school_year_start(today)
    one = Pupil.objects.filter(pk=pupil.pk)
    stats = selectors.stats_total(pupils=one, date_from=start, date_to=today)
    counts = selectors.code_counts(pupils=one, date_from=start, date_to=today)
    return render(request, "registers/pupil_detail.html", {
        "pupil": pupil, "stats": stats, "is_staff": is_staff,
        "safeguarding": bool(request.roles & SAFEGUARDING_READERS),
        "can_amend": bool(request.roles & WHOLE_SCHOOL_MARKERS),
        "code_rows": [(codes.CODES[c], n) for c, n in counts.items() if c in codes.CODES],
        "lost": learning_lost(stats.absent), "weeks": _marks_calendar(pupil, start, today),
        "pattern": selectors.absence_pattern(pupil_id=pupil.pk, date_from=start, date_to=today)
        if is_staff else None,
        "amendments": pupil.amendments.all()[:200] if is_staff else [],
        "history": pupil_history(pupil=pupil) if is_staff else [],
        "contacts": pupil.contacts.all() if is_staff else [],
        "earlier_schools": pupil.attendance_history.all() if is_staff else [],
        "form": AmendForm(initial={"day": today}),
        "off_roll_form": OffRollForm(initial={"leaving_date": today}),
        "year_start": start,
    })


@role_required(WHOLE_SCHOOL_MARKERS)
@require_http_methods(["POST"])
def mark_amend(request, pk):
    pupil = pupil_for_request(request, pk)
    form = AmendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Amendment not saved: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("pupil_detail", pk=pupil.pk)
    d = form.cleaned_data
    try:
        amend_service(school=request.tenant, pupil=pupil, day=d["day"], session=d["session"],
                      code=d["code"], minutes_late=d["minutes_late"], reason=d["reason"],
                      user=request.user, role=acting_role(request), roles=request.roles)
    except RegisterError as exc:
        messages.error(request, "Amendment not saved: " + "; ".join(
            str(v) for v in exc.errors.values()))
    else:
        messages.success(request, f"{d['day']:%-d %b} {d['session']} is now {d['code']}.")
    return redirect(reverse("pupil_detail", args=[pupil.pk]) + "#marks")


IMPORTS = {  # kind: (title, run(upload, request), columns shown)
    "pupils": ("Pupils", lambda f, request: imports.import_pupils(
        f, user=request.user, source=f.name), ", ".join(imports.PUPIL_REQUIRED)),
    "marks": ("Marks", lambda f, request: imports.import_marks(
        f, user=request.user, role=acting_role(request), source=f.name),
        "upn, date, session, code, minutes_late (optional)"),
    "calendar": ("Calendar", lambda f, request: imports.import_calendar(f, source=f.name),
                 "kind, start_date, end_date, label"),
    "contacts": ("Contacts", lambda f, request: imports.import_contacts(
        f, user=request.user, source=f.name),
        ", ".join(imports.CONTACT_REQUIRED + imports.CONTACT_OPTIONAL)),
}


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def import_upload(request, kind):
    """Upload a CSV file. Over FILE_UPLOAD_MAX_MEMORY_SIZE it is a temporary file on disk,
    and the import reads it as a stream: it is never read into memory whole."""
    if kind not in IMPORTS:
        raise Http404
    title, run, columns = IMPORTS[kind]
    form = ImportForm(request.POST or None, request.FILES or None)
    problems, rejected = [], None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = run(upload, request)
        except imports.ImportRejected as exc:
            problems, rejected = exc.errors, exc
            read_as = f" (read as {exc.encoding})" if exc.encoding not in ("", "text") else ""
            messages.error(request, f"Nothing was imported from {upload.name}{read_as}: "
                                    f"{exc.total} problem(s) found.")
        else:
            messages.success(request, f"{title} imported from {upload.name}: {result.summary()}.")
            return redirect("import_upload", kind=kind)
    return render(request, "registers/import.html", {
        "form": form, "kind": kind, "title": title, "columns": columns, "problems": problems,
        "rejected": rejected})


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def calendar_page(request):
    """Terms and closures: add or remove an entry; school days are rebuilt each time."""
    form = CalendarEntryForm(request.POST or None)
    if request.method == "POST":
        if "delete" in request.POST:
            entry = get_object_or_404(CalendarEntry, pk=request.POST["delete"])
            calendar_entry_delete(entry=entry)
            messages.success(request, f"Removed {entry}.")
            return redirect("calendar")
        if form.is_valid():
            calendar_entry_add(entry=form.save(commit=False))
            messages.success(request, f"Added {form.instance}.")
            return redirect("calendar")
    today = timezone.localdate()
    days = SchoolDay.objects.filter(date__gte=school_year_start(today))
    return render(request, "registers/calendar.html", {
        "entries": CalendarEntry.objects.all(), "form": form,
        "open_days": days.filter(closed=False).count(),
    })


@role_required(ADMIN_STAFF)
@require_http_methods(["POST"])
def pupil_leave(request, pk):
    """Take a pupil off roll (admission register deletion) with a ground."""
    pupil = pupil_for_request(request, pk)
    form = OffRollForm(request.POST)
    if form.is_valid():
        try:
            pupil_off_roll(pupil=pupil, leaving_date=form.cleaned_data["leaving_date"],
                           ground=form.cleaned_data["ground"], user=request.user,
                           role=acting_role(request), roles=request.roles,
                           override_reason=form.cleaned_data["override_reason"])
        except RollError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{pupil.display_name} is off roll from "
                                      f"{pupil.leaving_date:%-d %B %Y}.")
    else:
        messages.error(request, "Give a leaving date and a deletion ground.")
    return redirect("pupil_detail", pk=pupil.pk)
