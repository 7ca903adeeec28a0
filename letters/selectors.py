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
