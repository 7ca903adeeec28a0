"""Lawful removal from roll on the 20-school-day ground (docs/domain.md section 1; 2024
regulations, reg. 9): a pupil of compulsory school age continuously absent for 20 or more
school days, every session coded G, N or O, after the enquiries (calls to every contact, a
home visit, joint enquiries with the local authority).

Any other mark breaks the run: U (late after the register closed) is a present-type mark,
and a reason such as illness (I) is a reason to believe the absence is unavoidable. An
unmarked session inside the run breaks it too (nothing shows the pupil was absent); only
sessions after the pupil's latest mark (today's registers not taken yet) are skipped.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from . import hooks
from .models import Mark, Pupil, RemovalEnquiry, SchoolDay
from .selectors import compulsory_school_age

RUN_CODES = frozenset({"G", "N", "O"})
RUN_DAYS = 20
REQUIRED_ENQUIRIES = tuple(RemovalEnquiry.Kind)


@dataclass(frozen=True)
class Run:
    """A pupil's current run of G / N / O: whole school days, and its first and last day."""

    days: int
    first: date | None
    last: date | None

    @property
    def qualifies(self) -> bool:
        return self.days >= RUN_DAYS


def _open_days(as_of: date, limit: int | None = None) -> list[date]:
    qs = SchoolDay.objects.filter(closed=False, date__lte=as_of).order_by("-date") \
        .values_list("date", flat=True)
    return list(qs[:limit] if limit else qs)


def absence_run(pupil: Pupil, as_of: date, days: list[date] | None = None) -> Run:
    """The run of G / N / O sessions ending at ``as_of`` (walking back over school days)."""
    days = days if days is not None else _open_days(as_of)
    marks = dict(((m.date, m.session), m.code) for m in
                 Mark.objects.filter(pupil=pupil, date__lte=as_of).only("date", "session", "code"))
    started, full_days, first, last = False, 0, None, None
    for day in days:
        whole = True
        for session in ("PM", "AM"):
            code = marks.get((day, session))
            if code is None and not started:
                whole = False
                continue  # not taken yet
            if code not in RUN_CODES:
                return Run(full_days, first, last)
            started, first = True, day
            last = last or day
        if whole:
            full_days += 1
    return Run(full_days, first, last)


def twenty_day_candidates(as_of: date) -> list[tuple[Pupil, Run]]:
    """Pupils of compulsory school age on roll at ``as_of`` whose run of G / N / O is 20
    school days or more, longest first. One query finds the few whose last 20 school days
    hold only those codes; each of them is then walked exactly."""
    days = _open_days(as_of)
    if len(days) < RUN_DAYS:
        return []
    window = Q(marks__date__gte=days[RUN_DAYS - 1], marks__date__lte=as_of)
    pupils = compulsory_school_age(Pupil.objects.filter(admission_date__lte=as_of).filter(
        Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of)), as_of)
    candidates = (pupils.filter(window & Q(marks__code__in=RUN_CODES))
                  .exclude(pk__in=Mark.objects.filter(date__gte=days[RUN_DAYS - 1], date__lte=as_of)
                           .exclude(code__in=RUN_CODES).values("pupil_id"))
                  .distinct().select_related("registration_group"))
    out = [(p, absence_run(p, as_of, days)) for p in candidates]
    return sorted([(p, r) for p, r in out if r.qualifies], key=lambda pr: (-pr[1].days, pr[0].upn))


def enquiries_missing(pupil: Pupil) -> list[str]:
    """The required enquiries not yet recorded for this pupil, as labels."""
    done = set(RemovalEnquiry.objects.filter(pupil=pupil).values_list("kind", flat=True))
    return [k.label for k in REQUIRED_ENQUIRIES if k.value not in done]


def enquiry_record(*, pupil: Pupil, kind: str, done_on: date, notes: str, user) -> RemovalEnquiry:
    if kind not in RemovalEnquiry.Kind.values:
        raise ValueError("unknown enquiry")
    name = (user.get_full_name() or user.username) if user else "system"
    enquiry, _ = RemovalEnquiry.objects.update_or_create(
        pupil=pupil, kind=kind,
        defaults={"done_on": done_on, "notes": notes.strip()[:300], "user_name": name})
    return enquiry


# --- failed to return after agreed leave ----------------------------------------------------

RETURN_DAYS = 10


def not_returned(pupil: Pupil, as_of: date):
    """(the latest granted leave that ended before ``as_of``, whether the pupil failed to
    attend in the 10 school days after it): each of those sessions marked G, N or O."""
    leave = hooks.latest_granted_leave(pupil.pk, as_of)
    if leave is None:
        return None, False
    days = list(SchoolDay.objects.filter(closed=False, date__gt=leave.last_day, date__lte=as_of)
                .order_by("date").values_list("date", flat=True)[:RETURN_DAYS])
    if len(days) < RETURN_DAYS:
        return leave, False
    marks = {(m.date, m.session): m.code
             for m in Mark.objects.filter(pupil=pupil, date__in=days).only("date", "session", "code")}
    return leave, all(marks.get((d, s)) in RUN_CODES for d in days for s in ("AM", "PM"))


def not_returned_candidates(as_of: date, lookback_days: int = 120) -> list[tuple[Pupil, object]]:
    """Pupils on roll whose granted leave ended in the last ``lookback_days`` and who have not
    attended in the 10 school days since."""
    pupil_ids = hooks.granted_leave_pupils(date.fromordinal(as_of.toordinal() - lookback_days), as_of)
    out = []
    for pupil in (Pupil.objects.filter(pk__in=pupil_ids, admission_date__lte=as_of)
                  .filter(Q(leaving_date__isnull=True) | Q(leaving_date__gte=as_of))
                  .select_related("registration_group")):
        leave, failed = not_returned(pupil, as_of)
        if failed:
            out.append((pupil, leave))
    return sorted(out, key=lambda pl: (pl[1].last_day, pl[0].upn))
