"""Reads for the parent portal, the office inbox, the decision queue and the worklist.

Every list here is built in a fixed number of queries, whatever the number of children,
requests or pupils (pinned by tests/absences/test_queries.py).
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django_tenants.utils import schema_context

from registers import codes
from registers.bands import active_bands, band_for
from registers.calendar import school_days_back
from registers.models import Contact, Mark, Pupil, SchoolDay
from registers.school_year import LEARNING_DAYS_PER_YEAR, learning_lost, school_year_start
from registers.selectors import Stats, stats_by_pupil, stats_total

from . import rules
from .models import AbsenceReport, ContactAttempt, LeavePolicy, LeaveRequest, PortalMessage

OVERDUE_SCHOOL_DAYS = 5  # N must be resolved within 5 school days (LAP 6a.10), then O
HOME_VISIT_DAYS = 3  # three days absent with no contact: home visit (LAP 6a.9)


def policy_current() -> LeavePolicy:
    """The school's leave rules, or the national defaults when none are configured."""
    policy = LeavePolicy.objects.prefetch_related("assessments").first()
    return policy or LeavePolicy()


def assessment_years(policy: LeavePolicy, today: date) -> dict:
    """The statutory assessment periods by school year, and the prompt to carry the latest
    year's into the next once the school has reached the latest year (issue 12 item 11)."""
    from registers.school_year import school_year_start

    years: dict[int, list] = {}
    for a in (policy.assessments.all() if policy.pk else []):
        years.setdefault(school_year_start(a.start_date).year, []).append(a)
    current = school_year_start(today).year
    latest = max(years, default=None)
    # Prompt when this school year has none yet, or this year's assessments are over.
    carry = latest if latest is not None and (
        latest < current or (latest == current and today > max(a.end_date for a in years[latest]))) else None
    return {"years": [(rules._year_label(y), y, sorted(years[y], key=lambda a: a.start_date))
                      for y in sorted(years, reverse=True)],
            "carry_from": carry, "carry_from_label": rules._year_label(carry) if carry else "",
            "carry_to_label": rules._year_label(carry + 1) if carry else ""}


def session_key(day: date, session: str) -> str:
    return f"{day.isoformat()} {session}"


def parse_session_key(key: str) -> tuple[date, str]:
    d, s = key.split()
    return date.fromisoformat(d), s


def sessions_between(first_day: date, first_session: str, last_day: date,
                     last_session: str) -> list[tuple[date, str]]:
    """The school sessions from the first (day, session) to the last, on open school days."""
    days = SchoolDay.objects.filter(closed=False, date__range=(first_day, last_day)) \
        .values_list("date", flat=True)
    out = []
    for d in days:
        for s in ("AM", "PM"):
            if (d == first_day and first_session == "PM" and s == "AM") or \
                    (d == last_day and last_session == "AM" and s == "PM"):
                continue
            out.append((d, s))
    return out


def leave_facts(*, pupil: Pupil, today: date, policy: LeavePolicy, for_day: date) -> rules.Facts:
    """The pupil's figures this school year (to today) and the school's assessment periods."""
    start = school_year_start(today)
    stats = stats_total(pupils=Pupil.objects.filter(pk=pupil.pk), date_from=start, date_to=today)
    ro_start = school_year_start(for_day)
    ro = Mark.objects.filter(pupil=pupil, code="R", date__gte=ro_start,
                             date__lt=date(ro_start.year + 1, 8, 1)).count()
    periods = [rules.Assessment(a.label, a.start_date, a.end_date, a.year_group)
               for a in policy.assessments.all()] if policy.pk else []
    return rules.Facts(today=today, possible=stats.possible, authorised=stats.authorised,
                       unauthorised=stats.unauthorised, attended=stats.attended,
                       ro_sessions=ro, assessments=periods)


def existing_marks(pupil: Pupil, sessions: list[tuple[date, str]]) -> dict[tuple[date, str], Mark]:
    if not sessions:
        return {}
    marks = Mark.objects.filter(pupil=pupil, date__range=(sessions[0][0], sessions[-1][0]))
    wanted = set(sessions)
    return {(m.date, m.session): m for m in marks if (m.date, m.session) in wanted}


def reports_covering(pupil_ids, day: date, session: str) -> dict[int, AbsenceReport]:
    """Parents' reports (waiting or accepted, not queried) that cover this session, by pupil:
    one query. The register proposes each one's code and never marks its pupil present."""
    reports = AbsenceReport.objects.filter(
        pupil__in=list(pupil_ids), first_day__lte=day, last_day__gte=day).exclude(
        status=AbsenceReport.Status.QUERIED).order_by("-reported_at")
    out: dict[int, AbsenceReport] = {}
    for r in reports:
        if (day, session) < (r.first_day, r.first_session) or \
                (day, session) > (r.last_day, r.last_session):
            continue  # e.g. a report from Tuesday PM does not cover Tuesday AM
        out.setdefault(r.pupil_id, r)
    return out


# --- parents -----------------------------------------------------------------------------

def children_of(user) -> QuerySet:
    """The pupils in this school whose contacts include the signed-in parent."""
    return Pupil.objects.filter(pk__in=Contact.objects.filter(user=user).values("pupil_id")) \
        .select_related("registration_group").order_by("legal_forename")


def child_figures(pupils: list[Pupil], today: date) -> None:
    """Attach this year's stats, band and learning lost to each pupil: two queries."""
    ids = Pupil.objects.filter(pk__in=[p.pk for p in pupils])
    stats = stats_by_pupil(pupils=ids, date_from=school_year_start(today), date_to=today)
    bands = active_bands()
    for p in pupils:
        p.stats = stats.get(p.pk, Stats())
        p.band = band_for(p.stats.attendance_pct, bands)
        p.lost = learning_lost(p.stats.absent)


def parent_schools(user) -> list:
    """The schools (tenants) where this person is a parent, with their domains."""
    from tenants.models import School
    from tenants.roles import Role

    return list(School.objects.filter(memberships__user=user, memberships__role=Role.PARENT)
                .distinct().prefetch_related("domains").order_by("name"))


def portal_overview(*, user, today: date) -> list[dict]:
    """Every child of this parent in every school, read from each school's schema.

    One login covers a family with children in two schools of a trust. Per school: the
    children, their figures, the bands and the latest messages (four queries).
    """
    out = []
    for school in parent_schools(user):
        domain = next((d.domain for d in school.domains.all() if d.is_primary), "")
        with schema_context(school.schema_name):
            children = list(children_of(user))
            child_figures(children, today)
            messages = list(PortalMessage.objects.filter(pupil__in=[c.pk for c in children])
                            .select_related("pupil")[:5]) if children else []
        out.append({"school": school, "domain": domain, "children": children,
                    "messages": messages})
    return out


# The table in LAP's Letter 1 (seed 002): attendance %, days in school, days off school,
# weeks off school and learning hours lost over a 190-day school year, as the trust prints it.
LAP_TABLE = [(100, 190, 0, 0, 0), (96, 182, 8, 1.5, 40), (95, 180, 10, 2, 50), (90, 170, 20, 4, 100),
             (85, 160, 30, 6, 150), (80, 150, 40, 8, 200), (75, 140, 50, 10, 250)]


def lap_table(pct: float | None) -> list[dict]:
    """The LAP letter table with the row closest to the child's attendance marked."""
    assert LAP_TABLE[0][1] == LEARNING_DAYS_PER_YEAR
    rows = [{"pct": p, "in_school": d, "off": off, "weeks": w, "hours": h, "mine": False}
            for p, d, off, w, h in LAP_TABLE]
    if pct is not None:
        nearest = min(rows, key=lambda r: abs(r["pct"] - pct))
        nearest["mine"] = True
    return rows


def marks_weeks(pupil: Pupil, date_from: date, date_to: date) -> list[dict]:
    """School weeks (newest first), each day with its AM and PM mark: two queries."""
    marks = {(m.date, m.session): m.code
             for m in Mark.objects.filter(pupil=pupil, date__range=(date_from, date_to))}
    weeks: dict[date, list] = {}
    for d in SchoolDay.objects.filter(date__range=(date_from, date_to)):
        days = weeks.setdefault(d.week, [None] * 5)
        cells = []
        for s in ("AM", "PM"):
            code = "#" if d.closed else marks.get((d.date, s), "")
            info = codes.CODES.get(code)
            cells.append({"session": s, "code": code, "plain": info.plain if info else "",
                          "category": info.category if info else ""})
        days[d.date.weekday()] = {"date": d.date, "closed": d.closed, "label": d.closure_label,
                                  "cells": cells}
    return [{"week": w, "days": days} for w, days in sorted(weeks.items(), reverse=True)]


def calendar_end_for(pupil: Pupil, today: date) -> date:
    """Show the register to the end of this week, or further if leave or an illness the
    school accepted is already in the register for later days (this school year)."""
    year_end = date(school_year_start(today).year + 1, 7, 31)
    later = Mark.objects.filter(pupil=pupil, date__gt=today, date__lte=year_end) \
        .order_by("-date").values_list("date", flat=True).first()
    week_end = today + timedelta(days=4 - today.weekday()) if today.weekday() < 5 else today
    return max(week_end, later or today)


def notable_marks(pupil: Pupil, date_from: date, date_to: date) -> list[Mark]:
    """Absences and lates this year, newest first, for the plain-English list."""
    return list(Mark.objects.filter(Q(code__in=codes.ABSENCE_CODES) | Q(code="L"), pupil=pupil,
                                    date__range=(date_from, date_to)).order_by("-date", "-session"))


# --- the school's queues -------------------------------------------------------------------

def reports_inbox(today: date) -> dict:
    base = AbsenceReport.objects.select_related("pupil__registration_group")
    return {"new": list(base.filter(status=AbsenceReport.Status.NEW).order_by("first_day", "reported_at")),
            "recent": list(base.exclude(status=AbsenceReport.Status.NEW)
                           .filter(last_day__gte=today - timedelta(days=14)).order_by("-handled_at")[:50])}


WAITING_TTL = 60  # seconds another web worker may show an old count in the menu


def _waiting_key() -> str:
    from django.db import connection

    return f"absences:waiting:{connection.schema_name}"


def waiting_forget() -> None:
    """A report or request changed: this worker's next menu counts again (others within
    WAITING_TTL)."""
    from django.core.cache import caches

    caches["menu"].delete(_waiting_key())


def waiting_counts() -> tuple[int, int]:
    """(reports waiting for the office, leave requests waiting for the head): one query,
    kept in the cache for WAITING_TTL seconds so the menu costs no query on most pages."""
    from django.core.cache import caches
    from django.db import connection

    cache = caches["menu"]
    cached = cache.get(_waiting_key())
    if cached is not None:
        return tuple(cached)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {AbsenceReport._meta.db_table} WHERE status = %s), "
            f"(SELECT count(*) FROM {LeaveRequest._meta.db_table} WHERE status = %s)",
            [AbsenceReport.Status.NEW, LeaveRequest.Status.PENDING])
        reports, leave = cursor.fetchone()
    cache.set(_waiting_key(), (reports, leave), WAITING_TTL)
    return reports, leave


def decision_queue(today: date) -> list[LeaveRequest]:
    """Pending requests with each pupil's attendance and previous requests: four queries."""
    requests = list(LeaveRequest.objects.filter(status=LeaveRequest.Status.PENDING)
                    .select_related("pupil__registration_group").order_by("first_day", "created_at"))
    pupil_ids = {r.pupil_id for r in requests}
    stats = stats_by_pupil(pupils=Pupil.objects.filter(pk__in=pupil_ids),
                           date_from=school_year_start(today), date_to=today) if requests else {}
    previous = defaultdict(list)
    if requests:
        for r in (LeaveRequest.objects.filter(pupil_id__in=pupil_ids)
                  .exclude(status=LeaveRequest.Status.PENDING).select_related("decision")
                  .order_by("-first_day")):
            previous[r.pupil_id].append(r)
    for r in requests:
        r.stats = stats.get(r.pupil_id, Stats())
        r.previous = previous[r.pupil_id]
    return requests


def refused_leave_due(today: date) -> list[dict]:
    """Refused leave whose dates have come where the pupil is marked N: the office should mark G."""
    requests = list(LeaveRequest.objects.filter(
        status__in=[LeaveRequest.Status.REFUSED, LeaveRequest.Status.PART_GRANTED],
        first_day__lte=today, last_day__gte=today - timedelta(days=60))
        .select_related("pupil__registration_group", "decision"))
    if not requests:
        return []
    q = Q()
    for r in requests:
        q |= Q(pupil_id=r.pupil_id, date__range=(r.first_day, min(r.last_day, today)))
    n_marks = {(m.pupil_id, m.date, m.session) for m in Mark.objects.filter(q, code="N")}
    out = []
    for r in requests:
        granted = set(r.decision.granted_sessions) if hasattr(r, "decision") else set()
        due = [parse_session_key(k) for k in r.sessions if k not in granted]
        due = [(d, s) for d, s in due if (r.pupil_id, d, s) in n_marks]
        if due:
            out.append({"request": r, "sessions": due})
    return out


def unexplained_worklist(today: date) -> list[dict]:
    """Pupils with N marks this school year, with contacts, the contact log and flags.

    ``overdue``: an N older than five school days (should become O). ``home_visit``: absent
    N for three or more school days in a row up to the latest school day, with no reason
    received in that time. Seven queries whatever the number of pupils.
    """
    start = school_year_start(today)
    marks = list(Mark.objects.filter(code="N", date__range=(start, today))
                 .select_related("pupil__registration_group").order_by("date", "session"))
    if not marks:
        return []
    cutoff = school_days_back(today, OVERDUE_SCHOOL_DAYS)
    by_pupil: dict[int, dict] = {}
    for m in marks:
        row = by_pupil.setdefault(m.pupil_id, {"pupil": m.pupil, "marks": []})
        row["marks"].append(m)
    ids = list(by_pupil)
    contacts = defaultdict(list)
    for c in Contact.objects.filter(pupil_id__in=ids).order_by("priority"):
        contacts[c.pupil_id].append(c)
    attempts = defaultdict(list)
    for a in ContactAttempt.objects.filter(pupil_id__in=ids, at__date__gte=marks[0].date):
        attempts[a.pupil_id].append(a)
    from .models import FamilyMessage

    sent = defaultdict(list)
    for fm in FamilyMessage.objects.filter(pupil_id__in=ids, date__gte=marks[0].date):
        sent[fm.pupil_id].append(fm)
    recent_days = list(SchoolDay.objects.filter(closed=False, date__lte=today)
                       .order_by("-date").values_list("date", flat=True)[:20])
    out = []
    for pid, row in by_pupil.items():
        n_days = {m.date for m in row["marks"]}
        run = []
        for d in recent_days:
            if d not in n_days:
                break
            run.append(d)
        reason_since = any(a.outcome == ContactAttempt.Outcome.REASON_RECEIVED
                           and run and a.at.date() >= run[-1] for a in attempts[pid])
        row.update(
            contacts=contacts[pid], attempts=attempts[pid], family_messages=sent[pid],
            overdue=bool(cutoff and row["marks"][0].date < cutoff),
            overdue_marks=[m for m in row["marks"] if cutoff and m.date < cutoff],
            days_in_a_row=len(run), home_visit=len(run) >= HOME_VISIT_DAYS and not reason_since,
        )
        out.append(row)
    out.sort(key=lambda r: (not r["home_visit"], not r["overdue"], r["pupil"].legal_surname))
    return out


def reports_on(day: date):
    """Every parent's report covering ``day``, with its pupil and class (the office's day)."""
    return AbsenceReport.objects.filter(first_day__lte=day, last_day__gte=day) \
        .select_related("pupil__registration_group")


def latest_granted_leave(pupil_id: int, before: date):
    """The latest granted or part-granted leave that ended before ``before`` (or None)."""
    return (LeaveRequest.objects.filter(pupil_id=pupil_id, last_day__lt=before, status__in=[
        LeaveRequest.Status.GRANTED, LeaveRequest.Status.PART_GRANTED])
        .order_by("-last_day").first())


def granted_leave_pupils(ended_from: date, ended_before: date) -> set[int]:
    """Pupils whose granted or part-granted leave ended in [``ended_from``, ``ended_before``)."""
    return set(LeaveRequest.objects.filter(
        last_day__lt=ended_before, last_day__gte=ended_from,
        status__in=[LeaveRequest.Status.GRANTED, LeaveRequest.Status.PART_GRANTED])
        .values_list("pupil_id", flat=True))


def family_messages_by_pupil(day, session) -> dict[int, list]:
    """The session's first-day messages, newest first, by pupil (the calling list's status)."""
    from .models import FamilyMessage

    out: dict[int, list] = {}
    for m in FamilyMessage.objects.filter(date=day, session=session).order_by("-created_at", "-id"):
        out.setdefault(m.pupil_id, []).append(m)
    return out
