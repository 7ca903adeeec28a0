"""Reads for letter pages, the pupil's letters and the LA referral evidence pack."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from registers import codes
from registers.models import Mark, Pupil, SchoolDay
from registers.selectors import Stats, code_counts, stats_by_pupil

from .context import current_school
from .models import LAReturn, Letter

SENT = [Letter.Status.EMAILED, Letter.Status.PRINTED]


def letters_for_pupil(*, pupil: Pupil, sent_only: bool = False) -> QuerySet:
    qs = Letter.objects.filter(pupil=pupil).select_related("batch").order_by("-created", "-pk")
    return qs.filter(status__in=SENT) if sent_only else qs


def returns_visible(*, la_officer_only: bool) -> QuerySet:
    """LA officers read submitted returns only; school staff see drafts too."""
    qs = LAReturn.objects.all()
    return qs.filter(status=LAReturn.Status.SUBMITTED) if la_officer_only else qs


def register_extract(*, pupil: Pupil, date_from: date, date_to: date) -> list[dict]:
    """Weeks of the period (Monday rows, AM/PM per weekday) with the pupil's marks. 2 queries."""
    days = {d.date: d for d in SchoolDay.objects.filter(date__gte=date_from, date__lte=date_to)}
    marks = {(m.date, m.session): m.code for m in
             Mark.objects.filter(pupil=pupil, date__gte=date_from, date__lte=date_to)}
    weeks = []
    monday = date_from - timedelta(days=date_from.weekday())
    while monday <= date_to:
        cells, any_day = [], False
        for i in range(5):
            d = monday + timedelta(days=i)
            sd = days.get(d)
            if sd is None or not (date_from <= d <= date_to):
                cells.append({"date": d, "closed": False, "none": True, "am": "", "pm": ""})
                continue
            any_day = True
            cells.append({"date": d, "closed": sd.closed, "none": False,
                          "am": "#" if sd.closed else marks.get((d, "AM"), "·"),
                          "pm": "#" if sd.closed else marks.get((d, "PM"), "·")})
        if any_day:
            weeks.append({"monday": monday, "days": cells})
        monday += timedelta(days=7)
    return weeks


def _escalation(pupil: Pupil) -> dict:
    """Cases, chronology, meetings, plans and penalty notices from issue 4, if installed."""
    out = {"events": [], "meetings": [], "plans": [], "contracts": [], "notices": [], "cases": []}
    try:
        from escalation.models import (
            AttendanceContract,
            Case,
            CaseEvent,
            Meeting,
            PenaltyNotice,
            SupportPlan,
        )
    except ImportError:  # pragma: no cover
        return out
    out["cases"] = list(Case.objects.filter(pupil=pupil).select_related("stage").order_by("opened_on"))
    out["events"] = list(CaseEvent.objects.filter(pupil=pupil).select_related("stage").order_by("at", "pk"))
    out["meetings"] = list(Meeting.objects.filter(case__pupil=pupil).order_by("starts_at", "pk"))
    out["plans"] = list(SupportPlan.objects.filter(case__pupil=pupil).order_by("meeting_date"))
    out["contracts"] = list(AttendanceContract.objects.filter(case__pupil=pupil).order_by("start_date"))
    out["notices"] = list(PenaltyNotice.objects.filter(pupil=pupil).select_related("parent")
                          .order_by("issued_on"))
    return out


def evidence_pack(*, pupil: Pupil, date_from: date, date_to: date) -> dict:
    stats = stats_by_pupil(pupils=Pupil.objects.filter(pk=pupil.pk), date_from=date_from,
                           date_to=date_to).get(pupil.pk, Stats())
    counts = code_counts(pupils=Pupil.objects.filter(pk=pupil.pk), date_from=date_from, date_to=date_to)
    code_rows = [(codes.CODES[c], n) for c, n in counts.items()
                 if c in codes.CODES and codes.CODES[c].category in (codes.AUTHORISED, codes.UNAUTHORISED)]
    return {
        "pupil": pupil, "school": current_school(), "date_from": date_from, "date_to": date_to,
        "stats": stats, "code_rows": code_rows, "contacts": list(pupil.contacts.all()),
        "weeks": register_extract(pupil=pupil, date_from=date_from, date_to=date_to),
        "letters": list(Letter.objects.filter(pupil=pupil).order_by("created", "pk")),
        "now": timezone.localtime(), **_escalation(pupil),
    }


# --- what escalation asks about a case's letters (escalation/hooks.py) --------------------

def previous_letters(case_ids: list[int], before: date) -> dict[int, tuple[str, date]]:
    """Each case's latest letter queued on a night before ``before``: (template key, night)."""
    return {case_id: (template, night) for case_id, template, night in Letter.objects.filter(
        case_id__in=case_ids, night__lt=before).order_by("case_id", "night", "pk").values_list(
        "case_id", "template_key", "night")}


def _day(value):
    if value is None:
        return None
    return timezone.localtime(value).date() if hasattr(value, "tzinfo") else value


def case_letters_export(case_ids: list[int], as_of: date) -> tuple[dict[int, list], list[tuple]]:
    """The cases' letters as they stood on ``as_of``, by case, and (case pk, day sent, letter pk)
    for each sent by then. A letter sent after ``as_of`` was still waiting then."""
    letters: dict[int, list] = {pk: [] for pk in case_ids}
    sent_events = []
    for letter in Letter.objects.filter(case_id__in=case_ids).order_by("pk"):
        queued = letter.night or _day(letter.created)
        if queued > as_of:
            continue
        sent = min((d for d in (_day(getattr(letter, "sent_at", None)), _day(letter.emailed_at),
                                _day(letter.printed_at)) if d is not None), default=None)
        if sent is not None and sent > as_of:
            sent = None
        went = letter.status in (Letter.Status.EMAILED, Letter.Status.PRINTED)
        status = Letter.Status.RENDERED if went and not sent else letter.status
        letters[letter.case_id].append({"template_key": letter.template_key, "queued_on": queued.isoformat(),
                                        "sent_on": sent.isoformat() if sent else None, "status": status})
        if sent:
            sent_events.append((letter.case_id, sent, letter.pk))
    return letters, sent_events


def letters_review(*, today: date) -> dict:
    """The letters waiting to go and the held ones, each with the reasons it might be wrong to
    send (letters.holds) and whether the school holds letters for that reason."""
    from . import holds
    from .models import LetterSettings

    letters = list(Letter.objects.filter(Q(status=Letter.Status.QUEUED, batch__isnull=True)
                                         | Q(status=Letter.Status.HELD))
                   .select_related("pupil", "pupil__registration_group", "case__stage")
                   .order_by("pupil__legal_surname", "pupil__legal_forename", "pk")[:500])
    reasons = holds.reasons_for([x.pupil_id for x in letters], today=today)
    chosen = holds.chosen(LetterSettings.get())
    for x in letters:
        x.reasons = [(text, key in chosen) for key, text in reasons.get(x.pupil_id, [])]
    return {"held": [x for x in letters if x.status == Letter.Status.HELD],
            "queued": [x for x in letters if x.status == Letter.Status.QUEUED],
            "chosen": [holds.REASONS[k][1] for k in holds.REASONS if k in chosen]}
