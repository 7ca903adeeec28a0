"""Reads for the queue, case pages, class lists, targets and penalty notices (SQL-first)."""

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case as CaseWhen
from django.db.models import Count, IntegerField, Q, Value, When

from registers import codes
from registers.calendar import open_days
from registers.models import Mark, Pupil
from registers.school_year import csa_dob_bounds, csa_start, school_year_end

from .models import Band, Case, PupilSnapshot
from .nightly import PENALTY_SESSIONS, PENALTY_WEEKS, Figures, Windows, figures, school_weeks
from .services import active_bands, band_for

# --- penalty notices (domain.md section 6) ---------------------------------------------------

def penalty_window(as_of: date) -> tuple[date, date] | None:
    """The 10 most recent school weeks up to the week containing ``as_of``, counting to ``as_of``."""
    weeks = school_weeks(as_of, PENALTY_WEEKS)
    return (weeks[-1], as_of) if weeks else None


def penalty_candidates(*, as_of: date, threshold: int = PENALTY_SESSIONS) -> list[dict]:
    """Pupils for whom a penalty notice must be considered (domain.md section 6): of compulsory
    school age on ``as_of``, with ``threshold`` or more unauthorised sessions in the window,
    counting only sessions on or after the day each pupil reached compulsory school age."""
    window = penalty_window(as_of)
    if window is None:
        return []
    oldest, youngest = csa_dob_bounds(as_of)
    rows = list(Mark.objects.filter(date__gte=window[0], date__lte=window[1],
                                    code__in=codes.UNAUTHORISED_CODES,
                                    pupil__date_of_birth__gte=oldest, pupil__date_of_birth__lte=youngest)
                .values("pupil_id", "pupil__upn", "pupil__date_of_birth").annotate(n=Count("id"))
                .filter(n__gte=threshold))
    # A child who reached CSA inside the window (a reception child on 31 December, say) has
    # the sessions before that day taken off: one more query for those few children.
    late = {r["pupil_id"]: csa_start(r["pupil__date_of_birth"]) for r in rows
            if csa_start(r["pupil__date_of_birth"]) > window[0]}
    if late:
        counted = Counter(Mark.objects.filter(pupil_id__in=list(late), date__gte=min(late.values()),
                                              date__lte=window[1], code__in=codes.UNAUTHORISED_CODES)
                          .values_list("pupil_id", "date").iterator())
        since = Counter()
        for (pid, day), n in counted.items():
            if day >= late[pid]:
                since[pid] += n
        for r in rows:
            if r["pupil_id"] in late:
                r["n"] = since[r["pupil_id"]]
    rows = sorted((r for r in rows if r["n"] >= threshold), key=lambda r: (-r["n"], r["pupil__upn"]))
    return [{"pupil_id": r["pupil_id"], "upn": r["pupil__upn"], "unauthorised_sessions": r["n"],
             "window_start": window[0].isoformat(),
             "window_end": window[1].isoformat()} for r in rows]


# --- the queue ------------------------------------------------------------------------------

PRIORITY = CaseWhen(When(Q(pupil__lac=True) | Q(pupil__child_protection=True), then=Value(0)),
                    When(~Q(pupil__sen_status="N"), then=Value(1)),
                    When(pupil__pupil_premium=True, then=Value(2)),
                    default=Value(3), output_field=IntegerField())

GROUPS = {"lac_cp": Q(pupil__lac=True) | Q(pupil__child_protection=True), "send": ~Q(pupil__sen_status="N"),
          "pp": Q(pupil__pupil_premium=True)}


def queue(*, status: str = "live", group_id=None, year=None, group: str = "", stage_id=None,
          owner_role: str = "", owner_id=None, track: str = ""):
    """Cases by priority group (LAC/CP, SEND, PP first), then due date."""
    qs = Case.objects.select_related("pupil", "pupil__registration_group", "stage", "owner")
    qs = qs.exclude(status=Case.Status.CLOSED) if status == "live" else qs.filter(status=status)
    if group_id:
        qs = qs.filter(pupil__registration_group_id=group_id)
    if year not in (None, ""):
        qs = qs.filter(pupil__year_group=year)
    if group in GROUPS:
        qs = qs.filter(GROUPS[group])
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if owner_role:
        qs = qs.filter(owner_role=owner_role)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if track:
        qs = qs.filter(track=track)
    return qs.annotate(priority=PRIORITY).order_by("priority", "review_due", "pupil__legal_surname", "pk")


def queue_page(*, filters: dict) -> dict:
    """The queue's cases (first 500, with their latest figures), stages and counts per stage."""
    from registers.models import RegistrationGroup

    from .models import NightlyRun, Stage

    cases = list(queue(**filters)[:500])
    snaps = latest_snapshots(c.pupil_id for c in cases)
    for c in cases:
        c.snap = snaps.get(c.pupil_id)
    counts = stage_counts(status=filters["status"])
    return {"cases": cases, "stages": Stage.objects.filter(active=True), "stage_counts": counts,
            "stage_total": sum(c["n"] for c in counts), "groups": RegistrationGroup.objects.all(),
            "last_run": NightlyRun.objects.first()}


def teacher_cases(*, user):
    """A class teacher's cases: live, at a stage the class teacher owns (LAP Letter 1, Beecroft
    Yellow), for pupils of the classes they teach (the teacher-class link the registers use)."""
    from tenants.roles import Role

    return Case.objects.exclude(status=Case.Status.CLOSED).filter(
        owner_role=Role.TEACHER, pupil__registration_group__teachers=user)


def case_page(*, case: Case, manage: bool) -> dict:
    """What the case page shows. A class teacher (``manage`` False) sees the case's own
    chronology, figures and meetings; not the pupil's other cases, penalty notices or letters."""
    from .models import CaseEvent, PenaltyNotice
    from .services import active_bands

    snaps = trend(case.pupil_id)
    latest = snaps[-1] if snaps else None
    target = latest and target_for(attended=latest.attended, possible=latest.possible,
                                   recent_pct=latest.last4_pct, bands=active_bands(), as_of=latest.night)
    # the case's own events, and (for the attendance lead) the pupil's events that belong to no
    # case: penalty notices recorded from the penalties page, contacts logged elsewhere
    events = Q(case=case) | Q(case__isnull=True, pupil_id=case.pupil_id) if manage else Q(case=case)
    page = {"case": case, "pupil": case.pupil, "snaps": snaps, "latest": latest, "target": target,
            "bands": band_history(case.pupil_id), "meetings": case.meetings.all(),
            "events": CaseEvent.objects.filter(events).select_related("stage").order_by("at", "pk")}
    if manage:
        letters = list(case.letters.order_by("-created", "-pk"))
        page.update(
            letters=letters, queued_letters=sum(1 for x in letters if x.status == x.Status.QUEUED),
            other_cases=Case.objects.filter(pupil=case.pupil).exclude(pk=case.pk).select_related("stage"),
            plans=case.support_plans.all(), contracts=case.contracts.prefetch_related("signatures"),
            penalty_notices=PenaltyNotice.objects.filter(pupil_id=case.pupil_id).select_related("parent"))
    return page


def latest_snapshots(pupil_ids) -> dict[int, PupilSnapshot]:
    return {s.pupil_id: s for s in PupilSnapshot.objects.filter(pupil_id__in=list(pupil_ids))
            .order_by("pupil_id", "-night").distinct("pupil_id")}


def band_history(pupil_id: int) -> list[dict]:
    """Runs of nights in the same band, newest first."""
    out = []
    for night, band, colour, pct in (PupilSnapshot.objects.filter(pupil_id=pupil_id).order_by("night")
                                     .values_list("night", "band", "band_colour", "attendance_pct")):
        if out and out[-1]["band"] == band:
            out[-1].update(to=night, pct=pct)
        else:
            out.append({"band": band, "colour": colour, "since": night, "to": night, "pct": pct})
    return out[::-1]


def trend(pupil_id: int, limit: int = 60) -> list[PupilSnapshot]:
    return list(PupilSnapshot.objects.filter(pupil_id=pupil_id).order_by("-night")[:limit])[::-1]


# --- targets in sessions (Cheetwood appendix) -----------------------------------------------------

@dataclass
class Target:
    band: Band
    need: int | None       # sessions to attend out of ``of``
    of: int
    by: date | None
    reachable: bool
    full_attendance_sessions: int | None  # sessions of full attendance needed if not reachable by ``by``
    projected_pct: float | None

    @property
    def text(self) -> str:
        if self.reachable:
            return (f"Attend {self.need} of the next {self.of} sessions to reach {self.band.name} "
                    f"by {self.by:%-d %B %Y}")
        if self.full_attendance_sessions is not None:
            return (f"{self.band.name} cannot be reached by {self.by:%-d %B %Y}; it needs "
                    f"{self.full_attendance_sessions} sessions of full attendance")
        return f"{self.band.name} cannot be reached this school year"


def _needed(attended: int, possible: int, lower: float, inclusive: bool, more: int) -> int:
    """Fewest of ``more`` further sessions to attend so attended/possible reaches the bound."""
    exact = lower * (possible + more) / 100 - attended
    n = max(0, math.ceil(exact - 1e-9))
    if not inclusive and abs(exact - n) < 1e-9:
        n += 1
    return n


def _calendar_memo(memo: dict, key: tuple, compute):
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def target_for(*, attended: int, possible: int, recent_pct: float | None, bands: list[Band], as_of: date,
               by: date | None = None, memo: dict | None = None) -> Target | None:
    """"Attend N of the next M sessions to reach <band above> by <date>" and the projected
    end-of-year figure if the pupil keeps attending at their last-4-weeks rate.

    ``memo``: a dict shared by the calls for one page (a class list), so the school-day counts,
    the same for every pupil, are queried once rather than once per pupil."""
    if not possible:
        return None
    memo = {} if memo is None else memo
    pct = attended * 100.0 / possible
    current = band_for(pct, bands)
    above = sorted((b for b in bands if b.lower is not None and float(b.lower) >= pct and b is not current
                    and (current is None or current.upper is None or b.lower >= current.upper)),
                   key=lambda b: b.lower)
    remaining_days = _calendar_memo(memo, ("remaining", as_of), lambda: open_days(
        as_of + timedelta(days=1), school_year_end(as_of)).count())
    projected = None
    if recent_pct is not None:
        projected = (attended + 2 * remaining_days * recent_pct / 100) * 100 / (possible + 2 * remaining_days)
    if not above:
        return None
    goal = above[0]
    by = by or _calendar_memo(memo, ("by", as_of), lambda: (
        open_days(as_of + timedelta(days=1), as_of + timedelta(days=42)).order_by("-date")
        .values_list("date", flat=True).first()))
    of = _calendar_memo(memo, ("of", as_of, by), lambda: 2 * open_days(as_of + timedelta(days=1), by).count()
                        if by else 0)
    need = _needed(attended, possible, float(goal.lower), goal.lower_inclusive, of)
    full = None
    lower = float(goal.lower)
    if need > of and lower < 100:
        k = (lower * possible - 100 * attended) / (100 - lower)
        full = max(0, math.ceil(k - 1e-9))
        if not goal.lower_inclusive and abs(k - full) < 1e-9:
            full += 1
        if full > 2 * remaining_days:
            full = None
    return Target(goal, need if need <= of else None, of, by, need <= of, full, projected)


# --- weekly class lists (Cheetwood 8.2) --------------------------------------------------------

def class_list(*, group, as_of: date) -> list[dict]:
    """Each pupil's last-4-school-weeks attendance, highest first, with colour and arrow."""
    pupils = list(Pupil.objects.filter(registration_group=group, admission_date__lte=as_of)
                  .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of)))
    windows = Windows.build(as_of)
    figs = figures(as_of=as_of, windows=windows, pupil_ids=[p.pk for p in pupils])
    bands = active_bands()
    rows, memo = [], {}
    for p in pupils:
        f = figs.get(p.pk, Figures())
        pct = f.pct("last4")
        band = band_for(pct, bands)
        rows.append({"pupil": p, "pct": pct, "prev": f.pct("prev4"), "trend": f.trend, "band": band,
                     "possible": f.get("last4", "possible"), "attended": f.get("last4", "attended"),
                     "target": target_for(attended=f.get("ytd", "attended"),
                                          possible=f.get("ytd", "possible"), recent_pct=pct, bands=bands,
                                          as_of=as_of, memo=memo),
                     "ytd": f.pct("ytd")})
    rows.sort(key=lambda r: (r["pct"] is None, -(r["pct"] or 0), r["pupil"].legal_surname))
    return rows, windows


def stage_counts(*, status: str) -> list[dict]:
    """Cases per stage for the queue's header: one GROUP BY query."""
    qs = Case.objects.all()
    qs = qs.exclude(status=Case.Status.CLOSED) if status == "live" else qs.filter(status=status)
    return list(
        qs.values("stage_id", "stage__name", "stage__track", "stage__order")
        .annotate(n=Count("id"))
        .order_by("stage__track", "stage__order", "stage__name")
    )


# --- the cases export (interfaces.md: export_cases) ---------------------------------------------

CASE_EXPORT_FIELDS = ["upn", "track", "stage_key", "stage_name", "status", "opened_on", "closed_on",
                      "close_reason", "history", "letters"]
EXPORT_EVENTS = {"opened": "opened", "advanced": "advanced", "stepped_down": "stepped_down", "hold": "held",
                 "letter_held": "held", "closed": "closed", "letter": "letter_queued"}
STAGE_EVENTS = ("opened", "advanced", "stepped_down")


def _day(value) -> date | None:
    from django.utils import timezone

    if value is None:
        return None
    return timezone.localtime(value).date() if hasattr(value, "tzinfo") else value


def cases_export(*, as_of: date) -> list[dict]:
    """Every case open at any time up to ``as_of``, as it stood on ``as_of``: its stage and status
    then, its chronology (events, letters sent, meetings held) and its letters, in a fixed number
    of queries. A person's event has no night; its day is when it was recorded."""
    from letters.models import Letter

    from .models import CaseEvent, Meeting, Stage

    cases = list(Case.objects.filter(opened_on__lte=as_of).select_related("pupil", "stage")
                 .order_by("opened_on", "pk"))
    ids = [c.pk for c in cases]
    stages = {s.pk: s for s in Stage.objects.all()}
    history: dict[int, list] = {pk: [] for pk in ids}
    stage_then: dict[int, int] = {}
    held_then: dict[int, bool] = {}
    for e in CaseEvent.objects.filter(case_id__in=ids).order_by("at", "pk"):
        day = e.night or _day(e.at)
        if e.kind == "told" and "told_on" in e.data:  # recorded later, about the day it happened
            day = date.fromisoformat(e.data["told_on"])
        if day > as_of:
            continue
        if e.kind in STAGE_EVENTS and e.stage_id:
            stage_then[e.case_id] = e.stage_id
        if e.kind in ("hold", "resumed"):
            held_then[e.case_id] = e.kind == "hold"
        if e.kind in EXPORT_EVENTS:
            history[e.case_id].append((day, 0, e.pk, EXPORT_EVENTS[e.kind], e.stage_id))
        elif e.kind == "told" and not {"letter", "meeting"} & set(e.data):
            # told by hand (St Luke's warning from the SAIS): the letter or meeting is not ours
            ev = "meeting_held" if e.data.get("channel") == "in_person" else "letter_sent"
            history[e.case_id].append((day, 1, e.pk, ev, e.stage_id))
    letters: dict[int, list] = {pk: [] for pk in ids}
    for letter in Letter.objects.filter(case_id__in=ids).order_by("pk"):
        queued = letter.night or _day(letter.created)
        if queued > as_of:
            continue
        sent = min((d for d in (_day(getattr(letter, "sent_at", None)), _day(letter.emailed_at),
                                _day(letter.printed_at)) if d is not None), default=None)
        if sent is not None and sent > as_of:
            sent = None
        # A letter sent after ``as_of`` was still waiting then.
        went = letter.status in (Letter.Status.EMAILED, Letter.Status.PRINTED)
        status = Letter.Status.RENDERED if went and not sent else letter.status
        letters[letter.case_id].append({"template_key": letter.template_key, "queued_on": queued.isoformat(),
                                        "sent_on": sent.isoformat() if sent else None, "status": status})
        if sent:
            history[letter.case_id].append((sent, 1, letter.pk, "letter_sent", None))
    for m in Meeting.objects.filter(case_id__in=ids, status=Meeting.Status.HELD, starts_at__isnull=False):
        day = _day(m.starts_at)
        if day <= as_of:
            history[m.case_id].append((day, 1, m.pk, "meeting_held", m.stage_id))
    out = []
    for c in cases:
        closed = c.closed_on if c.closed_on and c.closed_on <= as_of else None
        stage = stages.get(stage_then.get(c.pk), c.stage)
        status = "closed" if closed else "hold" if held_then.get(c.pk) else "open"
        out.append({
            "upn": c.pupil.upn, "track": c.track, "stage_key": stage.key, "stage_name": stage.name,
            "status": status, "opened_on": c.opened_on.isoformat(),
            "closed_on": closed.isoformat() if closed else None,
            "close_reason": c.close_reason if closed else "",
            "history": [{"date": d.isoformat(), "event": ev,
                         "stage_key": stages[sid].key if sid in stages else None}
                        for d, _, _, ev, sid in sorted(history[c.pk], key=lambda h: h[:3])],
            "letters": letters[c.pk],
        })
    return out
