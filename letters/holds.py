"""Why it might be wrong to send a letter to this family now (issue 12 item 10).

Before a queued letter goes, the review list shows each reason that applies to the child; the
school chooses (LetterSettings.hold_*) which of them hold the letter automatically until a
person releases it or cancels it with a reason (letters.services.letter_release / _cancel).
"""

from datetime import date, timedelta

from registers.arrangements import current_timetables
from registers.models import Pupil

# key -> (the LetterSettings switch, a short heading)
REASONS = {
    "medical": ("hold_medical", "Medical evidence on file"),
    "send": ("hold_send", "EHC plan or SEN support"),
    "part_time": ("hold_part_time", "On a part-time timetable"),
    "bereavement": ("hold_bereavement", "Recent bereavement"),
    "looked_after": ("hold_looked_after", "Looked after: talk to the social worker first"),
}
BEREAVEMENT_RECENT_DAYS = 183  # "recent": within about six months


def reasons_for(pupil_ids, *, today: date) -> dict[int, list[tuple[str, str]]]:
    """For each pupil, the reasons (key, words) a letter might be wrong to send, in two queries."""
    ids = list(set(pupil_ids))
    part_time = set(current_timetables(today).filter(pupil_id__in=ids).values_list("pupil_id", flat=True))
    out: dict[int, list[tuple[str, str]]] = {}
    fields = ("pk", "medical_evidence", "sen_status", "lac", "bereaved_on")
    for p in Pupil.objects.filter(pk__in=ids).only(*fields):
        r = []
        if p.medical_evidence:
            r.append(("medical", "Medical evidence on file: is the absence explained?"))
        if p.sen_status == Pupil.SEN.EHCP:
            r.append(("send", "EHC plan: talk to the SENCO (and the LA if the plan names provision)"))
        elif p.sen_status == Pupil.SEN.SUPPORT:
            r.append(("send", "SEN support: talk to the SENCO"))
        if p.pk in part_time:
            r.append(("part_time", "On a part-time timetable: sessions off it are not absence"))
        if p.bereaved_on and today - timedelta(days=BEREAVEMENT_RECENT_DAYS) <= p.bereaved_on <= today:
            r.append(("bereavement", f"Bereavement on {p.bereaved_on:%-d %B %Y}"))
        if p.lac:
            r.append(("looked_after", "Looked after: talk to the social worker first"))
        if r:
            out[p.pk] = r
    return out


def chosen(settings) -> set[str]:
    """The reasons this school holds letters for."""
    return {key for key, (field, _) in REASONS.items() if getattr(settings, field)}
