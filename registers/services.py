"""The one write path for register marks: taking a register and amending a mark."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction

from . import codes
from .models import Mark, MarkAmendment, Pupil, SchoolDay


@dataclass
class Entry:
    pupil_id: int
    code: str
    minutes_late: int | None = None
    reason: str = ""


class RegisterError(Exception):
    """Raised with per-pupil messages; nothing is saved."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def late_code(*, school, session: str, minutes_late: int) -> str:
    """L if the pupil arrived before the register closed, U after (domain.md section 1).

    Minutes late count from the school's "late after" time for that session.
    """
    _, late_after, closes = school.register_times(session)
    arrival = datetime.combine(date.min, late_after) + timedelta(minutes=minutes_late)
    return "L" if arrival.time() <= closes else "U"


def minutes_late_at(*, school, session: str, arrival) -> int:
    _, late_after, _ = school.register_times(session)
    delta = datetime.combine(date.min, arrival) - datetime.combine(date.min, late_after)
    return max(0, int(delta.total_seconds() // 60))


def _normalise(entry: Entry, *, school, session: str) -> tuple[str, int | None]:
    code = entry.code.strip().upper() if entry.code != "\\" else entry.code
    if code in ("/", "\\", "PRESENT"):
        return codes.present_code(session), None
    if code not in codes.MARKABLE_CODES:
        raise ValueError(f"'{entry.code}' is not a national code")
    minutes = entry.minutes_late
    if code in ("L", "U"):
        if minutes is not None:
            if minutes < 0 or minutes > 300:
                raise ValueError("minutes late must be 0–300")
            code = late_code(school=school, session=session, minutes_late=minutes)
        return code, minutes
    return code, None


@transaction.atomic
def marks_save(*, school, day: date, session: str, pupils: list[Pupil], entries: list[Entry],
               user, role: str) -> dict:
    """Save marks for one session in a constant number of queries.

    New marks are created; a changed mark needs a reason and leaves an amendment row.
    Any bad entry rejects the whole save with a message per pupil.
    """
    if session not in ("AM", "PM"):
        raise RegisterError({"session": "must be AM or PM"})
    if not SchoolDay.objects.filter(date=day, closed=False).exists():
        raise RegisterError({"date": f"{day:%A %-d %B %Y} is not a school session"})
    by_id = {p.pk: p for p in pupils}
    existing = {m.pupil_id: m for m in Mark.objects.filter(
        pupil_id__in=[e.pupil_id for e in entries], date=day, session=session)}
    errors, new, changed, amendments = {}, [], [], []
    user_name = (user.get_full_name() or user.username) if user else "system"
    for entry in entries:
        pupil = by_id.get(entry.pupil_id)
        if pupil is None:
            errors[entry.pupil_id] = "not in this register"
            continue
        if not pupil.on_roll(day):
            errors[entry.pupil_id] = f"{pupil.display_name} is not on roll on {day}"
            continue
        try:
            code, minutes = _normalise(entry, school=school, session=session)
        except ValueError as exc:
            errors[entry.pupil_id] = f"{pupil.display_name}: {exc}"
            continue
        mark = existing.get(entry.pupil_id)
        if mark is None:
            new.append(Mark(pupil_id=pupil.pk, date=day, session=session, code=code,
                            minutes_late=minutes, recorded_by=user))
            continue
        if mark.code == code and mark.minutes_late == minutes:
            continue
        if not entry.reason.strip():
            errors[entry.pupil_id] = (f"{pupil.display_name}: changing {mark.code} to {code} "
                                      "needs a reason")
            continue
        amendments.append(MarkAmendment(
            pupil_id=pupil.pk, date=day, session=session, original_code=mark.code,
            original_minutes_late=mark.minutes_late, new_code=code, new_minutes_late=minutes,
            reason=entry.reason.strip()[:300], user=user, user_name=user_name, role=role))
        mark.code, mark.minutes_late, mark.recorded_by = code, minutes, user
        changed.append(mark)
    if errors:
        raise RegisterError(errors)
    Mark.objects.bulk_create(new)
    if changed:
        now = datetime.now().astimezone()
        for m in changed:
            m.recorded_at = now
        Mark.objects.bulk_update(changed, ["code", "minutes_late", "recorded_by", "recorded_at"])
        MarkAmendment.objects.bulk_create(amendments)
    return {"created": len(new), "amended": len(changed)}


def mark_amend(*, school, pupil: Pupil, day: date, session: str, code: str,
               minutes_late: int | None, reason: str, user, role: str) -> dict:
    """Correct (or enter) one mark. A correction always needs a reason."""
    if not reason.strip():
        raise RegisterError({pupil.pk: "a reason is required for an amendment"})
    return marks_save(school=school, day=day, session=session, pupils=[pupil],
                      entries=[Entry(pupil.pk, code, minutes_late, reason)], user=user, role=role)


class RollError(Exception):
    pass


@transaction.atomic
def pupil_off_roll(*, pupil: Pupil, leaving_date: date, ground: str, user=None) -> Pupil:
    """Delete a pupil from the admission register on a date, with a regulation 9 ground.

    Recorded in the pupil's history as a form change by ``user``. A leaving date before
    some of the pupil's marks is refused, naming them: they would vanish from statistics.
    """
    from .models import DeletionGround
    from .pupils import history_context, marks_outside_roll, roll_change_refusal

    if ground not in DeletionGround.values:
        raise RollError("Choose a deletion ground.")
    if leaving_date < pupil.admission_date:
        raise RollError(f"The leaving date is before the admission date "
                        f"({pupil.admission_date:%-d %B %Y}).")
    later = marks_outside_roll({pupil.pk: (pupil.admission_date, leaving_date)}).get(pupil.pk)
    if later:
        raise RollError(f"{pupil.display_name}: a leaving date of {leaving_date:%-d %B %Y} "
                        + roll_change_refusal(later, pupil.admission_date, leaving_date) + ".")
    with history_context(source="form", user=user):
        pupil.leaving_date, pupil.deletion_ground = leaving_date, ground
        pupil.save(update_fields=["leaving_date", "deletion_ground"])
    return pupil
