"""A pupil's arrangements: which sessions they are expected in (issue 13).

One home for the rules behind the codes the register proposes ahead of the teacher:

- a session pattern (nursery hours, a staggered reception start) for a pupil not of
  compulsory school age: every session outside it is X (not a possible session);
- a part-time timetable (temporary, agreed with the parent, reviewed, with a planned end):
  every session outside the ones attended is C2 until it ends. One past its planned end
  keeps proposing C2 but is flagged as an overrun; reviews due show in the queue;
- off-site provision (alternative provision, or the other school of a dual-registered pupil):
  the sessions spent at the provider take the provision's code, B or K (attended, approved
  educational activity) or D (not a possible session), confirmed afterwards from what the
  provider reports (``provider_report_record``, the "confirm attendance at provider" list).

Proposed codes are never saved by themselves: the register shows them selected, the person
saves them (or ``arrangement_marks_fill`` writes them ahead for the office), and "Mark all
remaining present" never turns them into a present mark.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Q

from .models import (
    SESSION_SLOTS,
    Mark,
    OffSiteProvision,
    PartTimeReview,
    PartTimeTimetable,
    ProviderReport,
    Pupil,
    SessionPattern,
    session_slot,
)
from .school_year import csa_dob_bounds

PATTERN_CODE, TIMETABLE_CODE = "X", "C2"
OFFSITE_CODES = frozenset(OffSiteProvision.Code.values)  # B, K, D
ARRANGEMENT_CODES = frozenset({PATTERN_CODE, TIMETABLE_CODE}) | OFFSITE_CODES  # == policy's
LONG_TIMETABLE = timedelta(weeks=6)  # DfE: part-time timetables should be short-term
SLOT_LABELS = dict(SESSION_SLOTS)


class ArrangementError(Exception):
    """Raised with a list of messages; nothing is saved."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Planned:
    """The code an arrangement proposes for one pupil's session, and why."""

    code: str
    why: str
    overrun: bool = False
    provision_id: int | None = None


def slots_text(slots) -> str:
    return ", ".join(SLOT_LABELS.get(s, s) for s in sorted(slots, key=_slot_order))


def _slot_order(slot: str) -> int:
    keys = [k for k, _ in SESSION_SLOTS]
    return keys.index(slot) if slot in keys else len(keys)


def _active(qs, day: date, end_field: str):
    return qs.filter(Q(**{f"{end_field}__isnull": True}) | Q(**{f"{end_field}__gte": day}),
                     start_date__lte=day)


_PLANNED_SQL = """
    SELECT 0, pupil_id, sessions, id, '', '', planned_end, ended_on, start_date
      FROM {timetable} WHERE pupil_id = ANY(%(ids)s) AND start_date <= %(day)s
       AND (ended_on IS NULL OR ended_on >= %(day)s)
    UNION ALL
    SELECT 1, pupil_id, sessions, id, label, '', NULL, NULL, start_date
      FROM {pattern} WHERE pupil_id = ANY(%(ids)s) AND start_date <= %(day)s
       AND (end_date IS NULL OR end_date >= %(day)s)
    UNION ALL
    SELECT 2, pupil_id, sessions, id, provider, code, NULL, NULL, start_date
      FROM {offsite} WHERE pupil_id = ANY(%(ids)s) AND start_date <= %(day)s
       AND (end_date IS NULL OR end_date >= %(day)s)
    ORDER BY 1, 9 DESC, 4 DESC"""


def planned_codes(pupil_ids, day: date, session: str, *, today: date | None = None
                  ) -> dict[int, Planned]:
    """The code each pupil's arrangements propose for this session, by pupil: one query
    (the part-time timetables, session patterns and off-site provision running that day, each
    kind in its models' order). A session at an off-site provider takes its code (B, K or D):
    the pupil is known to be there. Otherwise a session outside a pattern is X, and one
    outside a part-time timetable is C2."""
    ids = list(pupil_ids)
    slot = session_slot(day, session)
    if not ids or not slot:
        return {}
    today = today or day
    out: dict[int, Planned] = {}
    sql = _PLANNED_SQL.format(timetable=PartTimeTimetable._meta.db_table,
                              pattern=SessionPattern._meta.db_table,
                              offsite=OffSiteProvision._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(sql, {"ids": ids, "day": day})
        rows = cur.fetchall()
    for kind, pupil_id, sessions, pk, text, code, planned_end, ended_on, _ in rows:
        if kind == 0 and slot not in sessions:  # a part-time timetable
            overrun = ended_on is None and today > planned_end  # PartTimeTimetable.overrun
            out.setdefault(pupil_id, Planned(TIMETABLE_CODE, "Part-time timetable", overrun))
        elif kind == 1 and slot not in sessions:  # a session pattern
            out[pupil_id] = Planned(PATTERN_CODE, f"Not required this session ({text})")
        elif kind == 2 and slot in sessions:  # off-site provision
            out[pupil_id] = Planned(code, f"At {text}", provision_id=pk)
    return out


def arrangement_marks_fill(*, school, day: date, session: str, user, role: str,
                           roles=None) -> dict:
    """Write the proposed X and C2 of one session for pupils not yet marked, ahead of time
    if need be (registers.policy allows these codes in a future session on this basis)."""
    from .services import Entry, marks_save

    pupils = list(Pupil.objects.filter(admission_date__lte=day)
                  .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=day)))
    planned = planned_codes([p.pk for p in pupils], day, session)
    marked = set(Mark.objects.filter(pupil__in=list(planned), date=day, session=session)
                 .values_list("pupil_id", flat=True))
    entries = [Entry(pk, p.code) for pk, p in planned.items() if pk not in marked]
    from . import policy

    return marks_save(school=school, day=day, session=session,
                      pupils=[p for p in pupils if p.pk in planned], entries=entries,
                      user=user, role=role, roles=roles, basis=policy.ARRANGEMENT)


# --- session patterns ---------------------------------------------------------------------

def _check_slots(slots) -> list[str]:
    valid = set(SLOT_LABELS)
    slots = list(slots)
    if not slots:
        return ["Choose at least one session."]
    if set(slots) - valid:
        return ["Choose sessions from the list."]
    return []


@transaction.atomic
def session_pattern_set(*, pupil: Pupil, label: str, sessions, start_date: date,
                        end_date: date | None = None) -> SessionPattern:
    """Record a pupil's required sessions from ``start_date``; an earlier open pattern ends
    the day before. Refused for a pupil of compulsory school age on that date: they are
    required at every session, and a reduced timetable for them is a part-time timetable."""
    problems = _check_slots(sessions)
    if not label.strip():
        problems.append("Describe the pattern (e.g. 15 hours: five mornings).")
    if end_date and end_date < start_date:
        problems.append("The pattern ends before it starts.")
    oldest, youngest = csa_dob_bounds(start_date)
    if oldest <= pupil.date_of_birth <= youngest:
        problems.append(f"{pupil.display_name} is of compulsory school age on "
                        f"{start_date:%-d %B %Y}: record a part-time timetable instead.")
    if problems:
        raise ArrangementError(problems)
    earlier = SessionPattern.objects.select_for_update().filter(pupil=pupil, start_date__lt=start_date) \
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start_date))
    earlier.update(end_date=start_date - timedelta(days=1))
    SessionPattern.objects.filter(pupil=pupil, start_date__gte=start_date).delete()
    return SessionPattern.objects.create(pupil=pupil, label=label.strip()[:100],
                                         sessions=sorted(set(sessions), key=_slot_order),
                                         start_date=start_date, end_date=end_date)


# --- part-time timetables -----------------------------------------------------------------

@dataclass
class TimetableDraft:
    """What the attendance lead records for a part-time timetable."""

    start_date: date
    planned_end: date
    sessions: list
    reason: str
    parent_agreed_on: date | None
    review_dates: list
    social_worker_informed_on: date | None = None
    la_consulted_on: date | None = None
    la_notified_on: date | None = None


def timetable_warnings(start_date: date, planned_end: date) -> list[str]:
    if planned_end - start_date > LONG_TIMETABLE:
        weeks = (planned_end - start_date).days // 7
        return [f"This timetable runs for {weeks} weeks: DfE guidance expects part-time "
                "timetables to last no more than 6 weeks. Review it and record why."]
    return []


def _timetable_problems(pupil: Pupil, d: TimetableDraft) -> list[str]:
    problems = _check_slots(d.sessions)
    if len(set(d.sessions)) == len(SESSION_SLOTS):
        problems.append("A timetable with every session is not part-time.")
    if d.planned_end < d.start_date:
        problems.append("The planned end is before the start.")
    if not d.reason.strip():
        problems.append("Give the reason for the part-time timetable.")
    if not d.parent_agreed_on:
        problems.append("A part-time timetable needs the parent's agreement: record the date.")
    if not d.review_dates:
        problems.append("Plan at least one review date.")
    elif any(r < d.start_date or r > d.planned_end for r in d.review_dates):
        problems.append("Review dates must fall between the start and the planned end.")
    if pupil.social_worker and not d.social_worker_informed_on:
        problems.append("This pupil has a social worker: record when they were informed.")
    if pupil.sen_status == Pupil.SEN.EHCP and not d.la_consulted_on:
        problems.append("This pupil has an EHC plan: record when the local authority was "
                        "consulted.")
    clash = PartTimeTimetable.objects.filter(pupil=pupil, start_date__lte=d.planned_end) \
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=d.start_date))
    if clash.exists():
        problems.append(f"{pupil.display_name} already has a part-time timetable in this "
                        "period: end it first.")
    return problems


@transaction.atomic
def part_time_record(*, pupil: Pupil, draft: TimetableDraft, user) -> tuple[PartTimeTimetable, list[str]]:
    """Record a part-time timetable and its reviews; returns it with any warnings."""
    Pupil.objects.select_for_update().filter(pk=pupil.pk).first()  # one at a time per pupil
    problems = _timetable_problems(pupil, draft)
    if problems:
        raise ArrangementError(problems)
    t = PartTimeTimetable.objects.create(
        pupil=pupil, start_date=draft.start_date, planned_end=draft.planned_end,
        sessions=sorted(set(draft.sessions), key=_slot_order), reason=draft.reason.strip(),
        parent_agreed_on=draft.parent_agreed_on,
        social_worker_informed_on=draft.social_worker_informed_on,
        la_consulted_on=draft.la_consulted_on, la_notified_on=draft.la_notified_on,
        recorded_by=user)
    PartTimeReview.objects.bulk_create([PartTimeReview(timetable=t, due=r)
                                        for r in sorted(set(draft.review_dates))])
    return t, timetable_warnings(draft.start_date, draft.planned_end)


def part_time_review_done(*, timetable: PartTimeTimetable, on: date, notes: str = "") -> PartTimeReview:
    """Record the earliest outstanding review as held on ``on``."""
    review = timetable.reviews.filter(done_on__isnull=True).order_by("due").first()
    if review is None:
        raise ArrangementError(["No review is outstanding for this timetable."])
    review.done_on, review.notes = on, notes.strip()[:300]
    review.save(update_fields=["done_on", "notes"])
    return review


def part_time_end(*, timetable: PartTimeTimetable, on: date) -> PartTimeTimetable:
    """End a timetable: from the next day the pupil is expected at every session."""
    if timetable.ended_on is not None:
        raise ArrangementError(["This timetable has already ended."])
    if on < timetable.start_date:
        raise ArrangementError(["A timetable cannot end before it starts."])
    timetable.ended_on = on
    timetable.save(update_fields=["ended_on"])
    return timetable


def current_timetables(today: date):
    """Part-time timetables running today (including overruns), with pupils and reviews."""
    return (_active(PartTimeTimetable.objects.all(), today, "ended_on")
            .select_related("pupil__registration_group").prefetch_related("reviews")
            .order_by("planned_end", "pupil__legal_surname"))


def latest_timetables(pupil_ids) -> dict[int, PartTimeTimetable]:
    """Each pupil's most recent part-time timetable (for the LA notification letter)."""
    out: dict[int, PartTimeTimetable] = {}
    for t in (PartTimeTimetable.objects.filter(pupil__in=list(pupil_ids))
              .prefetch_related("reviews").order_by("start_date", "pk")):
        out[t.pupil_id] = t
    return out


def reviews_due(today: date) -> list[PartTimeReview]:
    """Reviews of running timetables due by today and not yet held: for the queue."""
    return list(PartTimeReview.objects.filter(due__lte=today, done_on__isnull=True)
                .filter(Q(timetable__ended_on__isnull=True) | Q(timetable__ended_on__gte=today))
                .select_related("timetable__pupil__registration_group").order_by("due"))


def overruns(today: date) -> list[PartTimeTimetable]:
    return list(PartTimeTimetable.objects.filter(ended_on__isnull=True, planned_end__lt=today)
                .select_related("pupil__registration_group").order_by("planned_end"))


CSV_FIELDS = ["upn", "surname", "forename", "year_group", "class", "start_date", "planned_end",
              "weeks_planned", "sessions_attended", "sessions_per_week", "reason",
              "parent_agreed_on", "social_worker_informed_on", "la_consulted_on",
              "la_notified_on", "next_review", "overrun"]


def timetable_rows(today: date) -> list[dict]:
    rows = []
    for t in current_timetables(today):
        p = t.pupil
        due = [r.due for r in t.reviews.all() if r.done_on is None]
        rows.append({
            "upn": p.upn, "surname": p.legal_surname, "forename": p.legal_forename,
            "year_group": p.get_year_group_display(), "class": p.registration_group.name,
            "start_date": t.start_date, "planned_end": t.planned_end,
            "weeks_planned": (t.planned_end - t.start_date).days // 7,
            "sessions_attended": slots_text(t.sessions), "sessions_per_week": len(t.sessions),
            "reason": t.reason, "parent_agreed_on": t.parent_agreed_on,
            "social_worker_informed_on": t.social_worker_informed_on or "",
            "la_consulted_on": t.la_consulted_on or "", "la_notified_on": t.la_notified_on or "",
            "next_review": min(due) if due else "", "overrun": "yes" if t.overrun(today) else "",
        })
    return rows


# --- off-site provision and dual registration ----------------------------------------------

@dataclass
class ProvisionDraft:
    """What the office records for a pupil's off-site provision."""

    provider: str
    provider_contact: str
    code: str
    sessions: list
    start_date: date
    reason: str
    end_date: date | None = None


@transaction.atomic
def offsite_record(*, pupil: Pupil, draft: ProvisionDraft, user) -> OffSiteProvision:
    """Record off-site provision; refused if it shares a session with another provision of
    the pupil in the same period (one place per session)."""
    Pupil.objects.select_for_update().filter(pk=pupil.pk).first()  # one at a time per pupil
    problems = _check_slots(draft.sessions)
    if not draft.provider.strip():
        problems.append("Name the provider.")
    if not draft.provider_contact.strip():
        problems.append("Give the provider's contact (name, phone or email).")
    if draft.code not in OFFSITE_CODES:
        problems.append("Choose B, K or D.")
    if not draft.reason.strip():
        problems.append("Give the reason for the provision.")
    if draft.end_date and draft.end_date < draft.start_date:
        problems.append("The provision ends before it starts.")
    overlapping = OffSiteProvision.objects.filter(pupil=pupil).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=draft.start_date))
    if draft.end_date:
        overlapping = overlapping.filter(start_date__lte=draft.end_date)
    for o in overlapping:
        shared = set(o.sessions) & set(draft.sessions)
        if shared:
            problems.append(f"{pupil.display_name} is already at {o.provider} on "
                            f"{slots_text(shared)} in this period: end that provision first.")
    if problems:
        raise ArrangementError(problems)
    return OffSiteProvision.objects.create(
        pupil=pupil, provider=draft.provider.strip()[:200],
        provider_contact=draft.provider_contact.strip()[:300], code=draft.code,
        sessions=sorted(set(draft.sessions), key=_slot_order), start_date=draft.start_date,
        end_date=draft.end_date, reason=draft.reason.strip(), recorded_by=user)


def offsite_end(*, provision: OffSiteProvision, on: date) -> OffSiteProvision:
    if provision.end_date is not None and provision.end_date <= on:
        raise ArrangementError(["This provision has already ended."])
    if on < provision.start_date:
        raise ArrangementError(["A provision cannot end before it starts."])
    provision.end_date = on
    provision.save(update_fields=["end_date"])
    return provision


def current_provisions(today: date):
    """Off-site provision running today, with pupils."""
    return (_active(OffSiteProvision.objects.all(), today, "end_date")
            .select_related("pupil__registration_group").order_by("provider", "pupil__legal_surname"))


@dataclass
class ToConfirm:
    """One session a pupil was due at a provider, not yet confirmed from the provider's report."""

    provision: OffSiteProvision
    day: date
    session: str
    mark: Mark | None

    @property
    def key(self) -> str:
        return f"{self.provision.pk}-{self.day:%Y%m%d}-{self.session}"


def sessions_to_confirm(*, date_from: date, date_to: date) -> list[ToConfirm]:
    """Every session from ``date_from`` to ``date_to`` a pupil was due at a provider and the
    office has not yet confirmed: four queries whatever the number of pupils."""
    from .models import SchoolDay

    days = list(SchoolDay.objects.filter(closed=False, date__range=(date_from, date_to))
                .values_list("date", flat=True))
    if not days:
        return []
    provisions = list(OffSiteProvision.objects.filter(start_date__lte=date_to)
                      .filter(Q(end_date__isnull=True) | Q(end_date__gte=date_from))
                      .select_related("pupil__registration_group"))
    pupils = {o.pupil_id for o in provisions}
    marks = {(m.pupil_id, m.date, m.session): m for m in Mark.objects.filter(
        pupil__in=pupils, date__range=(date_from, date_to))}
    done = set(ProviderReport.objects.filter(provision__in=provisions,
                                             date__range=(date_from, date_to))
               .values_list("provision_id", "date", "session"))
    out = []
    for day in days:
        for session in ("AM", "PM"):
            slot = session_slot(day, session)
            for o in provisions:
                if (slot in o.sessions and o.start_date <= day
                        and (o.end_date is None or day <= o.end_date)
                        and o.pupil.on_roll(day) and (o.pk, day, session) not in done):
                    out.append(ToConfirm(o, day, session, marks.get((o.pupil_id, day, session))))
    out.sort(key=lambda t: (t.day, t.session, t.provision.pupil.legal_surname))
    return out


@transaction.atomic
def provider_report_record(*, school, provision: OffSiteProvision, day: date, session: str,
                           attended: bool, code: str = "", note: str = "", user, role: str,
                           roles=None) -> ProviderReport:
    """Confirm one session from the provider's report. Attended: the provision's code is the
    mark (entered if the register was left empty). Not attended: ``code`` (the absence code
    the report supports, e.g. I, N) replaces it through the normal mark write path, leaving an
    amendment naming the provider. Either way a ProviderReport row records what was confirmed."""
    from .services import Entry, RegisterError, marks_save

    if session_slot(day, session) not in provision.sessions or day < provision.start_date or (
            provision.end_date and day > provision.end_date):
        raise ArrangementError(["The pupil was not due at the provider in this session."])
    # D: the session belongs to the other school, which records the pupil's absence in its
    # own register (domain.md §2: D is not a possible attendance here). The report is kept
    # (a dual-registered pupil missing the other school is worth knowing) and D stands.
    dual = provision.code == OffSiteProvision.Code.D
    wanted = provision.code if attended or dual else code.strip().upper()
    if not attended and not dual and (not wanted or wanted in OFFSITE_CODES):
        raise ArrangementError(["Choose the code for the session the pupil missed."])
    reason = (f"Provider {provision.provider} reported: "
              + ("attended" if attended else f"not attended{': ' + note.strip() if note.strip() else ''}"))
    if dual and not attended:
        reason += " (recorded by the other school; D stands here)"
    try:
        marks_save(school=school, day=day, session=session, pupils=[provision.pupil],
                   entries=[Entry(provision.pupil_id, wanted, None, reason[:300])], user=user,
                   role=role, roles=roles)
    except RegisterError as exc:
        raise ArrangementError([str(v) for v in exc.errors.values()]) from None
    from .services import _user_name

    report, created = ProviderReport.objects.get_or_create(
        provision=provision, date=day, session=session,
        defaults={"attended": attended, "code": wanted, "note": note.strip()[:300],
                  "user_name": _user_name(user)})
    if not created:
        raise ArrangementError(["This session was already confirmed."])
    return report
